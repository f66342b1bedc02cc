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
2 ISIs.  Two deliberate departures from Elephant, both where Elephant returns a
plausible-looking 0 for a quantity that is undefined: ``cv`` of a single ISI,
and ``fanofactor`` of a single window (a variance from one count).  ann2neo
returns NaN there, with the reason in the ``note`` column of
:func:`node_statistics`.  ``ddof=1`` (sample variance) is offered for the Fano
factor and the CV; the default ddof=0 equals Elephant.

Small samples: with N windows the ddof=0 Fano factor of independent counts has
expectation (N-1)/N times the true one, so raw Fano factors (and the network
MF, CV FF) of recordings with different N are not comparable.  The
``dispersion``, ``cv_dispersion`` and ``lv_dispersion`` columns divide each
statistic by its exact expectation under independent spiking at the same
spike count (:mod:`ann2neo.analysis.nullmodel`) and have mean 1 at any N;
:func:`network_summary` flags recordings with fewer than
:data:`MIN_WINDOWS` windows, and :func:`ann2neo.analyze` warns with
:class:`SmallSampleWarning`.

References
----------
arXiv:2308.00858 (Tables 2 and 5, section 3.3.2) for firing rate, Fano factor
in windows of 100 samples and the network summaries MFR, MF, CV FR, CV FF;
Shinomoto et al. (2003) Neural Comput 15:2823 for the local variation LV.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.conversion import as_spike_matrix, spike_times_by_node
from ..core.units import as_samples, sample
from ..core.validation import check_option
from . import nullmodel, physical
from ._kernels import node_sums

__all__ = ["firing_rate", "fano_factor", "cv_isi", "lv", "isi", "window_counts", "time_histogram",
           "instantaneous_rate", "node_statistics", "network_summary", "SmallSampleWarning", "MIN_WINDOWS"]

#: Recordings with fewer complete windows than this are flagged (``summary["flags"]``) and warned about.
MIN_WINDOWS = 20


class SmallSampleWarning(UserWarning):
    """A statistic was computed from too few windows or nodes to be compared at face value.

    Raised (as a warning) by :func:`ann2neo.analyze` when ``summary["flags"]``
    is not empty, e.g. for fewer than :data:`MIN_WINDOWS` windows, where the
    raw Fano factor is biased by (N-1)/N; compare the ``*_dispersion``
    statistics instead, whose mean is 1 under the null at any N.
    """


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


