r"""Statistics across trials: rates per trial and condition, the across-trial Fano factor, the PSTH.

A neuroscience experiment repeats a stimulus (a trial) under conditions
(a movement direction); a network sees input samples (one-bin trials) of
classes.  Given an :class:`ann2neo.Recording`, :func:`trial_statistics`
reports per **unit** (by name):

* the rate in each trial: spikes over the trial's observed time (the unit's
  ``obs_intervals`` honoured), in Hz, or spikes/sample;
* per condition: the mean of the trial rates, its standard error
  (std with ddof=1 over trials / sqrt(n_trials)) and ``n_trials``;
* the across-trial **Fano factor** of the trial spike counts,
  :math:`F = \mathrm{Var}(N_k)/\mathrm{E}(N_k)` (ddof=0 by default, as
  Elephant's ``fanofactor``; Churchland et al. 2010, Nat Neurosci 13:369),
  overall and per condition;
* for trials of several bins, the **PSTH** per condition: the mean rate over
  the condition's trials in bins aligned at each trial's start (equal to
  ``elephant.statistics.time_histogram(trains, bin_size, output="rate")``).

The Fano factor and the PSTH are those of :func:`ann2neo.trial_fano_factor`
and :func:`ann2neo.psth`, computed by the same code
(``ann2neo.analysis._trials.count_moments``, exact for integer counts);
here the Fano factor of a condition with fewer than 2 trials is NaN, where
``trial_fano_factor`` with ddof=0 gives Elephant's 0.

The within-trial statistics (Fano factor in windows, CV and LV of the ISIs
pooled within trials) are :func:`ann2neo.node_statistics`'s.

Examples
--------
>>> import numpy as np, quantities as pq
>>> from ann2neo import Recording
>>> rec = Recording.from_binned(np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]], bool), 1 * pq.ms,
...                             trials={"side": ["L", "R", "L"]}, condition="side")
>>> t = trial_statistics(rec)
>>> t.conditions[["unit", "side", "n_trials", "rate"]].values.tolist()
[['unit 0', 'L', 2, 750.0], ['unit 0', 'R', 1, 250.0]]
>>> round(float(t.units["fano_factor_trials"].iloc[0]), 4)  # counts 2, 1, 4
0.6667
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import quantities as pq

from ..core.recording import Recording
from ..core.units import sample
from ..core.validation import check_integer
from ._trials import count_moments
from .conditioned import _psth_arrays

__all__ = ["TrialStatistics", "trial_statistics"]


@dataclass
class TrialStatistics:
    """Result of :func:`trial_statistics`.

    Attributes
    ----------
    units : pandas.DataFrame
        One row per unit: ``unit`` (name), ``n_trials``, ``rate`` (mean of the
        trial rates), ``rate_se``, ``mean_count``, ``fano_factor_trials``,
        ``note``.
    conditions : pandas.DataFrame or None
        One row per unit and condition value: ``unit``, the condition column
        (its value), ``n_trials``, ``rate``, ``rate_se``, ``mean_count``,
        ``fano_factor_trials``.  None without a condition.
    trials : pandas.DataFrame or None
        One row per trial and unit: ``trial``, the condition, ``unit``,
        ``t_start``, ``t_stop`` (time unit), ``n_spikes``, ``duration``
        (observed), ``rate``.  None when not asked for (a network layer's
        60,000 one-bin trials).
    psth : pandas.DataFrame or None
        One row per unit, condition value and bin: ``unit``, the condition,
        ``bin_start``, ``bin_stop`` (time unit, from the trials' common start or
        relative to each trial's start), ``n_trials``, ``rate``.  None for
        one-bin trials.
    condition : str or None
    rate_unit : str
        ``"Hz"`` or ``"1/sample"``.
    time_unit : str
        The time unit of ``t_start``, ``t_stop`` and the PSTH bins.
    ddof : int
    """

    units: pd.DataFrame
    conditions: pd.DataFrame | None
    trials: pd.DataFrame | None
    psth: pd.DataFrame | None
    condition: str | None
    rate_unit: str
    time_unit: str
    ddof: int


def _se(values):
    values = np.asarray(values, dtype=np.float64)
    return float(values.std(ddof=1) / np.sqrt(values.size)) if values.size >= 2 else float("nan")


def _seconds_per_unit(rec):
    return 1.0 if rec.time_unit is sample else float(pq.Quantity(1.0, rec.time_unit).rescale(pq.s).magnitude)


def trial_statistics(recording: Recording, *, condition=None, ddof=0, per_trial=True, psth_bin=None):
    """Rates per trial and condition, the across-trial Fano factor and the PSTH of every unit.

    Parameters
    ----------
    recording : ann2neo.Recording
    condition : str, optional
        Column of ``recording.trials`` to group by; default ``recording.condition``.
    ddof : {0, 1}, default 0
        Variance of the across-trial Fano factor (0 as Elephant).
    per_trial : bool, default True
        Also return the table of every trial (False for a network layer's
        many one-bin trials).
    psth_bin : float or pq.Quantity, optional
        PSTH bin width in the recording's time unit (a whole multiple of its
        bins for binned storage).  Default: the recording's own bins, or 20
        bins per trial for spike-time storage.  No PSTH for one-bin trials.

    Returns
    -------
    TrialStatistics

    Raises
    ------
    TypeError
        If ``recording`` is not an :class:`ann2neo.Recording`.
    ValueError
        For an unknown condition column or a PSTH bin that does not fit.

    Examples
    --------
    >>> import numpy as np, quantities as pq
    >>> from ann2neo import Recording
    >>> rec = Recording.from_binned(np.eye(4, 2, dtype=bool), 1 * pq.s)
    >>> trial_statistics(rec).units[["unit", "n_trials", "rate"]].values.tolist()
    [['unit 0', 4, 0.25]]
    """
    if not isinstance(recording, Recording):
        raise TypeError(f"trial_statistics needs an ann2neo.Recording, got {type(recording).__name__}")
    ddof = check_integer(ddof, "ddof", min_value=0, max_value=1)
    rec = recording
    column = condition or rec.condition
    values = rec.conditions(column) if column is not None else None
    levels, index = _condition_index(values)
    to_rate = _seconds_per_unit(rec)
    rate_unit = "Hz" if rec.time_base == "physical" else "1/sample"
    names = rec.units["name"].tolist()
    observed = "obs_intervals" in rec.units and any(v is not None for v in rec.units["obs_intervals"])
    # One-bin boolean trials (a network layer): counts are 0/1, so their moments come from the spike
    # count alone, without an int64 (n_trials, n_units) table (1 GB for 60,000 samples x 2,048 nodes).
    flags = rec.is_binned and rec.n_bins == 1 and rec.binned.dtype == bool and not observed
    equal = not observed and (not rec.n_trials or np.allclose(rec.duration, rec.duration[0], rtol=1e-9))
    counts = duration = rates = None
    if not flags or per_trial:
        counts = rec.trial_counts()
        duration = rec.observed_duration()
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = counts / (duration * to_rate)
    x = rec.binned[:, :, 0] if flags else counts
    width = (float(rec.duration[0]) * to_rate if rec.n_trials else np.nan) if equal else None

    note = "" if equal else "trials differ in observed duration: the Fano factor of their counts mixes lengths"
    n_all, rate, se, mean, ff = _moments(x, None, 1, ddof, width, rates)
    units = pd.DataFrame({"unit": names, "n_trials": np.full(rec.n_units, n_all[0], dtype=np.int64),
                          "rate": rate[0], "rate_se": se[0], "mean_count": mean[0], "fano_factor_trials": ff[0],
                          "note": note})
    cond_table = None
    if values is not None:
        n, rate, se, mean, ff = _moments(x, index, len(levels), ddof, width, rates)
        cond_table = pd.DataFrame([{"unit": name, column: value, "n_trials": int(n[c]), "rate": float(rate[c, u]),
                                    "rate_se": float(se[c, u]), "mean_count": float(mean[c, u]),
                                    "fano_factor_trials": float(ff[c, u])}
                                   for c, value in enumerate(levels) for u, name in enumerate(names)])
    trial_table = None
    if per_trial:
        k = np.repeat(np.arange(rec.n_trials), rec.n_units)
        u = np.tile(np.arange(rec.n_units), rec.n_trials)
        trial_table = pd.DataFrame({"trial": k})
        if column is not None:
            trial_table[column] = values[k]
        trial_table["unit"] = np.asarray(names, dtype=object)[u]
        trial_table["t_start"] = rec.t_start[k]
        trial_table["t_stop"] = rec.t_stop[k]
        trial_table["n_spikes"] = counts[k, u]
        trial_table["duration"] = duration[k, u]
        trial_table["rate"] = rates[k, u]
    psth = _psth(rec, column, levels, index, psth_bin, to_rate)
    return TrialStatistics(units=units, conditions=cond_table, trials=trial_table, psth=psth, condition=column,
                           rate_unit=rate_unit, time_unit=rec.unit_name, ddof=ddof)


def _condition_index(values):
    """The condition values in sorted order and each trial's position among them (-1: a missing value)."""
    if values is None:
        return [None], None
    levels = pd.unique(pd.Series(values).sort_values())
    index = np.full(len(values), -1, dtype=np.int64)
    for c, value in enumerate(levels):
        index[values == value] = c
    return levels, index


