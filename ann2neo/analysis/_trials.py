"""One validation path for the trial statistics: a Recording, or a count matrix with condition labels.

Every function of :mod:`ann2neo.analysis.conditioned`, :mod:`~ann2neo.analysis.population`
and :mod:`~ann2neo.analysis.pairwise` turns its input into a :class:`Responses`
here, so a plain ``(n_trials, n_units)`` matrix and a :class:`ann2neo.Recording`
are checked by the same rules and give the same numbers.

The response of a unit in a trial is its **spike count** in the trial (within
its observation intervals).  When every unit was observed for the same time in
every trial (a network layer: one sample; a recording of aligned trials of one
length) the counts are kept as integers, so sums of products stay exact; the
rate is the count divided by that one duration.  Otherwise the response is the
rate (count / observed time, float64), NaN where a unit was not observed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import quantities as pq

from ..core.recording import Recording, _in_unit
from ..core.units import UnitError, sample
from ..core.validation import check_random_state

__all__ = ["Responses", "responses", "bins_of", "trial_surrogates", "CountMoments", "count_moments"]


@dataclass
class Responses:
    """Validated trial responses.

    Attributes
    ----------
    values : ndarray (n_trials, n_units)
        int64 counts, bool spikes, or float64 rates (NaN where unobserved).
    labels : ndarray (n_trials,) or None
        The condition of each trial.
    conditions : ndarray (n_conditions,) or None
        The distinct conditions, sorted.
    index : ndarray of int64 (n_trials,) or None
        Position of each trial's condition in ``conditions``.
    units : list of str
    duration : float or None
        The one observation time per trial (in ``time_unit``) when ``values``
        are counts; None for rates or a plain matrix.
    time_unit : str
        ``"sample"``, ``"s"``, ``"ms"``, or ``"trial"`` for a plain matrix.
    binary : bool
        True when every response is 0 or 1 (a thresholded layer's one-sample trials).
    seconds : float or None
        Seconds per ``time_unit`` for a physical time base (rates are then in Hz).
    """

    values: np.ndarray
    labels: np.ndarray | None
    conditions: np.ndarray | None
    index: np.ndarray | None
    units: list
    duration: float | None
    time_unit: str
    binary: bool
    seconds: float | None = None

    @property
    def n_trials(self):
        """Number of trials (rows)."""
        return self.values.shape[0]

    @property
    def n_units(self):
        """Number of units (columns)."""
        return self.values.shape[1]

    @property
    def rate_unit(self):
        """The unit of a rate: ``1/sample``, ``Hz`` (physical time), or ``1/trial`` (a count per trial)."""
        return "Hz" if self.seconds else f"1/{self.time_unit}"

    def rates(self):
        """Responses as float64 rates (count / duration), in :attr:`rate_unit`."""
        x = self.values.astype(np.float64)
        x = x / self.duration if self.duration else x
        return x / self.seconds if self.seconds else x

    def need_labels(self, what, min_conditions=2):
        """Raise unless there are condition labels with at least ``min_conditions`` values."""
        if self.labels is None:
            raise ValueError(f"{what} needs the condition of each trial: build the Recording with labels= "
                             "(or condition=), or pass labels=")
        if len(self.conditions) < min_conditions:
            raise ValueError(f"{what} needs at least {min_conditions} conditions, got {len(self.conditions)} "
                             f"({list(self.conditions)})")

    def need_finite(self, what):
        """Raise if some unit was not observed in some trial (NaN rates)."""
        if self.values.dtype.kind == "f" and not np.isfinite(self.values).all():
            bad = np.flatnonzero(~np.isfinite(self.values).all(axis=0))
            raise ValueError(f"{what} needs every unit observed in every trial; units "
                             f"{[self.units[u] for u in bad[:5]]} were not: select() those trials or units first")


def responses(data, labels=None, *, condition=None, what="this statistic") -> Responses:
    """Validate a Recording or a ``(n_trials, n_units)`` response matrix (+ labels) into :class:`Responses`.

    Raises
    ------
    TypeError
        For an object that is neither, or a matrix of strings/objects.
    ValueError
        For a matrix that is not 2-D, is empty, holds negative, NaN or infinite
        values, or labels of the wrong length.
    """
    if isinstance(data, Recording):
        values, lab, units, duration, time_unit, seconds = _recording_responses(data, labels, condition)
    else:
        values, lab, units, duration, time_unit, seconds = _matrix_responses(data, labels, what)
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(f"{what} needs at least one trial and one unit, got {values.shape}")
    if lab is not None:
        conditions, index = np.unique(lab, return_inverse=True)
        index = index.astype(np.int64).ravel()
    else:
        conditions = index = None
    binary = values.dtype == bool or (values.dtype.kind in "iu" and values.max(initial=0) <= 1)
    return Responses(values, lab, conditions, index, units, duration, time_unit, bool(binary), seconds)


def _recording_responses(data, labels, condition):
    """A Recording's per-trial counts (or rates), labels, unit names and time base."""
    if labels is not None:
        lab = _labels(labels, data.n_trials)
    elif condition is not None or data.condition is not None:
        lab = data.conditions(condition)
    else:
        lab = None
    if data.is_binned and data.n_bins == 1 and "obs_intervals" not in data.units:
        counts = data.binned[:, :, 0]  # a layer's spike matrix: no copy
        observed = np.full((1, 1), data.bin_width)
    else:
        counts = data.trial_counts()
        observed = data.observed_duration()
    first = observed.flat[0] if observed.size else 0.0
    if observed.size and np.all(observed == first) and first > 0:
        values, duration = counts, float(first)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(observed > 0, counts / np.where(observed > 0, observed, 1.0), np.nan)
        duration = None
    units, time_unit = data.units["name"].tolist(), data.unit_name
    seconds = None if data.time_unit is sample else float(pq.Quantity(1.0, data.time_unit).rescale(pq.s).magnitude)
    return values, lab, units, duration, time_unit, seconds


def _matrix_responses(data, labels, what):
    """A validated (n_trials, n_units) response matrix (or DataFrame), its labels and unit names."""
    if isinstance(data, pd.DataFrame):
        units = [str(c) for c in data.columns]
        data = data.to_numpy()
    else:
        units = None
    if isinstance(data, (str, bytes, dict)) or not hasattr(data, "__len__") and not hasattr(data, "__array__"):
        raise TypeError(f"{what} takes an ann2neo.Recording or a (n_trials, n_units) array of responses, "
                        f"got {type(data).__name__}")
    values = np.asarray(data)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"responses must be numbers (counts or rates), got dtype {values.dtype}")
    if values.ndim != 2:
        raise ValueError(f"responses must have shape (n_trials, n_units), got {values.shape}; for a network "
                         "layer that is the (n_samples, n_nodes) spike matrix")
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError("responses contain NaN or Inf: a missing trial is not silence; drop those rows")
        if (values == np.round(values)).all() and values.size and np.abs(values).max() < 2 ** 31:
            values = values.astype(np.int64)
    if values.dtype.kind in "iuf" and values.size and values.min() < 0:
        raise ValueError("responses must be spike counts or rates >= 0")
    units = units or [f"unit {j}" for j in range(values.shape[1])]
    lab = None if labels is None else _labels(labels, values.shape[0])
    return values, lab, units, None, "trial", None