def _from_sums(sums: dict, n_samples: int, ddof: int = 0) -> dict:
    """Per-node statistics from the kernel's exact integer sums."""
    check_option(ddof, "ddof", (0, 1))
    count = sums["count"]
    n_isi = np.maximum(count - 1, 0)
    n_win = sums["n_windows"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = count / n_samples
        # F = var/mean of window counts = (N*S2 - S1^2) / (N*S1); all terms are
        # exact integers below 2**53, so the ratio is correctly rounded.  One
        # window has no variance to measure: NaN, not Elephant's 0.0.
        s1, s2 = sums["win_sum"], sums["win_sq_sum"]
        ff = np.where((s1 > 0) & (n_win >= 2), (n_win * s2 - s1 * s1) / ((n_win - ddof) * s1), np.nan)
        # CV = std/mean of ISIs = sqrt(k*Q - S^2) / S for k ISIs; k*Q can exceed
        # 2**53, so the difference is formed in exact Python integers.
        k = n_isi.astype(np.int64).astype(object)
        num = k * sums["isi_sq_sum"].astype(np.int64).astype(object) \
            - (sums["isi_sum"].astype(np.int64).astype(object)) ** 2
        cv = np.where(n_isi >= 2, np.sqrt(num.astype(np.float64) * n_isi / (n_isi - ddof)) / sums["isi_sum"],
                      np.nan)
        lv_ = np.where(n_isi >= 2, 3.0 * sums["lv_sum"] / (n_isi - 1), np.nan)
    return {"firing_rate": rate, "fano_factor": ff, "cv_isi": cv, "lv": lv_,
            "n_spikes": count.astype(np.int64), "n_windows": n_win,
            "n_spikes_windowed": s1.astype(np.int64), "isi_span": sums["isi_sum"].astype(np.int64)}


def _statistics(spikes, window, ddof=0):
    matrix = as_spike_matrix(spikes)
    window = check_window(window, matrix.shape[0])
    return _from_sums(node_sums(matrix, window), matrix.shape[0], ddof)


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
    if physical.is_physical(spikes):  # spike trains in s or ms
        return physical.firing_rate(spikes)
    matrix = as_spike_matrix(spikes)
    return np.count_nonzero(matrix, axis=0) / matrix.shape[0]


def fano_factor(spikes, window=100, *, ddof=0) -> np.ndarray:
    r"""Fano factor of each node's spike counts in consecutive windows.

    .. math:: F_j = \frac{\mathrm{Var}(c_{\cdot j})}{\mathrm{E}(c_{\cdot j})}

    over the counts :math:`c_{ij}` of node :math:`j` in the
    :math:`N = \lfloor n / w \rfloor` non-overlapping windows
    ``[i*w, (i+1)*w)``; an incomplete last window is dropped, as Elephant's
    ``BinnedSpikeTrain`` does.  Population variance (ddof=0), as Elephant's
    ``fanofactor``.  Paper: window of 100 samples (arXiv:2308.00858 section 3.3.1).

    With N windows the ddof=0 estimate of independent counts has expectation
    (N-1)/N times the true Fano factor (0.75 at N = 4); ``ddof=1`` removes that
    factor, and ``node_statistics(...)["dispersion"]`` compares F with its
    exact finite-N null (:mod:`ann2neo.analysis.nullmodel`).

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    window : int or pq.Quantity in samples, default 100
    ddof : {0, 1}, default 0
        Delta degrees of freedom of the variance: 0 as Elephant, 1 the sample variance.

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
        Dimensionless; NaN for nodes with no spike in the complete windows, and
        for every node when there is a single window (a variance from one
        count is undefined; Elephant returns 0.0 there).

    Raises
    ------
    ValueError
        If the window is not a positive whole number of samples or is longer
        than the recording, or ``ddof`` is not 0 or 1.
    ann2neo.UnitError
        If the window is given in ms/s.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((400, 1), bool); m[[0, 1, 2, 150, 250], 0] = True  # window counts 3, 1, 1, 0
    >>> fano_factor(m, 100).round(4).tolist()
    [0.95]
    """
    if physical.is_physical(spikes):  # spike trains in s or ms
        return physical.fano_factor(spikes, window, ddof=ddof)
    return _statistics(spikes, window, ddof)["fano_factor"]


def cv_isi(spikes, *, ddof=0) -> np.ndarray:
    r"""Coefficient of variation of each node's inter-spike intervals.

    :math:`CV = \sigma_{ISI} / \mu_{ISI}` with the population standard
    deviation (ddof=0), as ``elephant.statistics.cv(elephant.statistics.isi(train))``.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    ddof : {0, 1}, default 0
        1 uses the sample standard deviation.

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
        NaN for nodes with fewer than 2 ISIs (fewer than 3 spikes).

    Raises
    ------
    ValueError
        If ``ddof`` is not 0 or 1, or the input is not a binary matrix.
    """
    if physical.is_physical(spikes):  # spike trains in s or ms
        return physical.cv_isi(spikes, ddof=ddof)
    matrix = as_spike_matrix(spikes)
    return _from_sums(node_sums(matrix, matrix.shape[0]), matrix.shape[0], ddof)["cv_isi"]


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
    if physical.is_physical(spikes):  # spike trains in s or ms
        return physical.lv(spikes)
    matrix = as_spike_matrix(spikes)
    return _from_sums(node_sums(matrix, matrix.shape[0]), matrix.shape[0])["lv"]


def isi(spikes) -> list[np.ndarray]:
    """Inter-spike intervals of each node, in samples.

    Returns
    -------
    list of ndarray of int64, length n_nodes
        ``np.diff`` of the node's spike sample indices (empty for < 2 spikes).
    """
    if physical.is_physical(spikes):  # spike trains in s or ms
        return physical.isi(spikes)
    return [np.diff(times) for times in spike_times_by_node(as_spike_matrix(spikes))]


def window_counts(spikes, window=100) -> np.ndarray:
    """Spike counts of each node in consecutive windows of ``window`` samples.

    Returns
    -------
    ndarray of int64, shape (n_windows, n_nodes)
        ``n_windows = n_samples // window``; the incomplete last window is dropped.
    """
    matrix = as_spike_matrix(spikes)
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

    matrix = as_spike_matrix(spikes)
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
    matrix = as_spike_matrix(spikes)
    if nodes is not None:
        matrix = matrix[:, list(nodes)]
    trains = to_spiketrains(matrix)
    rate = elephant_rate(trains, sampling_period=1 * sample, kernel=GaussianKernel(sigma=width * sample))
    return neo.AnalogSignal(rate.magnitude, units=1 / sample, sampling_period=1 * sample,
                            t_start=0 * sample, name="instantaneous rate")


def _node_notes(stats: dict, n_samples: int, window: int) -> np.ndarray:
    """Per-node reasons why a statistic or its null ratio is undefined ("" when all are defined)."""
    k, k_w, n_win = stats["n_spikes"], stats["n_spikes_windowed"], stats["n_windows"]
    span = stats["isi_span"]
    rules = [
        (k == 0, "silent: Fano factor, CV, LV undefined"),
        ((k > 0) & (k_w == 0) & (n_win >= 2), "no spike in the complete windows: Fano factor undefined"),
        ((k > 0) & (n_win < 2), "one window: Fano factor undefined"),
        ((k_w == n_win * window) & (n_win >= 2),
         "always on in the windows: constant counts, dispersion and Fano tests undefined"),
        ((k > 0) & (k < 3), "fewer than 3 spikes: CV, LV undefined"),
        ((k >= 3) & (span == k - 1), "all ISIs 1: cv_dispersion undefined"),
        (k == n_samples, "always on: lv_dispersion undefined"),
    ]
    notes = np.full(k.shape, "", dtype=object)
    for mask, reason in rules:
        notes[mask] = [f"{old}; {reason}" if old else reason for old in notes[mask]]
    return notes


def is_chunked(spikes) -> bool:
    """True for a recording held out of core: a ``dask.array.Array`` or a Zarr array.

    Such inputs are analysed chunk by chunk (:mod:`ann2neo.analysis.chunked`),
    never loaded whole.  A ``np.load(..., mmap_mode="r")`` memmap is an
    ndarray and goes through the in-memory path, paged in by the OS.
    """
    module = type(spikes).__module__
    return module.startswith("dask.") or (module.startswith("zarr.") and hasattr(spikes, "chunks"))


def node_statistics(spikes, window=100, *, ddof=0, client=None) -> pd.DataFrame:
    """Per-node table of all statistics, from one pass over the spike matrix.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
        Also a ``dask.array`` or Zarr array (e.g. ``ann2neo.io.store.read_store(path,
        lazy=True)[layer]``) for recordings larger than memory: computed chunk by
        chunk with Dask, giving the same numbers (:mod:`ann2neo.analysis.chunked`).
        Spike trains in physical time go to :mod:`ann2neo.analysis.physical`.
    window : int or pq.Quantity in samples, default 100
        Window of the Fano factor (paper: 100 samples).
    ddof : {0, 1}, default 0
        Variance of the Fano factor and the CV: 0 as Elephant, 1 the sample
        variance.  The ``*_dispersion`` ratios do not depend on it.
    client : dask.distributed.Client, optional
        Cluster for a chunked input; default Dask's local threaded scheduler.

    Returns
    -------
    pandas.DataFrame, one row per node (index ``node``)
        * ``firing_rate`` (spikes/sample), ``fano_factor``, ``cv_isi``, ``lv``;
        * ``n_spikes`` (int, whole recording), ``n_spikes_windowed`` (int, in the
          complete windows), ``n_windows`` (int, N, the same on every row);
        * the exact finite-N Bernoulli null (:mod:`ann2neo.analysis.nullmodel`)
          given each node's spike count: ``fano_factor_bernoulli``
          (E[F | K_w]), ``cv_isi_bernoulli`` (sqrt(E[CV² | K, L]), the RMS null CV),
          ``lv_bernoulli`` (E[LV | K]);
        * the ratios to it, each of mean exactly 1 for independent spiking at any
          N: ``dispersion`` (F / E[F | K_w]), ``cv_dispersion``
          (CV² / E[CV² | K, L], squared), ``lv_dispersion`` (LV / E[LV | K]);
          above 1: bursty/irregular, below 1: regular;
        * ``note`` (str): why a statistic or a ratio is NaN on that row, "" if none.

        ``attrs``: ``n_windows``, ``window``, ``n_samples``, ``ddof``.

    Raises
    ------
    ValueError, ann2neo.UnitError
        As :func:`fano_factor`.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.random.default_rng(0).random((1300, 3)) < [0.05, 0.5, 0.9]
    >>> t = node_statistics(m, 100)
    >>> int(t["n_windows"].iloc[0]), list(t.columns[:4])
    (13, ['firing_rate', 'fano_factor', 'cv_isi', 'lv'])
    """
    if physical.is_physical(spikes):  # spike trains in s or ms
        return physical.node_statistics(spikes, window, ddof=ddof)
    if is_chunked(spikes):  # a dask or Zarr array: reduced chunk by chunk, exactly
        from .chunked import as_dask_array, node_sums_chunked

        array = as_dask_array(spikes)
        n_samples = int(array.shape[0])
        window = check_window(window, n_samples)
        sums = node_sums_chunked(array, window, client=client)
    else:
        matrix = as_spike_matrix(spikes)
        n_samples = matrix.shape[0]
        window = check_window(window, n_samples)
        sums = node_sums(matrix, window)
    stats = _from_sums(sums, n_samples, ddof)
    n_win = int(stats["n_windows"])
    table = pd.DataFrame({key: stats[key] for key in ("firing_rate", "fano_factor", "cv_isi", "lv", "n_spikes",
                                                      "n_spikes_windowed")})
    table["n_windows"] = np.full(len(table), n_win, dtype=np.int64)
    k, k_w, span = stats["n_spikes"], stats["n_spikes_windowed"], stats["isi_span"]
    ff_null = nullmodel.expected_fano_factor(k_w, n_win, window, ddof=ddof) if n_win >= 2 \
        else np.full(k.shape, np.nan)
    cv2_null = nullmodel.expected_cv_isi_squared(k, span, ddof=ddof)
    lv_null = nullmodel.expected_lv(k, n_samples)
    table["fano_factor_bernoulli"] = np.where(np.isnan(stats["fano_factor"]), np.nan, ff_null)
    table["dispersion"] = nullmodel._ratio(stats["fano_factor"], ff_null)
    table["cv_isi_bernoulli"] = np.sqrt(cv2_null)
    table["cv_dispersion"] = nullmodel._ratio(stats["cv_isi"] ** 2, cv2_null)
    table["lv_bernoulli"] = lv_null
    table["lv_dispersion"] = nullmodel._ratio(stats["lv"], lv_null)
    table["note"] = _node_notes(stats, n_samples, window)
    table.index.name = "node"
    table.attrs.update(n_windows=n_win, window=window, n_samples=n_samples, ddof=ddof)
    return table


def _cv_percent(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan")
    mean = values.mean()
    return float(values.std() / mean * 100.0) if mean != 0 else float("nan")


def _flags(n_windows: int, rate: np.ndarray, sample_time: bool = True) -> str:
    """Short "; "-separated reasons why a recording's summaries cannot be compared at face value."""
    flags = []
    if n_windows < 2:
        flags.append(f"single window ({n_windows}): Fano factor undefined")
    elif n_windows < MIN_WINDOWS:
        flags.append(f"few windows ({n_windows} < {MIN_WINDOWS})")
    if rate.size and np.all(rate == 0):
        flags.append("all nodes silent")
    elif sample_time and rate.size and np.all(rate == 1):
        flags.append("all nodes always on")
    return "; ".join(flags)


def network_summary(nodes: pd.DataFrame) -> dict:
    r"""Network summaries of arXiv:2308.00858 (Table 2, Table 5, Figure 3), with their finite-N null.

    * ``mfr`` — Mean Firing Rate, mean of λ over all nodes (silent ones count as 0);
    * ``cv_fr`` — coefficient of variation of λ across nodes, in % (std/mean, ddof=0);
    * ``mf`` — Mean Fano factor over nodes with a defined Fano factor;
    * ``cv_ff`` — coefficient of variation of the Fano factors, in %;
    * ``mean_cv_isi``, ``mean_lv`` — means over nodes where defined;
    * ``mf_bernoulli`` — the exact null's mean Fano factor at this N, mean of
      E[F | K_w] over the same nodes as ``mf`` (it includes the (N-1)/N bias of
      ddof=0, so ``mf`` and ``mf_bernoulli`` are directly comparable);
      ``mean_dispersion`` — mean of F / E[F | K_w];
    * ``mean_cv_isi_bernoulli`` — mean of the RMS null CV sqrt(E[CV² | K, L]) over
      the nodes with a defined CV (an upper bound of the null's mean CV);
      ``mean_cv_dispersion`` — mean of CV² / E[CV² | K, L];
    * ``mean_lv_bernoulli`` — mean of E[LV | K] over the nodes with a defined LV;
      ``mean_lv_dispersion`` — mean of LV / E[LV | K];
    * the three ``mean_*dispersion`` have mean exactly 1 for independent spiking
      at any number of windows (:mod:`ann2neo.analysis.nullmodel`), so two
      recordings with different N (train and test) compare directly;
      ``mean_dispersion_se``, ``mean_cv_dispersion_se``, ``mean_lv_dispersion_se``
      are their standard errors over nodes (std with ddof=1 / sqrt(n); nodes
      treated as independent, as they are under the null);
    * ``n_nodes``, ``n_silent`` (no spike), ``n_always`` (spike on every sample),
      ``n_undefined_ff`` (no Fano factor), ``n_undefined_dispersion`` (no
      ``dispersion``: no Fano factor, or a null without variance, e.g. always on);
    * ``n_windows`` (int) — N, complete windows of the Fano factor (the
      smallest over trains in physical time);
    * ``rate_unit`` — ``"1/sample"``, or ``"Hz"`` for a table of spike trains
      in physical time (:mod:`ann2neo.analysis.physical`), whose null is the
      Poisson process: its keys read ``mf_poisson``, ``mean_cv_isi_poisson``,
      ``mean_lv_poisson`` instead of ``*_bernoulli``; ``null`` names it;
    * ``flags`` (str) — "" when nothing is wrong, else "; "-separated reasons:
      ``"few windows (13 < 20)"`` (fewer than :data:`MIN_WINDOWS`),
      ``"single window (1): Fano factor undefined"``, ``"all nodes silent"``,
      ``"all nodes always on"``.

    Parameters
    ----------
    nodes : pandas.DataFrame
        Output of :func:`node_statistics`.

    Returns
    -------
    dict of str to float, int or str

    Examples
    --------
    >>> import numpy as np
    >>> m = np.random.default_rng(0).random((400, 20)) < 0.3
    >>> s = network_summary(node_statistics(m, 100))
    >>> s["n_windows"], s["flags"]
    (4, 'few windows (4 < 20)')
    """
    rate = nodes["firing_rate"].to_numpy()
    ff = nodes["fano_factor"].to_numpy()
    has_ff = ~np.isnan(ff)
    n_windows = int(nodes["n_windows"].min()) if "n_windows" in nodes and len(nodes) \
        else int(nodes.attrs["n_windows"])
    # Sample-time tables carry the Bernoulli null, physical-time tables (analysis.physical) the Poisson null.
    null = "poisson" if "fano_factor_poisson" in nodes else "bernoulli"
    sample_time = null == "bernoulli"

    def nanmean(values):
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else float("nan")

    def standard_error(values):
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        return float(values.std(ddof=1) / np.sqrt(values.size)) if values.size >= 2 else float("nan")

    return {
        "mfr": float(rate.mean()),
        "cv_fr": _cv_percent(rate),
        "mf": nanmean(ff),
        "cv_ff": _cv_percent(ff),
        "mean_cv_isi": nanmean(nodes["cv_isi"]),
        "mean_lv": nanmean(nodes["lv"]),
        f"mf_{null}": nanmean(nodes[f"fano_factor_{null}"]),
        "mean_dispersion": nanmean(nodes["dispersion"]),
        f"mean_cv_isi_{null}": nanmean(nodes[f"cv_isi_{null}"].where(nodes["cv_isi"].notna())),
        "mean_cv_dispersion": nanmean(nodes["cv_dispersion"]),
        f"mean_lv_{null}": nanmean(nodes[f"lv_{null}"].where(nodes["lv"].notna())),
        "mean_lv_dispersion": nanmean(nodes["lv_dispersion"]),
        "mean_dispersion_se": standard_error(nodes["dispersion"]),
        "mean_cv_dispersion_se": standard_error(nodes["cv_dispersion"]),
        "mean_lv_dispersion_se": standard_error(nodes["lv_dispersion"]),
        "n_nodes": int(rate.size),
        "n_silent": int(np.count_nonzero(rate == 0)),
        "n_always": int(np.count_nonzero(rate == 1)) if sample_time else 0,
        "n_undefined_ff": int(np.count_nonzero(~has_ff)),
        "n_undefined_dispersion": int(nodes["dispersion"].isna().sum()),
        "n_windows": n_windows,
        "flags": _flags(n_windows, rate, sample_time),
        "rate_unit": "1/sample" if sample_time else "Hz",
        "null": null,
    }
