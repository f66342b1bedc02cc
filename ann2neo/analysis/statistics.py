r"""Spike-train statistics of ANN nodes and recorded neurons, through one time-base adapter.

Every function takes any recording — a boolean spike matrix
``(n_samples, n_nodes)``, a :class:`~ann2neo.SpikeMatrix`, a list of
:class:`neo.SpikeTrain` (in :data:`ann2neo.sample` or in s/ms), a
:class:`neo.Segment`, a :class:`neo.Block`, an :class:`ann2neo.Recording`, or
a dask/Zarr array — hands it to :func:`ann2neo.analysis._timebase.as_view`
once, and computes from the view it gets back; no function here asks which
time base it was given.  Definitions are Elephant's (population variance,
ddof=0); ``tests/test_statistics.py`` and ``tests/test_physical.py`` check
each against Elephant's own function to 1e-12.  In sample time the per-node
sums come from one compiled pass over the matrix
(:mod:`ann2neo.analysis._kernels`) instead of Elephant's per-train route,
which is ~20x slower on MNIST-sized layers (``benchmarks/bench_statistics.py``).

Return types (one per function, whatever the time base): plain float64
ndarrays for the per-unit statistics (rates in spikes/sample in sample time,
in Hz in physical time: ``node_statistics(...).attrs["rate_unit"]`` and
``summary["rate_unit"]`` say which); ``window_counts`` an int64 matrix
``(n_windows, n_units)``; ``isi`` a list of float64 arrays (samples or
seconds); ``time_histogram`` and ``instantaneous_rate`` a
:class:`neo.AnalogSignal` (1/sample or Hz).

Trials: for an :class:`ann2neo.Recording` of several trials in physical time,
rates are spikes over the observed time (trials and ``obs_intervals``),
Fano-factor windows lie inside trials, and ISIs never span two trials.  A
network layer's Recording (one-bin trials) is analysed as the paper's long
train (:meth:`ann2neo.Recording.as_one_trial`).

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
:data:`~ann2neo.core.defaults.MIN_WINDOWS` windows, and :func:`ann2neo.analyze` warns with
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
import quantities as pq

from ..core.defaults import DEFAULT_TIME_WINDOW, MIN_WINDOWS, PAPER_WINDOW
from ..core.recording import floor_bins
from ..core.units import sample
from ..core.validation import check_option
from . import nullmodel
from ._timebase import as_view, is_chunked

__all__ = ["firing_rate", "fano_factor", "cv_isi", "lv", "isi", "window_counts", "time_histogram",
           "instantaneous_rate", "node_statistics", "network_summary", "SmallSampleWarning", "MIN_WINDOWS",
           "default_window", "is_chunked"]


class SmallSampleWarning(UserWarning):
    """A statistic was computed from too few windows or nodes to be compared at face value.

    Raised (as a warning) by :func:`ann2neo.analyze` when ``summary["flags"]``
    is not empty, e.g. for fewer than :data:`MIN_WINDOWS` windows, where the
    raw Fano factor is biased by (N-1)/N; compare the ``*_dispersion``
    statistics instead, whose mean is 1 under the null at any N.
    """


def default_window(view):
    """The default Fano window of a view: the paper's 100 samples, or 100 ms in physical time.

    Examples
    --------
    >>> import numpy as np
    >>> default_window(as_view(np.zeros((10, 2), bool)))
    100
    """
    return PAPER_WINDOW if view.time_base == "sample" else DEFAULT_TIME_WINDOW


def check_window(window, n_samples: int, name: str = "window") -> int:
    """Validate a window/bin length in samples against a recording of ``n_samples`` and return it as int.

    Raises
    ------
    ann2neo.UnitError
        If given in ms, s or any unit but :data:`ann2neo.sample`.
    ValueError
        If not a positive whole number, or longer than the recording.

    Examples
    --------
    >>> check_window(100, 1000)
    100
    """
    from ._timebase import MatrixView

    view = MatrixView.__new__(MatrixView)
    view.n_samples = int(n_samples)
    return MatrixView.check_window(view, window, name)


def _window(view, window, name="window"):
    return view.check_window(default_window(view) if window is None else window, name)


def _whole(view):
    """A window as long as the longest observed stretch: for statistics that need no windows."""
    if view.time_base == "sample":
        return view.n_samples
    return max((t1 - t0 for segs in view.segments for _, t0, t1 in segs), default=1.0) or 1.0


def firing_rate(spikes) -> np.ndarray:
    r"""Firing rate λ of each unit: spikes over the observed time.

    .. math:: \lambda_j = \frac{1}{n}\sum_{k=0}^{n-1} s_{kj}

    for a spike matrix (spikes/sample; the maximum-likelihood rate of the
    paper's Poisson model, arXiv:2308.00858 section 3.3.2), spikes per second
    for trains in physical time; equal to Elephant's ``mean_firing_rate`` of
    each train.  For a Recording of several trials: all spikes over the time
    observed (trials, cut to the unit's ``obs_intervals``).

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block or ann2neo.Recording

    Returns
    -------
    ndarray of float64, shape (n_units,)
        In spikes/sample (within [0, 1]) in sample time, in Hz in physical time.

    Raises
    ------
    ValueError, ann2neo.UnitError
        On a matrix that is not 2-D binary, NaN spike times, or trains mixing samples and seconds.

    Examples
    --------
    >>> import numpy as np, neo, quantities as pq
    >>> firing_rate(np.array([[1, 0], [1, 1], [0, 0], [1, 0]], bool)).tolist()
    [0.75, 0.25]
    >>> firing_rate(neo.SpikeTrain([0.1, 0.5, 0.9] * pq.s, t_stop=2 * pq.s)).tolist()
    [1.5]
    """
    view = as_view(spikes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return view.n_spikes() / view.extent()


def fano_factor(spikes, window=None, *, ddof=0) -> np.ndarray:
    r"""Fano factor of each unit's spike counts in consecutive windows.

    .. math:: F_j = \frac{\mathrm{Var}(c_{\cdot j})}{\mathrm{E}(c_{\cdot j})}

    over the counts :math:`c_{ij}` of unit :math:`j` in the :math:`N`
    non-overlapping windows ``[i*w, (i+1)*w)``; an incomplete last window is
    dropped, as Elephant's ``BinnedSpikeTrain`` does (in physical time with its
    1e-8 tolerance at the edges; for trials, windows lie inside each trial).
    Population variance (ddof=0), as Elephant's ``fanofactor``.  Paper: window
    of 100 samples (arXiv:2308.00858 section 3.3.1).

    With N windows the ddof=0 estimate of independent counts has expectation
    (N-1)/N times the true Fano factor (0.75 at N = 4); ``ddof=1`` removes that
    factor, and ``node_statistics(...)["dispersion"]`` compares F with its
    exact finite-N null (:mod:`ann2neo.analysis.nullmodel`).

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block or ann2neo.Recording
    window : int (samples) or pq.Quantity (a time for physical-time trains), optional
        Default 100 samples (the paper's), or 100 ms in physical time.
    ddof : {0, 1}, default 0
        Delta degrees of freedom of the variance: 0 as Elephant, 1 the sample variance.

    Returns
    -------
    ndarray of float64, shape (n_units,)
        Dimensionless; NaN for units with no spike in the complete windows, and
        where there is a single window (a variance from one count is
        undefined; Elephant returns 0.0 there).

    Raises
    ------
    ValueError
        If the window is not positive (a whole number of samples), is longer
        than the recording, or ``ddof`` is not 0 or 1.
    ann2neo.UnitError
        If the window is in ms/s for a matrix, or a plain number for trains in physical time.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((400, 1), bool); m[[0, 1, 2, 150, 250], 0] = True  # window counts 3, 1, 1, 0
    >>> fano_factor(m, 100).round(4).tolist()
    [0.95]
    """
    view = as_view(spikes)
    return view.statistics(_window(view, window), ddof)["fano_factor"]


def cv_isi(spikes, *, ddof=0) -> np.ndarray:
    r"""Coefficient of variation of each unit's inter-spike intervals.

    :math:`CV = \sigma_{ISI} / \mu_{ISI}` with the population standard
    deviation (ddof=0), as ``elephant.statistics.cv(elephant.statistics.isi(train))``.
    For a Recording of several trials the ISIs within each trial are pooled
    (no interval spans two trials).

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block or ann2neo.Recording
    ddof : {0, 1}, default 0
        1 uses the sample standard deviation.

    Returns
    -------
    ndarray of float64, shape (n_units,)
        NaN for units with fewer than 2 ISIs (fewer than 3 spikes), or whose
        ISIs are all 0 (identical spike times; ``node_statistics`` says so in ``note``).

    Raises
    ------
    ValueError
        If ``ddof`` is not 0 or 1, or the input is not a binary matrix or valid trains.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> cv_isi(neo.SpikeTrain([0.0, 1.0, 3.0] * pq.s, t_stop=4 * pq.s)).round(4).tolist()
    [0.3333]
    """
    view = as_view(spikes)
    return view.statistics(_whole(view), ddof)["cv_isi"]


def lv(spikes) -> np.ndarray:
    r"""Local variation of each unit's inter-spike intervals.

    .. math:: LV = \frac{3}{k-1}\sum_{i=1}^{k-1}
              \left(\frac{I_i - I_{i+1}}{I_i + I_{i+1}}\right)^2

    (Shinomoto et al. 2003), as ``elephant.statistics.lv``; 1 for a Poisson
    process.  Pairs of consecutive ISIs are taken within trials.

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block or ann2neo.Recording

    Returns
    -------
    ndarray of float64, shape (n_units,)
        NaN for units with fewer than 2 ISIs.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((10, 1), bool); m[[0, 1, 3], 0] = True  # ISIs 1, 2
    >>> lv(m).round(4).tolist()
    [0.3333]
    """
    view = as_view(spikes)
    return view.statistics(_whole(view))["lv"]


def isi(spikes) -> list[np.ndarray]:
    """Inter-spike intervals of each unit, within trials.

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block or ann2neo.Recording

    Returns
    -------
    list of ndarray of float64, length n_units
        In samples (sample time) or seconds (physical time); empty for < 2 spikes.

    Examples
    --------
    >>> import numpy as np
    >>> isi(np.array([[1], [0], [1], [1]], bool))[0].tolist()
    [2.0, 1.0]
    """
    return as_view(spikes).isis()


def window_counts(spikes, window=None) -> np.ndarray:
    """Spike counts of each unit in consecutive windows.

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block or ann2neo.Recording
    window : int (samples) or pq.Quantity (a time for physical-time trains), optional
        Default 100 samples, or 100 ms in physical time.

    Returns
    -------
    ndarray of int64, shape (n_windows, n_units)
        The incomplete last window (of each trial) is dropped; trials follow each other.

    Raises
    ------
    ValueError
        For a window out of range, or units observed for different lengths
        (their windows do not form one matrix).
    ann2neo.UnitError
        For a window in the wrong time base.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> st = neo.SpikeTrain([0.1, 0.2, 0.7] * pq.s, t_stop=1 * pq.s)
    >>> window_counts([st], 500 * pq.ms).ravel().tolist()
    [2, 1]
    """
    view = as_view(spikes)
    return view.window_counts(_window(view, window))


def _aligned_counts(view, width):
    """Spikes of all units per bin, trials aligned at their starts: (counts, n_trains, t0)."""
    if view.time_base == "sample":
        return view.window_counts(width).sum(axis=1), view.n_units, 0.0
    lengths = {round(t1 - t0, 9) for segs in view.segments for _, t0, t1 in segs}
    if len(lengths) != 1:
        raise ValueError("the trials (or trains) differ in length, so their bins do not line up; select trials "
                         "of one length (Recording.select) for a time histogram")
    starts = {t0 for segs in view.segments for _, t0, _ in segs}
    total, n_trains = None, 0
    for segs in view.segments:
        for times, t0, t1 in segs:
            n = floor_bins((t1 - t0) / width)  # Elephant's BinnedSpikeTrain rule, as for the windows
            index = floor_bins((times - t0) / width)
            c = np.bincount(index[(index >= 0) & (index < n)], minlength=n).astype(np.int64)
            total = c if total is None else total + c
            n_trains += 1
    return total, n_trains, (starts.pop() if len(starts) == 1 else 0.0)


def time_histogram(spikes, bin_size=None, output="counts"):
    """Population time histogram (a PSTH for trials): spikes of all units and trials per bin.

    Matches ``elephant.statistics.time_histogram(trains, bin_size)``; the
    incomplete last bin is dropped.  Trials of a Recording are aligned at
    their starts (a peri-stimulus time histogram).

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block or ann2neo.Recording
    bin_size : int (samples) or pq.Quantity (time), optional
        Default 1 sample; required (a time) for physical time.
    output : {"counts", "mean", "rate"}
        Total spike count per bin (dimensionless), mean count per train, or
        mean rate per train (1/sample, or Hz).

    Returns
    -------
    neo.AnalogSignal, shape (n_bins, 1)
        ``sampling_period = bin_size`` (samples, or s), ``t_start`` 0 samples
        or the trials' common start.

    Raises
    ------
    ValueError, ann2neo.UnitError
        On an invalid bin size or output, or trials of different lengths.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> trains = [neo.SpikeTrain([0.1, 0.6] * pq.s, t_stop=1 * pq.s), neo.SpikeTrain([0.2] * pq.s, t_stop=1 * pq.s)]
    >>> time_histogram(trains, 500 * pq.ms, output="rate").magnitude.ravel().tolist()
    [2.0, 1.0]
    """
    import neo

    check_option(output, "output", ("counts", "mean", "rate"))
    view = as_view(spikes)
    if bin_size is None and view.time_base == "sample":
        bin_size = 1
    width = view.check_window(bin_size, "bin_size")
    counts, n_trains, t0 = _aligned_counts(view, width)
    unit = view.time_unit
    if output == "counts":
        values, units = counts, pq.dimensionless
    elif output == "mean":
        values, units = counts / n_trains, pq.dimensionless
    else:
        values, units = counts / (n_trains * width), (1 / sample if view.time_base == "sample" else pq.Hz)
    return neo.AnalogSignal(values[:, None], units=units, sampling_period=width * unit, t_start=t0 * unit,
                            name="time histogram")


def instantaneous_rate(spikes, kernel_width, nodes=None, sampling_period=None):
    """Instantaneous firing rate of units by Gaussian-kernel smoothing (Elephant).

    Calls ``elephant.statistics.instantaneous_rate`` with a
    ``GaussianKernel(sigma=kernel_width)``.  In sample time it is sampled every
    sample and labelled in spikes/sample (Elephant would call it Hz, since a
    sample is declared as one second); in physical time it is in Hz.

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment or a one-trial ann2neo.Recording
    kernel_width : int, float or pq.Quantity
        Standard deviation of the Gaussian kernel: samples (> 0), or a time
        for physical-time trains.
    nodes : sequence of int, optional
        Units to compute; default all.
    sampling_period : pq.Quantity, optional
        Physical time only (default 1 ms); sample time always uses 1 sample.

    Returns
    -------
    neo.AnalogSignal, shape (n_times, len(nodes))
        Rates in 1/sample or Hz.

    Raises
    ------
    ann2neo.UnitError
        If ``kernel_width`` is given in ms or s for a matrix, or as a plain number for physical time.
    ValueError
        If ``kernel_width`` is not positive, or the recording has several trials.

    Examples
    --------
    >>> import numpy as np
    >>> instantaneous_rate(np.ones((50, 1), bool), kernel_width=5).shape
    (50, 1)
    """
    import neo
    from elephant.kernels import GaussianKernel
    from elephant.statistics import instantaneous_rate as elephant_rate

    from ..core.units import as_samples

    view = as_view(spikes)
    if view.time_base == "sample":
        width = as_samples(kernel_width, "kernel_width")
        if width <= 0:
            raise ValueError(f"kernel_width must be positive, got {width} samples")
        from ..core.conversion import to_spiketrains

        matrix = view.matrix if nodes is None else view.matrix[:, list(nodes)]
        rate = elephant_rate(to_spiketrains(matrix), sampling_period=1 * sample,
                             kernel=GaussianKernel(sigma=width * sample))
        return neo.AnalogSignal(rate.magnitude, units=1 / sample, sampling_period=1 * sample,
                                t_start=0 * sample, name="instantaneous rate")
    if any(len(segs) != 1 for segs in view.segments):
        raise ValueError("instantaneous_rate smooths one continuous train per unit; this recording has several "
                         "trials or observation intervals: select one trial (Recording.select(trials=[k]))")
    sigma = view.check_window(kernel_width, "kernel_width")
    period = 0.001 if sampling_period is None else view.check_window(sampling_period, "sampling_period")
    chosen = range(view.n_units) if nodes is None else list(nodes)
    trains = [neo.SpikeTrain(view.segments[j][0][0] * pq.s, t_start=view.segments[j][0][1] * pq.s,
                             t_stop=view.segments[j][0][2] * pq.s) for j in chosen]
    rate = elephant_rate(trains, sampling_period=period * pq.s, kernel=GaussianKernel(sigma=sigma * pq.s))
    return neo.AnalogSignal(rate.rescale(pq.Hz).magnitude, units=pq.Hz, sampling_period=period * pq.s,
                            t_start=rate.t_start.rescale(pq.s), name="instantaneous rate")


def node_statistics(spikes, window=None, *, ddof=0, client=None) -> pd.DataFrame:
    """Per-unit table of all statistics and their exact finite-sample null, whatever the time base.

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block, ann2neo.Recording
        Also a ``dask.array`` or Zarr array (e.g. ``ann2neo.io.store.read_store(path,
        lazy=True)[layer]``) for recordings larger than memory: computed chunk by
        chunk with Dask, giving the same numbers (:mod:`ann2neo.analysis.chunked`).
    window : int (samples) or pq.Quantity (time), optional
        Window of the Fano factor: default 100 samples (the paper's), or 100 ms in physical time.
    ddof : {0, 1}, default 0
        Variance of the Fano factor and the CV: 0 as Elephant, 1 the sample
        variance.  The ``*_dispersion`` ratios do not depend on it.
    client : dask.distributed.Client, optional
        Cluster for a chunked input; default Dask's local threaded scheduler.

    Returns
    -------
    pandas.DataFrame, one row per unit (index ``node``)
        * ``firing_rate`` (spikes/sample, or Hz), ``fano_factor``, ``cv_isi``, ``lv``;
        * ``n_spikes`` (int, whole observed time), ``n_spikes_windowed`` (int, in the
          complete windows), ``n_windows`` (int, N), ``duration`` (observed time, in
          samples or s);
        * the exact finite-N null of the recording's time base (``attrs["null"]``:
          "bernoulli" for a spike matrix, :mod:`ann2neo.analysis.nullmodel`; "poisson"
          for spike times) given each unit's spike count: ``fano_factor_null``
          (E[F | K_w]), ``cv_isi_null`` (sqrt(E[CV² | K, L]), the RMS null CV),
          ``lv_null`` (E[LV | K]);
        * the ratios to it, each of mean exactly 1 under the null at any N:
          ``dispersion`` (F / E[F | K_w]), ``cv_dispersion`` (CV² / E[CV² | K, L],
          squared), ``lv_dispersion`` (LV / E[LV | K]); above 1: bursty/irregular,
          below 1: regular;
        * ``note`` (str): why a statistic or a ratio is NaN on that row, "" if none;
        * ``unit`` (str): the unit's name (a train's or Recording unit's name;
          "node j" for a matrix column).

        ``attrs``: ``n_windows`` (the smallest over units), ``window`` (samples,
        or s), ``n_samples`` (None in physical time), ``ddof``, ``null``,
        ``rate_unit`` ("1/sample" or "Hz"), ``time_unit`` ("sample" or "s").

    Raises
    ------
    ValueError, ann2neo.UnitError
        As :func:`fano_factor`.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.random.default_rng(0).random((1300, 3)) < [0.05, 0.5, 0.9]
    >>> t = node_statistics(m, 100)
    >>> int(t["n_windows"].iloc[0]), list(t.columns[:4]), t.attrs["null"]
    (13, ['firing_rate', 'fano_factor', 'cv_isi', 'lv'], 'bernoulli')
    """
    view = as_view(spikes, client=client)
    w = _window(view, window)
    stats = view.statistics(w, ddof)
    ff_null, cv2_null, lv_null = view.null_references(stats, w, ddof)
    table = pd.DataFrame({key: stats[key] for key in ("firing_rate", "fano_factor", "cv_isi", "lv", "n_spikes",
                                                      "n_spikes_windowed", "n_windows", "duration")})
    table["fano_factor_null"] = np.where(np.isnan(stats["fano_factor"]), np.nan, ff_null)
    table["dispersion"] = nullmodel._ratio(stats["fano_factor"], ff_null)
    table["cv_isi_null"] = np.sqrt(cv2_null)
    table["cv_dispersion"] = nullmodel._ratio(stats["cv_isi"] ** 2, cv2_null)
    table["lv_null"] = lv_null
    table["lv_dispersion"] = nullmodel._ratio(stats["lv"], lv_null)
    table["note"] = view.notes(stats, w)
    prefix = "node" if view.kind == "matrix" else "unit"
    table["unit"] = view.names if view.names is not None else [f"{prefix} {j}" for j in range(view.n_units)]
    table.index.name = "node"
    n_win = int(table["n_windows"].min()) if len(table) else 0
    table.attrs.update(n_windows=n_win, window=w, n_samples=view.n_samples, ddof=ddof, null=view.null,
                       rate_unit=view.rate_unit, time_unit=view.time_label)
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
    * ``null`` — which null the ``*_null`` keys hold: ``"bernoulli"`` (a spike
      matrix: at most one spike per sample) or ``"poisson"`` (spike times);
    * ``mf_null`` — the exact null's mean Fano factor at this N, mean of
      E[F | K_w] over the same nodes as ``mf`` (it includes the (N-1)/N bias of
      ddof=0, so ``mf`` and ``mf_null`` are directly comparable);
      ``mean_dispersion`` — mean of F / E[F | K_w];
    * ``mean_cv_isi_null`` — mean of the RMS null CV sqrt(E[CV² | K, L]) over
      the nodes with a defined CV (an upper bound of the null's mean CV);
      ``mean_cv_dispersion`` — mean of CV² / E[CV² | K, L];
    * ``mean_lv_null`` — mean of E[LV | K] over the nodes with a defined LV;
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
    * ``rate_unit`` — ``"1/sample"``, or ``"Hz"`` for spike trains in physical time;
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
    null = nodes.attrs.get("null", "bernoulli")
    sample_time = nodes.attrs.get("time_unit", "sample") == "sample"

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
        "mf_null": nanmean(nodes["fano_factor_null"]),
        "mean_dispersion": nanmean(nodes["dispersion"]),
        "mean_cv_isi_null": nanmean(nodes["cv_isi_null"].where(nodes["cv_isi"].notna())),
        "mean_cv_dispersion": nanmean(nodes["cv_dispersion"]),
        "mean_lv_null": nanmean(nodes["lv_null"].where(nodes["lv"].notna())),
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
        "rate_unit": nodes.attrs.get("rate_unit", "1/sample"),
        "null": null,
    }