def _labels(labels, n):
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"labels must hold one condition per trial ({n}), got shape {lab.shape}")
    if lab.dtype.kind == "f" and not np.isfinite(lab).all():
        raise ValueError("labels contain NaN: every trial needs a condition (drop the unlabeled trials)")
    if lab.dtype == object and pd.isna(lab).any():
        raise ValueError("labels contain missing values: every trial needs a condition (drop those trials)")
    return lab


@dataclass
class CountMoments:
    r"""Sufficient statistics of spike counts over the trials of each condition.

    The one computation behind the across-trial Fano factor and the PSTH
    (:func:`ann2neo.trial_fano_factor`, :func:`ann2neo.psth` and
    :func:`ann2neo.trial_statistics`).  For integer counts the sums are exact:
    :math:`n^2 \mathrm{Var} = n \sum x^2 - (\sum x)^2` is formed in integers
    and rounded once.

    Attributes
    ----------
    n : ndarray of int64 (n_conditions,)
        Trials per condition.
    total : ndarray (n_conditions, ...)
        Sum of the counts over the condition's trials (int64, or float64 for float counts).
    ss : ndarray of float64 (n_conditions, ...)
        :math:`n \sum x^2 - (\sum x)^2`, that is :math:`n^2` times the variance with ddof=0.
    """

    n: np.ndarray
    total: np.ndarray
    ss: np.ndarray

    def _n(self):
        return self.n.reshape((-1,) + (1,) * (self.total.ndim - 1))

    def mean(self):
        """Mean count per condition; NaN for a condition without trials."""
        n = self._n()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, self.total / np.where(n > 0, n, 1), np.nan)

    def variance(self, ddof):
        """Variance of the counts with ``ddof``; NaN where a condition has ``ddof`` trials or fewer."""
        n = self._n()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > ddof, self.ss / (n * (n - ddof)), np.nan)

    def fano(self, ddof, min_trials=1):
        """Fano factor ``variance(ddof) / mean``; NaN where the mean is 0 or there are fewer than ``min_trials``."""
        mean, n = self.mean(), self._n()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((mean > 0) & (n >= min_trials), self.variance(ddof) / np.where(mean > 0, mean, 1),
                            np.nan)