def _moments(x, index, n_conditions, ddof, width, rates):
    """Per condition and unit: n trials, mean rate, its standard error, mean count, across-trial Fano factor.

    ``x`` are the counts per trial (n_trials, n_units), ``width`` the one trial
    length in seconds (or samples), None when trials differ in observed
    duration: the rates are then the means of the trial ``rates``.
    """
    m = count_moments(x, index, n_conditions)
    mean, ff = m.mean(), m.fano(ddof, min_trials=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        if width is not None:
            rate = mean / width
            se = np.sqrt(m.variance(1)) / np.sqrt(m.n[:, None]) / width
        else:
            groups = [rates] if index is None else [rates[index == c] for c in range(n_conditions)]
            rate = np.array([r.mean(axis=0) for r in groups])
            se = np.array([[_se(r[:, u]) for u in range(r.shape[1])] for r in groups])
    return m.n, rate, se, mean, ff


def _psth(rec, column, levels, index, psth_bin, to_rate):
    """Mean rate per bin over each condition's trials, bins aligned at each trial's start (:func:`ann2neo.psth`)."""
    if rec.is_binned and rec.n_bins == 1 and psth_bin is None:
        return None
    if rec.n_trials == 0 or not np.allclose(rec.duration, rec.duration[0], rtol=1e-9):
        return None
    if psth_bin is None:
        width = rec.bin_width if rec.is_binned else rec.duration[0] / 20
    elif isinstance(psth_bin, pq.Quantity):
        from ..core.recording import _in_unit

        width = _in_unit(psth_bin, rec.time_unit, "psth_bin")
    else:
        width = float(psth_bin)
    binned = rec.counts(width)  # (n_trials, n_units, n_bins)
    rate, _, n = _psth_arrays(binned, index, len(levels), width * to_rate)
    common = np.allclose(rec.t_start, rec.t_start[0])
    origin = rec.t_start[0] if common else 0.0
    starts = origin + np.arange(binned.shape[2]) * width
    frames = []
    for c, value in enumerate(levels):
        for u, name in enumerate(rec.units["name"]):
            frame = pd.DataFrame({"unit": name, "bin_start": starts, "bin_stop": starts + width, "n_trials": n[c],
                                  "rate": rate[c, u]})
            if column is not None:
                frame.insert(1, column, value)
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.attrs.update(aligned="trials' common start" if common else "each trial's start", bin_width=width)
    return table
