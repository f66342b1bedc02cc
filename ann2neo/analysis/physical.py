r"""Spike-train statistics in physical time (s, ms): real recordings next to ANN layers.

ANN spike trains live on the sample grid (:data:`ann2neo.sample`); recorded
neurons live in seconds.  This module computes the same per-node statistics
for trains in any physical time unit, with no binning: rates in Hz, ISIs, CV
and LV from the spike times themselves, and Fano factors of spike counts in
consecutive windows of a time quantity (``window=50 * pq.ms``), binned with
the rule of Elephant's ``BinnedSpikeTrain``.  The ISI statistics use
Elephant's definitions computed with numpy (Elephant's per-train calls cost
about 1 ms each); ``tests/test_physical.py`` proves equality with Elephant's
functions.  :func:`ann2neo.analyze` and the statistics functions dispatch here
when given physical-time trains.

Null model: the stationary Poisson process, exact at finite sample size
-----------------------------------------------------------------------
Conditioned on its spike count, a homogeneous Poisson process places its
spikes independently and uniformly, which gives references that hold at any
recording length (the physical-time twin of the Bernoulli null of
:mod:`ann2neo.analysis.nullmodel`):

* **Fano factor.**  With :math:`N` complete windows of length :math:`w` (the
  incomplete last one dropped) holding :math:`K` spikes, the window counts are
  Multinomial(:math:`K`; :math:`1/N, \dots, 1/N`): each count has mean
  :math:`K/N` and variance :math:`K(1/N)(1 - 1/N)`, and the window mean is
  exactly :math:`K/N`, so for the population (ddof=0) variance

  .. math:: \mathrm{E}[F \mid K] = \frac{N-1}{N}

  (ddof=1: exactly 1).  ``dispersion = F / E[F | K]`` has mean 1.
* **CV.**  Given :math:`k \ge 2` ISIs spanning :math:`L` (first to last spike),
  the inner spikes are uniform on the span, so the ISIs are :math:`L` times a
  flat Dirichlet vector; each has variance :math:`L^2 (k-1)/(k^2 (k+1))` and

  .. math:: \mathrm{E}[CV^2 \mid k, L] = \frac{k-1}{k+1}

  (population variance), which tends to the textbook 1 as :math:`k` grows.
* **LV.**  For two consecutive ISIs of a flat Dirichlet vector,
  :math:`I_1/(I_1+I_2)` is uniform on (0, 1), so each LV term
  :math:`3((I_1 - I_2)/(I_1 + I_2))^2` has mean exactly 1: :math:`\mathrm{E}[LV] = 1`
  at any :math:`k \ge 2`.

References
----------
Eden U.T., Kramer M.A. (2010) J Neurosci Methods 190:149 (Fano factor of
Poisson counts); Shinomoto S. et al. (2003) Neural Comput 15:2823 (LV);
Daley D.J., Vere-Jones D. (2003) *An Introduction to the Theory of Point
Processes*, section 2.1 (uniform order statistics of a Poisson process given
its count).
"""
from __future__ import annotations

import neo
import numpy as np
import pandas as pd
import quantities as pq
from neo.core.spiketrainlist import SpikeTrainList

from ..core.units import UnitError, is_sample_unit
from ..core.validation import check_integer

__all__ = ["is_physical", "physical_trains", "check_time_window", "firing_rate", "fano_factor", "cv_isi", "lv",
           "isi", "window_counts", "node_statistics", "diagnose"]


def _trains(data):
    if isinstance(data, neo.Segment):
        return list(data.spiketrains)
    if isinstance(data, neo.SpikeTrain):
        return [data]
    if isinstance(data, (list, tuple, SpikeTrainList)) and len(data) \
            and all(isinstance(st, neo.SpikeTrain) for st in data):
        return list(data)
    return None