def count_moments(x, index=None, n_conditions=1) -> CountMoments:
    """:class:`CountMoments` of counts ``x`` (n_trials, ...) per condition (``index`` (n_trials,) in 0..n-1).

    Without ``index`` all trials form one condition (and ``x`` is not copied).
    Trials whose index is outside ``0 .. n_conditions - 1`` count in none.
    Boolean counts (a layer's one-sample trials) are counted without a
    numeric copy; integer counts are summed exactly (Python integers where
    int64 could overflow).
    """
    x = np.asarray(x)
    shape = (n_conditions,) + x.shape[1:]
    n = np.zeros(n_conditions, dtype=np.int64)
    total = np.zeros(shape, dtype=np.float64 if x.dtype.kind == "f" else np.int64)
    ss = np.zeros(shape, dtype=np.float64)
    for c in range(n_conditions):
        xc = x if index is None else x[index == c]
        n[c] = k = xc.shape[0]
        if x.dtype == bool:
            s1 = np.count_nonzero(xc, axis=0).astype(np.int64)
            s2 = s1
        elif x.dtype.kind == "f":
            total[c] = xc.sum(axis=0)
            ss[c] = k * ((xc - total[c] / max(k, 1)) ** 2).sum(axis=0)
            continue
        else:
            s1 = xc.sum(axis=0, dtype=np.int64)
            s2 = (xc.astype(np.int64) ** 2).sum(axis=0)
        total[c] = s1
        if s1.size and (s1.max() >= 2 ** 31 or k * int(s2.max()) >= 2 ** 62):  # beyond int64: Python integers
            ss[c] = (k * s2.astype(object) - s1.astype(object) ** 2).astype(np.float64)
        else:
            ss[c] = k * s2 - s1 * s1
    return CountMoments(n, total, ss)


