r"""Spike-train statistics in physical time (s, ms): real recordings next to ANN layers.

ANN spike trains live on the sample grid (:data:`ann2neo.sample`); recorded
neurons live in seconds.  This module computes the same per-node statistics
for trains in any physical time unit, with no binning: rates in Hz, ISIs, CV
and LV from the spike times themselves (Elephant's ``isi``, ``cv`` and ``lv``,
called train by train: Elephant is the reference here, not a fast path), and
Fano factors of spike counts in consecutive windows of a time quantity
(``window=50 * pq.ms``).  :func:`ann2neo.analyze` and the statistics
functions dispatch here when given physical-time trains.

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

from ..core.units import UnitError, is_sample_unit
from ..core.validation import check_integer

__all__ = ["is_physical", "physical_trains", "check_time_window", "firing_rate", "fano_factor", "cv_isi", "lv",
           "window_counts", "node_statistics"]


def _trains(data):
    if isinstance(data, neo.Segment):
        return list(data.spiketrains)
    if isinstance(data, neo.SpikeTrain):
        return [data]
    if isinstance(data, (list, tuple)) and data and all(isinstance(st, neo.SpikeTrain) for st in data):
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
    w = float(check_time_window(window, trains))
    counts = []
    for times, t0, t1 in _in_seconds(trains):
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
    out = []
    for c in window_counts(data, window):
        if c.size < 2 or c.sum() == 0:
            out.append(np.nan)
        else:
            out.append(float(c.var(ddof=ddof) / c.mean()))
    return np.asarray(out)


def _isi_stats(trains):
    import elephant.statistics as es

    cv, lv_, spans = [], [], []
    for times, _, _ in _in_seconds(trains):
        if times.size < 3:  # fewer than 2 ISIs: no spread to measure
            cv.append(np.nan)
            lv_.append(np.nan)
            spans.append(np.nan)
            continue
        intervals = es.isi(times)  # plain arrays: Elephant's formulas without per-call unit handling
        cv.append(float(es.cv(intervals)))
        lv_.append(float(es.lv(intervals, with_nan=True)))
        spans.append(float(intervals.sum()))
    return np.asarray(cv), np.asarray(lv_), np.asarray(spans)


def cv_isi(data) -> np.ndarray:
    """Coefficient of variation of each train's ISIs (population std / mean), as Elephant's ``cv(isi(st))``.

    Returns
    -------
    ndarray of float64, shape (n_trains,)
        NaN for trains with fewer than 2 ISIs.
    """
    return _isi_stats(physical_trains(data))[0]


def lv(data) -> np.ndarray:
    """Local variation of each train's ISIs (Shinomoto et al. 2003), as Elephant's ``lv``; 1 for Poisson.

    Returns
    -------
    ndarray of float64, shape (n_trains,)
        NaN for trains with fewer than 2 ISIs.
    """
    return _isi_stats(physical_trains(data))[1]


def node_statistics(data, window, ddof=0) -> pd.DataFrame:
    """Per-train table of the statistics in physical time, with the Poisson null's exact references.

    Parameters
    ----------
    data : neo.SpikeTrain, list of neo.SpikeTrain or neo.Segment, in s or ms
    window : pq.Quantity
        Fano-factor window, e.g. ``100 * pq.ms``.
    ddof : {0, 1}, default 0

    Returns
    -------
    pandas.DataFrame, one row per train (index ``node``)
        ``firing_rate_hz``, ``fano_factor``, ``cv_isi``, ``lv``, ``n_spikes``,
        ``n_windows``, ``duration_s``, and the ratios to the finite-sample
        Poisson references of the module docstring: ``dispersion``
        (F / E[F | K]), ``cv_dispersion`` (CV / sqrt(E[CV^2 | k, L])) and
        ``lv_dispersion`` (LV / 1).

    Raises
    ------
    ann2neo.UnitError
        For trains or a window not in physical time.
    ValueError
        For a window that is not positive or longer than every train.
    """
    trains = physical_trains(data)
    ddof = check_integer(ddof, "ddof", min_value=0, max_value=1)
    counts = window_counts(trains, window)
    ff = fano_factor(trains, window, ddof=ddof)
    cv, lv_, _ = _isi_stats(trains)
    n_spikes = np.array([len(st) for st in trains], dtype=np.int64)
    n_windows = np.array([c.size for c in counts], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected_ff = np.where(n_windows >= 2, (n_windows - 1.0 + ddof) / n_windows, np.nan)
        k = n_spikes - 1.0
        expected_cv2 = np.where(k >= 2, (k - 1.0) / (k + 1.0), np.nan)
        table = pd.DataFrame({
            "firing_rate_hz": firing_rate(trains).magnitude,
            "fano_factor": ff, "cv_isi": cv, "lv": lv_, "n_spikes": n_spikes, "n_windows": n_windows,
            "duration_s": [t1 - t0 for _, t0, t1 in _in_seconds(trains)],
            "dispersion": ff / expected_ff,
            "cv_dispersion": cv / np.sqrt(expected_cv2),
            "lv_dispersion": lv_ / 1.0,
        })
    table.index.name = "node"
    return table