def is_physical(data) -> bool:
    """True if ``data`` holds spike trains in a physical time unit (s, ms, ...), not in samples.

    Parameters
    ----------
    data : anything ann2neo's statistics accept

    Returns
    -------
    bool
        False for spike matrices and for trains in :data:`ann2neo.sample`.

    Raises
    ------
    ann2neo.UnitError
        If sample-unit and physical-unit trains are mixed in one call: a
        sample has no duration, so the two cannot share an axis.
    """
    trains = _trains(data)
    if not trains:
        return False
    in_samples = [is_sample_unit(st) for st in trains]
    if all(in_samples):
        return False
    if any(in_samples):
        raise UnitError("spike trains mix sample-index time (ann2neo.sample) and physical time (s, ms); a sample "
                        "has no duration, so analyse ANN and recorded trains in separate calls "
                        "(ann2neo.compare puts them side by side)")
    return True


def physical_trains(data) -> list:
    """The spike trains of ``data`` (a SpikeTrain, a list of them, or a Segment) in physical time.

    Raises
    ------
    TypeError
        If ``data`` holds no spike trains.
    ann2neo.UnitError
        If a train is in samples, or its unit is not a time.
    """
    trains = _trains(data)
    if not trains:
        raise TypeError(f"expected neo.SpikeTrain objects in physical time, got {type(data).__name__}")
    for i, st in enumerate(trains):
        _seconds_per_unit(st, f"spike train {i}")
    return trains


_FACTORS: dict = {}


def _seconds_per_unit(quantity, what) -> float:
    """Seconds per unit of ``quantity`` (cached per unit: quantities' own rescale is slow per call)."""
    key = quantity.dimensionality.string
    if key not in _FACTORS:
        if is_sample_unit(quantity) or quantity.simplified.dimensionality != pq.s.dimensionality:
            raise UnitError(f"{what} is in {key}, not a physical time unit")
        _FACTORS[key] = float(pq.Quantity(1.0, quantity.units).rescale(pq.s))
    return _FACTORS[key]


def _in_seconds(trains):
    """(spike times, t_start, t_stop) of each train as float64 seconds."""
    out = []
    for i, st in enumerate(trains):
        f = _seconds_per_unit(st, f"spike train {i}")
        out.append((np.asarray(st.magnitude, dtype=np.float64) * f,
                    float(st.t_start.magnitude) * _seconds_per_unit(st.t_start, "t_start"),
                    float(st.t_stop.magnitude) * _seconds_per_unit(st.t_stop, "t_stop")))
    return out


def check_time_window(window, trains) -> pq.Quantity:
    """Validate a Fano-factor window for physical-time trains; return it in seconds.

    Parameters
    ----------
    window : pq.Quantity
        A time, e.g. ``50 * pq.ms``.
    trains : list of neo.SpikeTrain

    Returns
    -------
    pq.Quantity, scalar, in s

    Raises
    ------
    ann2neo.UnitError
        For a plain number (seconds or milliseconds? ambiguous), a window in
        samples, or a quantity that is not a time.
    ValueError
        For a window that is not positive, or longer than every train.
    """
    if not isinstance(window, pq.Quantity):
        raise UnitError(f"window must be a time quantity for spike trains in physical time (e.g. 50 * pq.ms), "
                        f"got {window!r}: a plain number is ambiguous")
    if is_sample_unit(window) or window.simplified.dimensionality != pq.s.dimensionality or window.size != 1:
        raise UnitError(f"window must be a scalar time in s or ms for physical-time trains, got {window}")
    seconds = window.rescale(pq.s).reshape(())
    if not np.isfinite(float(seconds)) or float(seconds) <= 0:
        raise ValueError(f"window must be positive, got {window}")
    longest = max(t1 - t0 for _, t0, t1 in _in_seconds(trains))
    if float(seconds) > longest:
        raise ValueError(f"window of {window} is longer than every spike train ({longest:g} s): no complete window")
    return seconds


