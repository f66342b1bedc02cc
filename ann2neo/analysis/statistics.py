r"""Spike-train statistics of ANN nodes, computed from the spike matrix.

Every function takes a recording as a boolean spike matrix
``(n_samples, n_nodes)``, a list of per-node :class:`neo.SpikeTrain` in
:data:`ann2neo.sample`, or a :class:`neo.Segment`, and follows Elephant's
definitions exactly (population variance, ddof=0); ``tests/test_statistics.py``
checks each against Elephant's own function to 1e-12.  The per-node sums come
from one compiled pass over the matrix (:mod:`ann2neo.analysis._kernels`)
instead of Elephant's per-train route, which is ~20x slower on MNIST-sized
layers (``benchmarks/bench_statistics.py``).

Degenerate nodes never raise: a silent node has firing rate 0 and NaN Fano
factor, CV and LV; the CV needs at least 2 ISIs (3 spikes) and the LV at least
2 ISIs.  (Elephant's ``cv`` returns 0.0 for a single ISI; a spread measured
from one interval is undefined, so ann2neo returns NaN there.)

References
----------
arXiv:2308.00858 (Tables 2 and 5, section 3.3.2) for firing rate, Fano factor
in windows of 100 samples and the network summaries MFR, MF, CV FR, CV FF;
Shinomoto et al. (2003) Neural Comput 15:2823 for the local variation LV.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.conversion import spike_matrix, spike_times_by_node
from ..core.units import as_samples, sample
from . import nullmodel
from ._kernels import node_sums

__all__ = ["firing_rate", "fano_factor", "cv_isi", "lv", "isi", "window_counts",
           "time_histogram", "instantaneous_rate", "node_statistics", "network_summary"]


def check_window(window, n_samples: int, name: str = "window") -> int:
    """Validate a window/bin length in samples and return it as int.

    Raises
    ------
    ann2neo.UnitError
        If given in ms, s or any unit but :data:`ann2neo.sample`.
    ValueError
        If not a positive whole number, or longer than the recording.
    """
    value = as_samples(window, name)
    if value != int(value) or value < 1:
        raise ValueError(f"{name} must be a positive whole number of samples, got {value}")
    value = int(value)
    if value > n_samples:
        raise ValueError(f"{name} of {value} samples is longer than the recording "
                         f"({n_samples} samples): no complete window to count spikes in")
    return value


def _from_sums(sums: dict, n_samples: int) -> dict:
    """Per-node statistics from the kernel's exact integer sums."""
    count = sums["count"]
    n_isi = np.maximum(count - 1, 0)
    n_win = sums["n_windows"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = count / n_samples
        # F = var/mean of window counts = (N*S2 - S1^2) / (N*S1); all terms are
        # exact integers below 2**53, so the ratio is correctly rounded.
        s1, s2 = sums["win_sum"], sums["win_sq_sum"]
        ff = np.where(s1 > 0, (n_win * s2 - s1 * s1) / (n_win * s1), np.nan)
        # CV = std/mean of ISIs = sqrt(k*Q - S^2) / S for k ISIs; k*Q can exceed
        # 2**53, so the difference is formed in exact Python integers.
        k = n_isi.astype(np.int64).astype(object)
        num = k * sums["isi_sq_sum"].astype(np.int64).astype(object) \
            - (sums["isi_sum"].astype(np.int64).astype(object)) ** 2
        cv = np.where(n_isi >= 2, np.sqrt(num.astype(np.float64)) / sums["isi_sum"], np.nan)
        lv_ = np.where(n_isi >= 2, 3.0 * sums["lv_sum"] / (n_isi - 1), np.nan)
    return {"firing_rate": rate, "fano_factor": ff, "cv_isi": cv, "lv": lv_,
            "n_spikes": count.astype(np.int64), "n_windows": n_win}


def _statistics(spikes, window):
    matrix = spike_matrix(spikes)
    window = check_window(window, matrix.shape[0])
    return _from_sums(node_sums(matrix, window), matrix.shape[0])


def firing_rate(spikes) -> np.ndarray:
    r"""Firing rate λ of each node: spikes per sample.

    .. math:: \lambda_j = \frac{1}{n}\sum_{k=0}^{n-1} s_{kj}

    the maximum-likelihood rate of the paper's Poisson model (arXiv:2308.00858,
    section 3.3.2), equal to Elephant's ``mean_firing_rate`` of each train.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
        In spikes/sample, within [0, 1].

    Raises
    ------
    ValueError, ann2neo.UnitError
        On a matrix that is not 2-D binary, or trains not in samples.
    """
    matrix = spike_matrix(spikes)
    return np.count_nonzero(matrix, axis=0) / matrix.shape[0]


def fano_factor(spikes, window=100) -> np.ndarray:
    r"""Fano factor of each node's spike counts in consecutive windows.

    .. math:: F_j = \frac{\mathrm{Var}(c_{\cdot j})}{\mathrm{E}(c_{\cdot j})}

    over the counts :math:`c_{ij}` of node :math:`j` in the
    :math:`N = \lfloor n / w \rfloor` non-overlapping windows
    ``[i*w, (i+1)*w)``; an incomplete last window is dropped, as Elephant's
    ``BinnedSpikeTrain`` does.  Population variance (ddof=0), as Elephant's
    ``fanofactor``.  Paper: window of 100 samples (arXiv:2308.00858 section 3.3.1).

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    window : int or pq.Quantity in samples, default 100

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
        Dimensionless; NaN for nodes with no spike in the complete windows.

    Raises
    ------
    ValueError
        If the window is not a positive whole number of samples or is longer
        than the recording.
    ann2neo.UnitError
        If the window is given in ms/s.
    """
    return _statistics(spikes, window)["fano_factor"]


def cv_isi(spikes) -> np.ndarray:
    r"""Coefficient of variation of each node's inter-spike intervals.

    :math:`CV = \sigma_{ISI} / \mu_{ISI}` with the population standard
    deviation, as ``elephant.statistics.cv(elephant.statistics.isi(train))``.

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
        NaN for nodes with fewer than 2 ISIs (fewer than 3 spikes).
    """
    matrix = spike_matrix(spikes)
    return _from_sums(node_sums(matrix, matrix.shape[0]), matrix.shape[0])["cv_isi"]


def lv(spikes) -> np.ndarray:
    r"""Local variation of each node's inter-spike intervals.

    .. math:: LV = \frac{3}{k-1}\sum_{i=1}^{k-1}
              \left(\frac{I_i - I_{i+1}}{I_i + I_{i+1}}\right)^2

    (Shinomoto et al. 2003), as ``elephant.statistics.lv``; 1 for a Poisson
    process.

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
        NaN for nodes with fewer than 2 ISIs.
    """
    matrix = spike_matrix(spikes)
    return _from_sums(node_sums(matrix, matrix.shape[0]), matrix.shape[0])["lv"]


def isi(spikes) -> list[np.ndarray]:
    """Inter-spike intervals of each node, in samples.

    Returns
    -------
    list of ndarray of int64, length n_nodes
        ``np.diff`` of the node's spike sample indices (empty for < 2 spikes).
    """
    return [np.diff(times) for times in spike_times_by_node(spike_matrix(spikes))]


def window_counts(spikes, window=100) -> np.ndarray:
    """Spike counts of each node in consecutive windows of ``window`` samples.

    Returns
    -------
    ndarray of int64, shape (n_windows, n_nodes)
        ``n_windows = n_samples // window``; the incomplete last window is dropped.
    """
    matrix = spike_matrix(spikes)
    window = check_window(window, matrix.shape[0])
    n_win = matrix.shape[0] // window
    return matrix[: n_win * window].reshape(n_win, window, -1).sum(axis=1, dtype=np.int64)


def time_histogram(spikes, bin_size=1, output="counts"):
    """Population time histogram: spikes of all nodes per bin.

    Matches ``elephant.statistics.time_histogram(trains, bin_size)``; the
    incomplete last bin is dropped.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    bin_size : int or pq.Quantity in samples, default 1
    output : {"counts", "mean", "rate"}
        Total spike count per bin (dimensionless), mean count per node, or
        mean rate per node in spikes/sample.

    Returns
    -------
    neo.AnalogSignal, shape (n_bins, 1)
        ``sampling_period = bin_size`` samples, ``t_start = 0``.

    Raises
    ------
    ValueError, ann2neo.UnitError
        On an invalid bin size or output.
    """
    import neo
    import quantities as pq

    matrix = spike_matrix(spikes)
    bin_size = check_window(bin_size, matrix.shape[0], "bin_size")
    counts = window_counts(matrix, bin_size).sum(axis=1)
    if output == "counts":
        values, units = counts, pq.dimensionless
    elif output == "mean":
        values, units = counts / matrix.shape[1], pq.dimensionless
    elif output == "rate":
        values, units = counts / (matrix.shape[1] * bin_size), 1 / sample
    else:
        raise ValueError(f"output must be 'counts', 'mean' or 'rate', got {output!r}")
    return neo.AnalogSignal(values[:, None], units=units, sampling_period=bin_size * sample,
                            t_start=0 * sample, name="time histogram")


def instantaneous_rate(spikes, kernel_width, nodes=None):
    """Instantaneous firing rate of nodes by Gaussian-kernel smoothing (Elephant).

    Calls ``elephant.statistics.instantaneous_rate`` with a
    ``GaussianKernel(sigma=kernel_width)`` sampled every sample, and labels
    the result in spikes/sample (Elephant would call it Hz, since a sample is
    declared as one second).

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    kernel_width : int, float or pq.Quantity in samples
        Standard deviation of the Gaussian kernel, in samples (> 0).
    nodes : sequence of int, optional
        Nodes to compute; default all.

    Returns
    -------
    neo.AnalogSignal, shape (n_samples, len(nodes))
        Rates in 1/sample, ``sampling_period = 1 sample``.

    Raises
    ------
    ann2neo.UnitError
        If ``kernel_width`` is given in ms or s.
    ValueError
        If ``kernel_width`` is not positive.
    """
    import neo
    from elephant.kernels import GaussianKernel
    from elephant.statistics import instantaneous_rate as elephant_rate

    from ..core.conversion import to_spiketrains

    width = as_samples(kernel_width, "kernel_width")
    if width <= 0:
        raise ValueError(f"kernel_width must be positive, got {width} samples")
    matrix = spike_matrix(spikes)
    if nodes is not None:
        matrix = matrix[:, list(nodes)]
    trains = to_spiketrains(matrix)
    rate = elephant_rate(trains, sampling_period=1 * sample, kernel=GaussianKernel(sigma=width * sample))
    return neo.AnalogSignal(rate.magnitude, units=1 / sample, sampling_period=1 * sample,
                            t_start=0 * sample, name="instantaneous rate")


def node_statistics(spikes, window=100) -> pd.DataFrame:
    """Per-node table of all statistics, from one pass over the spike matrix.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    window : int or pq.Quantity in samples, default 100
        Window of the Fano factor (paper: 100 samples).

    Returns
    -------
    pandas.DataFrame, one row per node (index ``node``)
        ``firing_rate`` (spikes/sample), ``fano_factor``, ``cv_isi``, ``lv``,
        ``n_spikes`` (int), and the Bernoulli-null ratios ``dispersion``
        (F / (1 - λ)) and ``cv_dispersion`` (CV / sqrt(1 - λ)); see
        :mod:`ann2neo.analysis.nullmodel`.

    Raises
    ------
    ValueError, ann2neo.UnitError
        As :func:`fano_factor`.
    """
    stats = _statistics(spikes, window)
    table = pd.DataFrame({key: stats[key] for key in ("firing_rate", "fano_factor", "cv_isi", "lv", "n_spikes")})
    table["dispersion"] = nullmodel.dispersion(table["fano_factor"], table["firing_rate"])
    table["cv_dispersion"] = nullmodel.cv_dispersion(table["cv_isi"], table["firing_rate"])
    table.index.name = "node"
    table.attrs["n_windows"] = stats["n_windows"]
    return table


def _cv_percent(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan")
    mean = values.mean()
    return float(values.std() / mean * 100.0) if mean != 0 else float("nan")


def network_summary(nodes: pd.DataFrame) -> dict:
    r"""Network summaries of arXiv:2308.00858 (Table 2, Table 5, Figure 3).

    * ``mfr`` — Mean Firing Rate, mean of λ over all nodes (silent ones count as 0);
    * ``cv_fr`` — coefficient of variation of λ across nodes, in % (std/mean, ddof=0);
    * ``mf`` — Mean Fano factor over nodes with a defined Fano factor;
    * ``cv_ff`` — coefficient of variation of the Fano factors, in %;
    * ``mean_cv_isi``, ``mean_lv`` — means over nodes where defined;
    * ``mf_bernoulli`` — the Bernoulli null's mean Fano factor, mean of 1 - λ over
      the same nodes as ``mf``; ``mean_dispersion`` — mean of F / (1 - λ);
    * ``mean_cv_isi_bernoulli`` — the null's mean CV, mean of sqrt(1 - λ) over the
      nodes with a defined CV; ``mean_cv_dispersion`` — mean of CV / sqrt(1 - λ)
      (both dispersions are 1 for independent spiking; see
      :mod:`ann2neo.analysis.nullmodel`);
    * ``n_nodes``, ``n_silent`` (no spike), ``n_always`` (spike on every sample),
      ``n_undefined_ff`` (no Fano factor).

    Parameters
    ----------
    nodes : pandas.DataFrame
        Output of :func:`node_statistics`.

    Returns
    -------
    dict of str to float or int
    """
    rate = nodes["firing_rate"].to_numpy()
    ff = nodes["fano_factor"].to_numpy()
    has_ff = ~np.isnan(ff)
    has_cv = ~np.isnan(nodes["cv_isi"].to_numpy())

    def nanmean(values):
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else float("nan")

    return {
        "mfr": float(rate.mean()),
        "cv_fr": _cv_percent(rate),
        "mf": nanmean(ff),
        "cv_ff": _cv_percent(ff),
        "mean_cv_isi": nanmean(nodes["cv_isi"]),
        "mean_lv": nanmean(nodes["lv"]),
        "mf_bernoulli": nanmean(nullmodel.bernoulli_fano_factor(rate[has_ff])),
        "mean_dispersion": nanmean(nodes["dispersion"]),
        "mean_cv_isi_bernoulli": nanmean(nullmodel.bernoulli_cv_isi(rate[has_cv])),
        "mean_cv_dispersion": nanmean(nodes["cv_dispersion"]),
        "n_nodes": int(rate.size),
        "n_silent": int(np.count_nonzero(rate == 0)),
        "n_always": int(np.count_nonzero(rate == 1)),
        "n_undefined_ff": int(np.count_nonzero(~has_ff)),
    }