def bins_of(value, rec: Recording, name: str, *, whole=True):
    """A time span (``max_lag``, ``dt``) in the recording's time base, as a number of its bins or as a time.

    A quantity must be in the recording's time base: samples for a network layer
    (``5 * pq.ms`` raises :class:`ann2neo.UnitError`, since quantities would take
    it as 5 s), a physical time for recorded neurons (``5 * ann2neo.sample``
    raises).  A plain number is in the recording's time unit.

    Returns
    -------
    float
        The span in the time unit (``whole=False``), or an int number of bins
        (``whole=True``; raises ValueError unless it is a whole number of bins).
    """
    if isinstance(value, pq.Quantity) and rec.time_unit is sample:
        from ..core.units import is_sample_unit

        if not is_sample_unit(value):
            raise UnitError(f"{name} = {value} is not in samples, but this recording's time base is samples "
                            f"(ann2neo.sample): quantities would take a sample as 1 s; give {name} in samples")
    span = _in_unit(value, rec.time_unit, name)
    if span < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if not whole:
        return span
    width = rec.bin_width if rec.is_binned else None
    if width is None:
        raise ValueError(f"{name} in bins needs a binned recording; give bin_width")
    n = span / width
    if abs(n - round(n)) > 1e-9:
        raise ValueError(f"{name} = {value} is not a whole number of bins of {width} {rec.unit_name}")
    return int(round(n))


def trial_surrogates(data, labels=None, *, method="labels", seed=None, condition=None):
    """A control: the same trials with condition labels shuffled, or each unit's trials permuted within condition.

    Parameters
    ----------
    data : Recording or array_like (n_trials, n_units)
    labels : array_like (n_trials,), optional
        Conditions for a plain matrix (a Recording carries its own).
    method : {"labels", "within"}
        ``"labels"`` permutes the condition labels across trials (keeps every
        trial's population response; destroys tuning: the null of selectivity
        and decoding).  ``"within"`` permutes each unit's trials independently
        *within* each condition (keeps every unit's tuning and rate
        distribution per condition; destroys trial-by-trial co-variation: the
        null of noise correlations, and the signal-only baseline of total
        correlations and dimensionality).
    seed : None, int or numpy.random.Generator
    condition : str, optional
        The Recording's condition column (default: its own).

    Returns
    -------
    Recording, or (ndarray, ndarray)
        A Recording for a Recording (binned: the same bins; spike times:
        moved with their trial, relative to its ``t_start``), else the
        surrogate matrix and labels.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> xs, lab = trial_surrogates(x, [0, 0, 1, 1], method="within", seed=1)
    >>> sorted(xs[:2, 0].tolist()), lab.tolist()
    ([0, 1], [0, 0, 1, 1])
    """
    if method not in ("labels", "within"):
        raise ValueError(f"method must be 'labels' or 'within', got {method!r}")
    rng = check_random_state(seed)
    r = responses(data, labels, condition=condition, what="trial_surrogates")
    r.need_labels("a trial surrogate", min_conditions=1)
    n_trials, n_units = r.n_trials, r.n_units
    if method == "labels":
        perm = rng.permutation(n_trials)
        new_labels = r.labels[perm]
        if isinstance(data, Recording):
            column = condition or data.condition or "label"
            trials = data.trials.copy()
            trials[column] = new_labels
            out = data.select()
            out.trials = trials
            out.condition = column
            return out
        return np.asarray(r.values).copy(), new_labels
    # one trial order per unit, permuted within each condition
    order = np.empty((n_trials, n_units), dtype=np.int64)
    for c in range(len(r.conditions)):  # each unit's (column's) order permuted independently, one call per condition
        idx = np.flatnonzero(r.index == c)
        order[idx] = rng.permuted(np.broadcast_to(idx[:, None], (idx.size, n_units)), axis=0)
    if not isinstance(data, Recording):
        return np.take_along_axis(np.asarray(r.values), order, axis=0), r.labels.copy()
    common = dict(time_unit=data.time_unit, t_start=data.t_start, t_stop=data.t_stop, units=data.units,
                  trials=data.trials, condition=data.condition, annotations=data.annotations)
    if data.is_binned:
        b = data.binned[order, np.arange(n_units)[None, :], :]
        return Recording(binned=b, bin_width=data.bin_width, **common)
    if not np.allclose(data.duration, data.duration[0]):
        raise ValueError("permuting spike times between trials needs trials of one length")
    times = [[data.spike_times(order[k, u], u) - data.t_start[order[k, u]] + data.t_start[k]
              for u in range(n_units)] for k in range(n_trials)]
    return Recording(spike_times=times, **common)