def firing_rate(data) -> pq.Quantity:
    """Firing rate of each train: spike count over ``t_stop - t_start``, in Hz.

    Equal to ``elephant.statistics.mean_firing_rate`` of each train.

    Parameters
    ----------
    data : neo.SpikeTrain, list of neo.SpikeTrain or neo.Segment, in s or ms

    Returns
    -------
    pq.Quantity, shape (n_trains,), in Hz

    Examples
    --------
    >>> st = neo.SpikeTrain([0.1, 0.5, 0.9] * pq.s, t_stop=2 * pq.s)
    >>> firing_rate(st)
    array([1.5]) * Hz
    """
    trains = physical_trains(data)
    rates = [times.size / (t1 - t0) for times, t0, t1 in _in_seconds(trains)]
    return np.asarray(rates, dtype=np.float64) * pq.Hz


def window_counts(data, window) -> list:
    """Spike counts of each train in consecutive windows from its ``t_start``.

    Windows ``[t_start + i w, t_start + (i + 1) w)``; the incomplete last window
    is dropped and spikes within 1e-8 of a window of the next edge are counted
    in the next window, as Elephant's ``BinnedSpikeTrain`` does.

    Returns
    -------
    list of ndarray of int64, one per train (trains may differ in length)
    """
    trains = physical_trains(data)
    return _counts(_in_seconds(trains), float(check_time_window(window, trains)))


def _counts(seconds, w):
    """Window counts from (times, t_start, t_stop) in seconds and a window ``w`` in seconds."""
    counts = []
    for times, t0, t1 in seconds:
        n = _floor_bins((t1 - t0) / w)
        index = _floor_bins((times - t0) / w)
        counts.append(np.bincount(index[(index >= 0) & (index < n)], minlength=n).astype(np.int64))
    return counts


def _floor_bins(values, tolerance=1e-8):
    """``floor`` of positions measured in bins, moving values within ``tolerance`` below an edge onto it.

    The rule of Elephant's ``BinnedSpikeTrain`` (``elephant.utils.round_binning_errors``): a spike at
    12.3 s is in the 100 ms bin 123 although 12.3 / 0.1 = 122.99999999999999 in floating point.
    """
    values = np.asarray(values, dtype=np.float64)
    result = np.floor(values)
    result = np.where(1 - tolerance <= values % 1, result + 1, result).astype(np.int64)
    return int(result) if result.ndim == 0 else result


def fano_factor(data, window, ddof=0) -> np.ndarray:
    """Fano factor of each train's counts in consecutive windows of ``window`` (a time).

    Parameters
    ----------
    data : neo.SpikeTrain, list of neo.SpikeTrain or neo.Segment, in s or ms
    window : pq.Quantity
        Window length, e.g. ``100 * pq.ms``.
    ddof : {0, 1}, default 0
        0: population variance, as Elephant's ``fanofactor``; 1: sample variance.

    Returns
    -------
    ndarray of float64, shape (n_trains,)
        NaN where the windows hold no spike or there are fewer than ``ddof + 2``
        windows (a single window has no variance).
    """
    ddof = check_integer(ddof, "ddof", min_value=0, max_value=1)
    return _fano(window_counts(data, window), ddof)


def _fano(counts, ddof):
    out = [np.nan if c.size < 2 or c.sum() == 0 else float(c.var(ddof=ddof) / c.mean()) for c in counts]
    return np.asarray(out, dtype=np.float64)


def _isi_stats(seconds):
    """CV (ddof=0), LV and ISI span of each train, from (times, t_start, t_stop) in seconds.

    Elephant's formulas (``cv(isi(st))``: population std over mean; ``lv``),
    computed with numpy per train: Elephant's own per-call wrappers cost ~1 ms
    a train.  ``tests/test_physical.py`` checks equality with Elephant to 1e-12.
    """
    n = len(seconds)
    cv, lv_, spans = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for j, (times, _, _) in enumerate(seconds):
        if times.size < 3:  # fewer than 2 ISIs: no spread to measure
            continue
        intervals = np.diff(times)
        cv[j] = intervals.std() / intervals.mean()
        pairs = (intervals[:-1] - intervals[1:]) / (intervals[:-1] + intervals[1:])
        lv_[j] = 3.0 * np.mean(pairs * pairs)
        spans[j] = intervals.sum()
    return cv, lv_, spans


def cv_isi(data, ddof=0) -> np.ndarray:
    """Coefficient of variation of each train's ISIs, as Elephant's ``cv(isi(st))`` (ddof=0).

    Parameters
    ----------
    data : neo.SpikeTrain, list of neo.SpikeTrain or neo.Segment, in s or ms
    ddof : {0, 1}, default 0
        0: population standard deviation (Elephant); 1: sample standard deviation.

    Returns
    -------
    ndarray of float64, shape (n_trains,)
        NaN for trains with fewer than 2 ISIs.
    """
    ddof = check_integer(ddof, "ddof", min_value=0, max_value=1)
    seconds = _in_seconds(physical_trains(data))
    return _cv_ddof(_isi_stats(seconds)[0], seconds, ddof)


def _cv_ddof(cv, seconds, ddof):
    if not ddof:
        return cv
    k = np.array([max(times.size - 1, 0) for times, _, _ in seconds], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cv * np.sqrt(k / (k - 1))


def isi(data) -> list:
    """Inter-spike intervals of each train, as Elephant's ``isi``.

    Returns
    -------
    list of pq.Quantity, in the unit of each train
    """
    import elephant.statistics as es

    return [es.isi(st) for st in physical_trains(data)]


def lv(data) -> np.ndarray:
    """Local variation of each train's ISIs (Shinomoto et al. 2003), as Elephant's ``lv``; 1 for Poisson.

    Returns
    -------
    ndarray of float64, shape (n_trains,)
        NaN for trains with fewer than 2 ISIs.
    """
    return _isi_stats(_in_seconds(physical_trains(data)))[1]


def node_statistics(data, window, ddof=0) -> pd.DataFrame:
    """Per-train table of the statistics in physical time, with the Poisson null's exact references.

    The columns mirror :func:`ann2neo.node_statistics` (sample time), with the
    Poisson process in place of the Bernoulli process as the null, so
    :func:`ann2neo.network_summary` and :func:`ann2neo.compare` read both.

    Parameters
    ----------
    data : neo.SpikeTrain, list of neo.SpikeTrain or neo.Segment, in s or ms
    window : pq.Quantity
        Fano-factor window, e.g. ``100 * pq.ms``.
    ddof : {0, 1}, default 0
        Variance of the Fano factor and the CV (0 as Elephant).

    Returns
    -------
    pandas.DataFrame, one row per train (index ``node``)
        * ``firing_rate`` (**Hz**), ``fano_factor``, ``cv_isi``, ``lv``;
        * ``n_spikes``, ``n_spikes_windowed`` (in the complete windows),
          ``n_windows`` (per train: trains may differ in length), ``duration_s``;
        * the exact finite-sample Poisson references of the module docstring and
          the ratios to them (mean 1 for a Poisson process at any size):
          ``fano_factor_poisson`` (E[F | K] = (N - 1 + ddof) / N), ``dispersion``;
          ``cv_isi_poisson`` (sqrt(E[CV^2 | k, L])), ``cv_dispersion`` (CV^2 / E[CV^2]);
          ``lv_poisson`` (1), ``lv_dispersion``;
        * ``note`` (str): why a value is NaN on that row.

        ``attrs``: ``rate_unit`` ("Hz"), ``null`` ("poisson"), ``window`` (in s),
        ``n_windows`` (the smallest over trains), ``ddof``.

    Raises
    ------
    ann2neo.UnitError
        For trains or a window not in physical time.
    ValueError
        For a window that is not positive or longer than every train.

    Examples
    --------
    >>> st = neo.SpikeTrain([0.05, 0.31, 0.32, 0.77, 1.4, 1.9] * pq.s, t_stop=2 * pq.s)
    >>> node_statistics([st], 500 * pq.ms)[["firing_rate", "n_windows"]].values.tolist()
    [[3.0, 4.0]]
    """
    trains = physical_trains(data)
    ddof = check_integer(ddof, "ddof", min_value=0, max_value=1)
    w = check_time_window(window, trains)
    seconds = _in_seconds(trains)
    counts = _counts(seconds, float(w))
    ff = _fano(counts, ddof)
    cv0, lv_, _ = _isi_stats(seconds)
    cv = _cv_ddof(cv0, seconds, ddof)
    n_spikes = np.array([times.size for times, _, _ in seconds], dtype=np.int64)
    n_windows = np.array([c.size for c in counts], dtype=np.int64)
    windowed = np.array([c.sum() for c in counts], dtype=np.int64)
    k = n_spikes - 1.0  # ISIs
    with np.errstate(invalid="ignore", divide="ignore"):
        ff_null = np.where((n_windows >= 2) & (windowed > 0), (n_windows - 1.0 + ddof) / n_windows, np.nan)
        cv2_null = np.where(k >= 2, (k - 1.0) / (k + 1.0), np.nan)
        if ddof:  # sample variance: the population value times k / (k - 1)
            cv2_null = np.where(k >= 2, k / (k + 1.0), np.nan)
        lv_null = np.where(k >= 2, 1.0, np.nan)
        table = pd.DataFrame({
            "firing_rate": [times.size / (t1 - t0) for times, t0, t1 in seconds],
            "fano_factor": ff, "cv_isi": cv, "lv": lv_, "n_spikes": n_spikes, "n_spikes_windowed": windowed,
            "n_windows": n_windows, "duration_s": [t1 - t0 for _, t0, t1 in seconds],
            "fano_factor_poisson": ff_null, "dispersion": ff / ff_null,
            "cv_isi_poisson": np.sqrt(cv2_null), "cv_dispersion": cv ** 2 / cv2_null,
            "lv_poisson": lv_null, "lv_dispersion": lv_ / lv_null,
        })
    notes = []
    for n, n_w, kw in zip(n_spikes, n_windows, windowed, strict=True):
        reasons = []
        if n_w < 2:
            reasons.append(f"{n_w} window(s): Fano factor undefined")
        elif kw == 0:
            reasons.append("no spike in the windows: Fano factor undefined")
        if n < 3:
            reasons.append(f"{n} spike(s): CV and LV need at least 2 ISIs")
        notes.append("; ".join(reasons))
    table["note"] = notes
    table.index.name = "node"
    table.attrs.update(rate_unit="Hz", null="poisson", window=float(w), n_windows=int(n_windows.min()), ddof=ddof)
    return table


def diagnose(trains, nodes: pd.DataFrame, *, window, alpha=0.05, lags=10, min_windows=20):
    """Poisson-model diagnostics of spike trains in physical time (``analyze(..., diagnostics=True)``).

    * Fano factor test against the Poisson process (Eden & Kramer 2010):
      :func:`ann2neo.analysis.diagnostics.fano_factor_test`, per train with its
      own number of windows.  The Bernoulli null has no meaning in continuous
      time: its columns are absent.
    * Ljung-Box (statsmodels ``acorr_ljungbox``) on each train's series of
      window counts, up to ``lags`` windows; combined over trains with
      Pearson's method computed stably, as for ANN recordings.
    * ADF on the window counts (statsmodels ``adfuller``'s results, AIC lag
      choice, computed for all trains at once by :mod:`ann2neo.analysis._adf`);
      fewer than ``min_windows`` windows give NaN with the reason.

    Parameters
    ----------
    trains : list of neo.SpikeTrain in s or ms
    nodes : pandas.DataFrame
        :func:`node_statistics` of ``trains`` with the same ``window``.
    window : pq.Quantity
    alpha : float, default 0.05
    lags : int, default 10
        Ljung-Box lags, in windows.
    min_windows : int, default 20

    Returns
    -------
    per_node : pandas.DataFrame
        ``ff_p_poisson``, ``ff_significant_poisson``, ``ff_direction_poisson``,
        ``ljung_box_stat``, ``ljung_box_p``, ``ljung_box_note``, ``adf_p``, ``adf_note``.
    tests : dict
        ``ff_fraction_significant_poisson``, ``ff_fraction_below_poisson``,
        ``ff_n_tested``, ``ljung_box_combined_p``, ``ljung_box_fraction_significant``,
        ``ljung_box_fraction_significant_bh``, ``ljung_box_n_tested``, ``adf_series``,
        ``adf_fraction_unit_root_not_rejected``, ``adf_n_tested``.
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.multitest import multipletests

    from ._adf import adfuller_batch
    from .diagnostics import _fraction, _pearson_combined, fano_factor_test

    counts = window_counts(trains, window)
    n_windows = nodes["n_windows"].to_numpy()
    ff = nodes["fano_factor"].to_numpy()
    if int(nodes.attrs.get("ddof", 0)) == 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            ff = ff * (n_windows - 1) / n_windows  # the test takes Elephant's ddof=0 Fano factor
    p = np.full(ff.shape, np.nan)
    significant = np.zeros(ff.shape, bool)
    direction = np.full(ff.shape, "", dtype=object)
    for n in np.unique(n_windows[n_windows >= 2]):
        rows = np.flatnonzero(n_windows == n)
        t = fano_factor_test(ff[rows], int(n), null="poisson", alpha=alpha)
        p[rows], significant[rows], direction[rows] = t["p_value"], t["significant"], t["direction"]
    defined = ~np.isnan(p)
    tests = {"ff_fraction_significant_poisson": _fraction(significant[defined]),
             "ff_fraction_below_poisson": _fraction(significant[defined] & (direction[defined] == "below")),
             "ff_n_tested": int(defined.sum())}
    q = np.full(ff.shape, np.nan)
    lb_p = np.full(ff.shape, np.nan)
    lb_note = np.full(ff.shape, "", dtype=object)
    adf_p = np.full(ff.shape, np.nan)
    adf_note = np.full(ff.shape, "", dtype=object)
    for j, c in enumerate(counts):
        series = c.astype(float)
        if series.size == 0 or np.all(series == series[0]):
            lb_note[j] = adf_note[j] = "constant series: test undefined"
            continue
        if series.size <= lags + 1:
            lb_note[j] = f"too few windows ({series.size} <= lags + 1 = {lags + 1})"
        else:
            res = acorr_ljungbox(series, lags=[lags])
            q[j], lb_p[j] = float(res["lb_stat"].iloc[0]), float(res["lb_pvalue"].iloc[0])
        if series.size < min_windows:
            adf_note[j] = f"too few windows ({series.size} < {min_windows})"
    # ADF of all trains with the same number of windows at once (statsmodels' adfuller, batched: _adf)
    todo = np.flatnonzero(adf_note == "")
    for n in np.unique(n_windows[todo]) if todo.size else []:
        rows = todo[n_windows[todo] == n]
        adf_p[rows] = adfuller_batch(np.column_stack([counts[j].astype(float) for j in rows]))["pvalue"]
        adf_note[rows[np.isnan(adf_p[rows])]] = "degenerate ADF regression (statsmodels adfuller gives NaN)"
    tested = ~np.isnan(lb_p)
    bh = multipletests(lb_p[tested], alpha=alpha, method="fdr_bh")[0] if tested.any() else np.zeros(0, bool)
    tests.update({"ljung_box_combined_p": _pearson_combined(q[tested], lags), "ljung_box_combine": "pearson",
                  "ljung_box_fraction_significant": _fraction(lb_p[tested] < alpha),
                  "ljung_box_fraction_significant_bh": _fraction(bh), "ljung_box_n_tested": int(tested.sum()),
                  "adf_series": f"spike counts in windows of {float(check_time_window(window, trains)) * 1e3:g} ms",
                  "adf_fraction_unit_root_not_rejected": _fraction(adf_p[~np.isnan(adf_p)] >= alpha),
                  "adf_n_tested": int((~np.isnan(adf_p)).sum())})
    per_node = pd.DataFrame({"ff_p_poisson": p, "ff_significant_poisson": significant,
                             "ff_direction_poisson": direction, "ljung_box_stat": q, "ljung_box_p": lb_p,
                             "ljung_box_note": lb_note, "adf_p": adf_p, "adf_note": adf_note}, index=nodes.index)
    return per_node, tests
