"""Change detection on a per-checkpoint indicator series: a two-sided CUSUM whose decision does not depend on speed.

:func:`detect_change` is the rule behind :class:`ann2neo.keras.FiringRateMonitor`
and the rule the memorization study (:mod:`ann2neo.experiments.memorization`)
evaluates offline: one pure function of one series of an indicator
(:func:`ann2neo.analysis.indicators.memorization_indicators`), one value per
checkpoint (epoch), so that the monitor's online decision and the offline
evaluation on the study's ``trajectories.csv`` are the same computation.

:func:`alarm_table` runs the rule on every run of a trajectories table;
:func:`false_alarm_rate` and :func:`detection_summary` turn that table into the
per-run false-alarm rate on clean runs (with its exact binomial confidence
interval) and the detection rate and delay on runs with label noise;
:func:`evaluate_rule` does both for every indicator and layer.

**The rule** (Page 1954; Montgomery 2019, section 9.1).  The first
``warmup`` checkpoints are never alarmed on; the last ``reference`` of them
give the series' *level* (their median) and its *scale*: the robust standard
deviation of their first differences,
``1.4826 * MAD(diff) / sqrt(2)`` (for independent noise around a level, a
difference has twice the noise variance; a linear trend shifts the differences'
median, not their MAD), floored at ``min_rel_scale * |level|`` and at
``min_scale``.  From checkpoint ``warmup`` on, each value becomes
``z_t = (x_t - level) / scale`` and two tabular CUSUMs cumulate it::

    upper_t = max(0, upper_{t-1} + z_t - k)      (rise)
    lower_t = max(0, lower_{t-1} - z_t - k)      (fall)

starting at 0; the alarm is the first checkpoint at which a watched CUSUM
exceeds ``h``.  The deviation is cumulated *from the warm-up level*, not per
step, so a change of a given size alarms whether it happens in one checkpoint
or slowly: a sustained deviation of ``d`` scales (``d > k``) adds ``d - k``
per checkpoint and crosses ``h`` after about ``h / (d - k)`` checkpoints once
it is reached, at any speed of approach.  The price is that a slow drift of a
clean run beyond ``k`` scales alarms too: the false-alarm rate per run is an
empirical number, measured by :func:`false_alarm_rate` on clean runs.

The defaults (``warmup=5``, ``reference=4``, ``k=2``, ``h=10``,
``min_rel_scale=0.05``, ``min_scale=0.01``) were fixed from first principles
and simulation before any evaluation on the study's runs: the warm-up skips
the untrained network (checkpoint 0) and takes the next four epochs as the
reference; the scale floor of 5 % of the level makes the design shift
``2 k`` scales (the textbook choice of ``k``: half the shift to detect) a
change of 20 % of the level, the audit's fall to 0.8 x, so changes below 10 %
of the level (``k`` floors) never alarm; ``h=10`` keeps the per-run false
alarms on a flat series of independent normal jitter, with level and scale
estimated from the 4-checkpoint reference, near 5 % in 35 checkpoints
(simulation, ``tests/analysis/test_changepoint.py``), and a sustained 20 %
change alarms about 5 checkpoints after it is reached.  ``min_scale=0.01``
is the absolute floor for indicators near 0 (a fraction of units).

References
----------
E. S. Page (1954). Continuous inspection schemes. Biometrika 41(1/2), 100-115.
D. C. Montgomery (2019). Introduction to Statistical Quality Control, 8th ed.,
Wiley, chapter 9 (the cumulative sum control chart).
D. Siegmund (1985). Sequential Analysis. Springer (the run-length approximation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.validation import check_integer, check_option, check_probability, check_real

__all__ = ["ChangeResult", "detect_change", "siegmund_arl", "alarm_table", "false_alarm_rate",
           "detection_summary", "evaluate_rule", "RULE_DEFAULTS"]

#: The default parameters of :func:`detect_change` (fixed before any evaluation on the study's runs).
RULE_DEFAULTS = {"warmup": 5, "reference": 4, "k": 2.0, "h": 10.0, "min_rel_scale": 0.05, "min_scale": 0.01}

_MAD_TO_SD = 1.482602218505602  # 1 / Phi^-1(3/4): the MAD of a normal sample estimates 0.6745 sigma


@dataclass(frozen=True)
class ChangeResult:
    """The decision of :func:`detect_change` on one series.

    Attributes
    ----------
    alarm : bool
        Whether a watched CUSUM exceeded ``h``.
    index : int
        Checkpoint (position in the series) of the first alarm; -1 without alarm.
    direction : {"fall", "rise"} or None
        Direction of the first alarm.
    statistic : ndarray of float (n_checkpoints,)
        The CUSUM path of the watched direction(s) (the larger of the two for
        ``"both"``); NaN during the warm-up.
    upper, lower : ndarray of float (n_checkpoints,)
        The rise and fall CUSUM paths (both computed whatever ``direction``);
        NaN during the warm-up.
    z : ndarray of float (n_checkpoints,)
        Standardized deviations ``(x - level) / scale``; NaN during the warm-up.
    level, scale : float
        Reference level and scale (NaN when undefined).
    start : int
        First checkpoint the rule decides on (``warmup``).
    params : dict
        The rule's parameters.
    notes : list of str
        Why there is no decision, or what was assumed (NaN checkpoints skipped, floor used).
    """

    alarm: bool
    index: int
    direction: str | None
    statistic: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    z: np.ndarray
    level: float
    scale: float
    start: int
    params: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def _series(values) -> np.ndarray:
    x = np.asarray(values)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"values must be a 1-D series of real numbers, got dtype {x.dtype}")
    x = x.astype(float)
    if x.ndim != 1:
        raise ValueError(f"values must be a 1-D series (one value per checkpoint), got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError("values must be finite (NaN marks an undefined checkpoint, which is skipped); got Inf")
    return x


def _cusum(z, k):
    """Tabular CUSUM paths of z along its last axis, NaN steps carrying the previous value."""
    z = np.asarray(z, float)
    upper, lower = np.empty_like(z), np.empty_like(z)
    up = np.zeros(z.shape[:-1])
    lo = np.zeros(z.shape[:-1])
    for t in range(z.shape[-1]):
        zt = z[..., t]
        ok = np.isfinite(zt)
        up = np.where(ok, np.maximum(0.0, up + np.where(ok, zt, 0.0) - k), up)
        lo = np.where(ok, np.maximum(0.0, lo - np.where(ok, zt, 0.0) - k), lo)
        upper[..., t], lower[..., t] = up, lo
    return upper, lower


def _reference(ref, min_rel_scale, min_scale, notes):
    """Level (median) and floored robust scale of the reference checkpoints."""
    finite = ref[np.isfinite(ref)]
    if finite.size < 2:
        notes.append(f"fewer than 2 defined values among the {ref.size} reference checkpoints: level and scale "
                     "undefined, no decision")
        return math.nan, math.nan
    level = float(np.median(finite))
    diff = np.diff(finite)
    mad = float(np.median(np.abs(diff - np.median(diff))))
    robust = _MAD_TO_SD * mad / math.sqrt(2.0)
    floor = max(min_rel_scale * abs(level), min_scale)
    if floor >= robust:
        notes.append(f"the warm-up's robust scale ({robust:.3g}) is below the floor max(min_rel_scale x |level|, "
                     f"min_scale) = {floor:.3g}: the floor is used")
    return level, max(robust, floor)


def detect_change(values, *, direction="both", warmup=RULE_DEFAULTS["warmup"],
                  reference=RULE_DEFAULTS["reference"], k=RULE_DEFAULTS["k"], h=RULE_DEFAULTS["h"],
                  min_rel_scale=RULE_DEFAULTS["min_rel_scale"], min_scale=RULE_DEFAULTS["min_scale"],
                  level=None, scale=None) -> ChangeResult:
    """Detect a sustained change of a per-checkpoint series away from its warm-up level (two-sided CUSUM).

    Parameters
    ----------
    values : array_like of float (n_checkpoints,)
        One indicator's series in checkpoint order (e.g. epochs 0, 1, ..., E).
        NaN marks an undefined checkpoint: it is skipped (the CUSUMs keep
        their value).
    direction : {"both", "fall", "rise"}, default "both"
        Which changes alarm.
    warmup : int, default 5
        Checkpoints at the start that are never alarmed on (checkpoint 0 is
        the untrained network in the study; a network's rates move most in
        its first epoch).  The rule decides from checkpoint ``warmup`` on.
    reference : int, default 4
        The last ``reference`` warm-up checkpoints (2 <= reference <= warmup)
        give the level (median) and scale (robust SD of their first
        differences).
    k : float, default 2.0
        Drift (allowance) in scales: deviations up to ``k`` scales are not
        cumulated.  Classic design: half the shift (in scales) to detect.
    h : float, default 10.0
        Decision threshold in scales: the alarm is the first checkpoint at
        which a CUSUM exceeds ``h``.
    min_rel_scale : float, default 0.05
        Floor of the scale relative to ``|level|``: with ``k=2``, a
        deviation of less than 10 % of the level never alarms.
    min_scale : float, default 0.01
        Absolute floor of the scale, in the indicator's units (0.01 suits
        indicators that are fractions or rates in [0, 1]).
    level, scale : float, optional
        A known level and/or scale instead of the warm-up's estimates (the
        floors are not applied to a given scale).

    Returns
    -------
    ChangeResult
        ``alarm``, ``index`` (first alarm checkpoint or -1), ``direction``
        ("fall", "rise" or None), ``statistic`` (CUSUM path), the paths
        ``upper``/``lower``, ``z``, ``level``, ``scale``, ``start``, ``params``
        and ``notes``.

    Raises
    ------
    TypeError
        If ``values`` are not real numbers or a parameter is not a number.
    ValueError
        If ``values`` is not 1-D or holds Inf, ``direction`` is unknown,
        ``warmup < 1``, ``reference`` is outside [2, warmup], ``k < 0``,
        ``h <= 0``, a floor is negative, or a given scale is not positive.

    Notes
    -----
    The rule assumes that the series' checkpoint-to-checkpoint jitter after
    the warm-up is of the order of the warm-up's (or below the floor), and
    that the warm-up level is the level of "no change".  A network still in
    its initial transient at the end of the warm-up (slow learning: few
    batches per epoch, a small learning rate) breaks the second assumption:
    the rule then alarms on the transient itself; set ``warmup`` past it.
    It is causal: its
    decision at checkpoint ``t`` uses checkpoints ``0..t`` only, so running it
    on a growing series (online) and on the complete series (offline) gives
    the same first alarm.  For independent normal noise of known scale the
    in-control average run length is given by Siegmund's approximation
    (:func:`siegmund_arl`); with an estimated scale from a short warm-up it
    is shorter, and for a real indicator, whose series drifts rather than
    jitters, the false-alarm rate per run is measured, not assumed
    (:func:`false_alarm_rate`).

    References: Page (1954), Biometrika 41, 100-115; Montgomery (2019),
    Introduction to Statistical Quality Control, 8th ed., section 9.1.

    Examples
    --------
    >>> x = np.r_[np.full(6, 0.5), np.full(8, 0.4)]          # a fall to 0.8 x the level
    >>> r = detect_change(x)                                  # scale: the floor, 5 % of 0.5; z = -4
    >>> r.alarm, r.index, r.direction, r.scale
    (True, 11, 'fall', 0.025)
    >>> slow = np.r_[np.full(6, 0.5), np.linspace(0.5, 0.4, 30), np.full(8, 0.4)]   # the same fall, 5 x slower
    >>> detect_change(slow).alarm
    True
    >>> detect_change(np.r_[np.full(6, 0.5), np.full(8, 0.6)], direction="fall").alarm
    False
    """
    x = _series(values)
    direction = check_option(direction, "direction", ("both", "fall", "rise"))
    warmup = check_integer(warmup, "warmup", min_value=1)
    reference = check_integer(reference, "reference", min_value=2, max_value=warmup)
    k = check_real(k, "k", min_value=0.0)
    h = check_real(h, "h", min_value=0.0, include_min=False)
    min_rel_scale = check_real(min_rel_scale, "min_rel_scale", min_value=0.0)
    min_scale = check_real(min_scale, "min_scale", min_value=0.0)
    params = {"direction": direction, "warmup": warmup, "reference": reference, "k": k, "h": h,
              "min_rel_scale": min_rel_scale, "min_scale": min_scale, "level": level, "scale": scale}
    notes = []
    n = x.size
    if level is not None:
        level = check_real(level, "level")
    if scale is not None:
        scale = check_real(scale, "scale", min_value=0.0, include_min=False)
    ref = x[max(0, warmup - reference):min(warmup, n)]
    if level is None or scale is None:
        est_level, est_scale = _reference(ref, min_rel_scale, min_scale, notes) if ref.size >= 2 else (math.nan,
                                                                                                        math.nan)
        level = est_level if level is None else level
        scale = est_scale if scale is None else scale
    nan = np.full(n, np.nan)
    if n <= warmup:
        notes.append(f"the series has {n} checkpoints, none after the warm-up of {warmup}: no decision yet")
        return ChangeResult(False, -1, None, nan, nan.copy(), nan.copy(), nan.copy(), float(level), float(scale),
                            warmup, params, notes)
    if not (np.isfinite(level) and np.isfinite(scale)):
        return ChangeResult(False, -1, None, nan, nan.copy(), nan.copy(), nan.copy(), float(level), float(scale),
                            warmup, params, notes)
    z = nan.copy()
    z[warmup:] = (x[warmup:] - level) / scale
    if np.isnan(z[warmup:]).any():
        notes.append(f"{int(np.isnan(z[warmup:]).sum())} undefined (NaN) checkpoint(s) after the warm-up were "
                     "skipped")
    upper, lower = nan.copy(), nan.copy()
    upper[warmup:], lower[warmup:] = _cusum(z[warmup:], k)
    watched = {"both": np.fmax(upper, lower), "rise": upper, "fall": lower}[direction]
    crossed = np.flatnonzero(watched > h)
    if crossed.size == 0:
        return ChangeResult(False, -1, None, watched, upper, lower, z, level, scale, warmup, params, notes)
    index = int(crossed[0])
    which = "rise" if (direction == "rise" or (direction == "both" and upper[index] > h)) else "fall"
    return ChangeResult(True, index, which, watched, upper, lower, z, level, scale, warmup, params, notes)


def siegmund_arl(k, h, shift=0.0) -> float:
    """Siegmund's approximation of a one-sided CUSUM's average run length, for independent unit-variance normals.

    Parameters
    ----------
    k, h : float
        The CUSUM's drift and threshold (in scales).
    shift : float, default 0.0
        The mean of the standardized series (0: in control).

    Returns
    -------
    float
        Average number of checkpoints to the first alarm of one CUSUM; the
        two-sided scheme's is ``1 / (1 / ARL_up + 1 / ARL_down)``.

    Notes
    -----
    ``ARL = (exp(-2 D b) + 2 D b - 1) / (2 D^2)`` with ``D = shift - k`` and
    ``b = h + 1.166`` (Siegmund 1985; Montgomery 2019, section 9.1.3); for
    ``D = 0`` it is ``b^2``.

    Examples
    --------
    >>> round(siegmund_arl(0.5, 5.0))
    938
    """
    k, h, shift = check_real(k, "k"), check_real(h, "h"), check_real(shift, "shift")
    delta, b = shift - k, h + 1.166
    if delta == 0:
        return b * b
    return (math.exp(-2 * delta * b) + 2 * delta * b - 1) / (2 * delta * delta)


# --------------------------------------------------------------------------- evaluation on trajectories

_ID_COLUMNS = ("run", "architecture", "dataset", "noise", "seed")


def _first_epoch(epochs, flags):
    hit = np.flatnonzero(np.asarray(flags, bool))
    return int(epochs[hit[0]]) if hit.size else None


def alarm_table(trajectories, indicator, layer=None, *, baseline_threshold=0.2, **rule_params):
    """Run :func:`detect_change` on every run of a trajectories table: one row per run (and layer).

    Parameters
    ----------
    trajectories : pandas.DataFrame
        The memorization study's ``trajectories.csv`` (one row per run x
        epoch x layer): at least ``run``, ``architecture``, ``dataset``,
        ``noise``, ``seed``, ``epoch``, ``layer``, the ``indicator`` column,
        ``memorizing`` and ``val_gap``.
    indicator : str
        The indicator column the rule watches (e.g. ``"mfr"``).
    layer : str, optional
        Only this layer; default every layer (one row per run and layer).
    baseline_threshold : float, default 0.2
        The validation baseline alarms at the first epoch with
        ``val_gap > baseline_threshold`` (the study's default gap threshold
        behind ``memorizing``).
    **rule_params
        Parameters of :func:`detect_change` (``direction``, ``warmup``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per run (and layer): ``run``, ``architecture``, ``dataset``,
        ``noise``, ``seed``, ``layer``, ``indicator``, ``alarm`` (bool),
        ``alarm_epoch``, ``direction``, ``first_memorizing_epoch`` (first
        epoch with ``memorizing``), ``baseline_epoch``, ``n_epochs``
        (checkpoints in the run), ``last_epoch``, ``note``.  Epochs are
        nullable integers (``<NA>``: never).

    Raises
    ------
    TypeError
        If ``trajectories`` is not a DataFrame.
    ValueError
        If a column is missing, ``layer`` is not in the table, or a run has
        an epoch twice for one layer.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"run": "r", "architecture": "mlp", "dataset": "digits", "noise": 0.4, "seed": 0,
    ...                   "epoch": range(12), "layer": "hidden", "mfr": [0.5] * 6 + [0.3] * 6,
    ...                   "memorizing": [False] * 8 + [True] * 4, "val_gap": [0.0] * 9 + [0.3] * 3})
    >>> print(alarm_table(t, "mfr")[["alarm", "alarm_epoch", "first_memorizing_epoch", "baseline_epoch"]]
    ...       .to_string(index=False))
     alarm  alarm_epoch  first_memorizing_epoch  baseline_epoch
      True            7                       8               9
    """
    import pandas as pd

    if not isinstance(trajectories, pd.DataFrame):
        raise TypeError(f"trajectories must be a pandas DataFrame (read trajectories.csv with pandas.read_csv), "
                        f"got {type(trajectories).__name__}")
    if not isinstance(indicator, str):
        raise TypeError(f"indicator must be a column name (str), got {indicator!r}")
    need = list(_ID_COLUMNS) + ["epoch", "layer", indicator, "memorizing", "val_gap"]
    missing = [c for c in need if c not in trajectories.columns]
    if missing:
        raise ValueError(f"trajectories lacks the column(s) {missing}; expected the study's trajectories.csv schema "
                         f"(docs: MEMORIZATION_INTERFACE / ann2neo memorization)")
    baseline_threshold = check_real(baseline_threshold, "baseline_threshold")
    frame = trajectories
    if layer is not None:
        if layer not in set(frame["layer"]):
            raise ValueError(f"layer {layer!r} is not in the table; its layers are {sorted(set(frame['layer']))}")
        frame = frame[frame["layer"] == layer]
    rows = []
    for (run, lay), part in frame.groupby(["run", "layer"], sort=True):
        part = part.sort_values("epoch")
        epochs = part["epoch"].to_numpy()
        if np.unique(epochs).size != epochs.size:
            raise ValueError(f"run {run!r}, layer {lay!r} has an epoch more than once; one row per run x epoch x "
                             f"layer expected")
        res = detect_change(part[indicator].to_numpy(float), **rule_params)
        first = part.iloc[0]
        rows.append({**{c: first[c] for c in _ID_COLUMNS}, "layer": lay, "indicator": indicator,
                     "alarm": bool(res.alarm), "alarm_epoch": int(epochs[res.index]) if res.alarm else None,
                     "direction": res.direction,
                     "first_memorizing_epoch": _first_epoch(epochs, part["memorizing"].fillna(False).astype(bool)),
                     "baseline_epoch": _first_epoch(epochs, part["val_gap"].to_numpy(float) > baseline_threshold),
                     "n_epochs": int(epochs.size), "last_epoch": int(epochs[-1]), "note": "; ".join(res.notes)})
    table = pd.DataFrame(rows, columns=list(_ID_COLUMNS) + [
        "layer", "indicator", "alarm", "alarm_epoch", "direction", "first_memorizing_epoch", "baseline_epoch",
        "n_epochs", "last_epoch", "note"])
    for col in ("alarm_epoch", "first_memorizing_epoch", "baseline_epoch"):
        table[col] = table[col].astype("Int64")
    table["alarm"] = table["alarm"].astype(bool)
    table["direction"] = table["direction"].astype(object).where(table["alarm"], None)
    return table


def _one_row_per_run(table, where):
    dup = table["run"].duplicated()
    if dup.any():
        raise ValueError(f"{where}: run {table['run'][dup].iloc[0]!r} has more than one row (several layers?); "
                         f"pass alarm_table(..., layer=...) so that each run counts once")


def _clopper_pearson(k, n, confidence):
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def false_alarm_rate(table, confidence=0.95):
    """Per-run false-alarm rate on clean runs (noise == 0) with its Clopper-Pearson confidence interval.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`alarm_table` for one layer (one row per run).
    confidence : float, default 0.95

    Returns
    -------
    tuple of (float, float, float, int)
        ``(rate, ci_low, ci_high, n_runs)``: the fraction of clean runs with
        an alarm (any alarm on a clean run is a false alarm), its exact
        binomial interval (:meth:`scipy.stats.BinomTestResult.proportion_ci`,
        ``method="exact"``) and the number of clean runs.

    Raises
    ------
    ValueError
        If the table has no clean run or a run appears twice.

    Notes
    -----
    The runs are treated as independent Bernoulli trials (separate seeds).
    With ``n`` runs and no alarm the upper bound is ``1 - (alpha/2)^(1/n)``
    (3.7/n for 95 %): at least 30 clean runs are needed for a bound near 12 %.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"run": list("abcd"), "noise": [0.0, 0.0, 0.0, 0.4], "alarm": [True, False, False, True]})
    >>> rate, lo, hi, n = false_alarm_rate(t)
    >>> round(rate, 3), round(lo, 4), round(hi, 4), n
    (0.333, 0.0084, 0.9057, 3)
    """
    confidence = check_probability(confidence, "confidence")
    for c in ("run", "noise", "alarm"):
        if c not in table.columns:
            raise ValueError(f"table lacks the column {c!r}: pass the output of alarm_table")
    clean = table[table["noise"] == 0]
    if clean.empty:
        raise ValueError("the table has no clean run (noise == 0): a false-alarm rate needs runs without label noise")
    _one_row_per_run(clean, "false_alarm_rate")
    n, k = len(clean), int(clean["alarm"].astype(bool).sum())
    low, high = _clopper_pearson(k, n, confidence)
    return k / n, low, high, n


def detection_summary(table, confidence=0.95):
    """Detection rate and delay of the rule and of the validation baseline on runs with label noise.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`alarm_table` for one layer (one row per run).
    confidence : float, default 0.95
        Level of the Clopper-Pearson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per noise level > 0: ``noise``, ``n_runs``, ``n_memorizing``
        (runs whose ``memorizing`` became true), ``detected`` (memorizing runs
        with an alarm), ``detection_rate`` with ``ci_low``/``ci_high``,
        ``early`` (alarms before the first memorizing epoch),
        ``median_delay`` (alarm epoch minus first memorizing epoch, over
        detected runs), ``baseline_detected`` (memorizing runs on which
        ``val_gap`` crossed its threshold), ``median_baseline_delay``
        (baseline epoch minus first memorizing epoch), ``median_delay_vs_baseline``
        (alarm epoch minus baseline epoch, over runs with both),
        ``alarm_not_memorizing`` (alarms on runs that never memorize), ``note``.

    Raises
    ------
    ValueError
        If a run appears twice or a column of :func:`alarm_table` is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"run": list("ab"), "noise": [0.4, 0.4], "alarm": [True, False],
    ...                   "alarm_epoch": pd.array([7, None], "Int64"),
    ...                   "first_memorizing_epoch": pd.array([8, 9], "Int64"),
    ...                   "baseline_epoch": pd.array([9, 12], "Int64")})
    >>> print(detection_summary(t)[["n_memorizing", "detected", "detection_rate", "median_delay"]]
    ...       .to_string(index=False))
     n_memorizing  detected  detection_rate  median_delay
                2         1             0.5          -1.0
    """
    import pandas as pd

    confidence = check_probability(confidence, "confidence")
    for c in ("run", "noise", "alarm", "alarm_epoch", "first_memorizing_epoch", "baseline_epoch"):
        if c not in table.columns:
            raise ValueError(f"table lacks the column {c!r}: pass the output of alarm_table")
    noisy = table[table["noise"] > 0]
    _one_row_per_run(noisy, "detection_summary")
    rows = []
    for noise, part in noisy.groupby("noise", sort=True):
        mem = part[part["first_memorizing_epoch"].notna()]
        det = mem[mem["alarm"].astype(bool)]
        delay = (det["alarm_epoch"] - det["first_memorizing_epoch"]).astype(float)
        both = det[det["baseline_epoch"].notna()]
        vs_base = (both["alarm_epoch"] - both["baseline_epoch"]).astype(float)
        base = mem[mem["baseline_epoch"].notna()]
        base_delay = (base["baseline_epoch"] - base["first_memorizing_epoch"]).astype(float)
        never = part[part["first_memorizing_epoch"].isna()]
        note = []
        if len(mem) < len(part):
            note.append(f"{len(part) - len(mem)} run(s) never memorizing: left out of the rate")
        if len(mem):
            rate = len(det) / len(mem)
            low, high = _clopper_pearson(len(det), len(mem), confidence)
        else:
            rate = low = high = math.nan
            note.append("no run memorizes at this noise: detection rate undefined")
        rows.append({"noise": float(noise), "n_runs": len(part), "n_memorizing": len(mem), "detected": len(det),
                     "detection_rate": rate, "ci_low": low, "ci_high": high,
                     "early": int((delay < 0).sum()),
                     "median_delay": float(delay.median()) if len(delay) else math.nan,
                     "baseline_detected": int(mem["baseline_epoch"].notna().sum()),
                     "median_baseline_delay": float(base_delay.median()) if len(base_delay) else math.nan,
                     "median_delay_vs_baseline": float(vs_base.median()) if len(vs_base) else math.nan,
                     "alarm_not_memorizing": int(never["alarm"].astype(bool).sum()),
                     "note": "; ".join(note)})
    return pd.DataFrame(rows, columns=["noise", "n_runs", "n_memorizing", "detected", "detection_rate", "ci_low",
                                       "ci_high", "early", "median_delay", "baseline_detected",
                                       "median_baseline_delay", "median_delay_vs_baseline",
                                       "alarm_not_memorizing", "note"])


def _evaluate_one(frame, ind, lay, baseline_threshold, confidence, rule_params):
    table = alarm_table(frame, ind, lay, baseline_threshold=baseline_threshold, **rule_params)
    row = {"indicator": ind, "layer": lay}
    clean = table[table["noise"] == 0]
    if len(clean):
        rate, low, high, n = false_alarm_rate(table, confidence)
        row.update(n_clean=n, false_alarms=int(clean["alarm"].sum()), false_alarm_rate=rate, fa_ci_low=low,
                   fa_ci_high=high, baseline_false_alarms=int(clean["baseline_epoch"].notna().sum()))
        if n < 30:
            row["note"] = f"only {n} clean runs (< 30): the false-alarm interval is wide"
    pooled = table[table["noise"] > 0].assign(noise=1.0)
    if len(pooled):
        s = detection_summary(pooled, confidence).iloc[0]
        row.update(n_noisy=int(s["n_runs"]), n_memorizing=int(s["n_memorizing"]), detected=int(s["detected"]),
                   detection_rate=s["detection_rate"], det_ci_low=s["ci_low"], det_ci_high=s["ci_high"],
                   early=int(s["early"]), median_delay=s["median_delay"],
                   baseline_detected=int(s["baseline_detected"]), median_baseline_delay=s["median_baseline_delay"],
                   median_delay_vs_baseline=s["median_delay_vs_baseline"],
                   alarm_not_memorizing=int(s["alarm_not_memorizing"]))
    return row


def evaluate_rule(trajectories, indicators=None, layers=None, *, by=(), complete_only=True, baseline_threshold=0.2,
                  confidence=0.95, **rule_params):
    """False-alarm and detection measurement of :func:`detect_change` for every indicator and layer.

    Parameters
    ----------
    trajectories : pandas.DataFrame
        The study's trajectories table (see :func:`alarm_table`).
    indicators : sequence of str, optional
        Default the :data:`~ann2neo.analysis.indicators.INDICATORS` present.
    layers : sequence of str, optional
        Default every layer in the table.
    by : sequence of str, default ()
        Columns to break the evaluation down by (e.g. ``("architecture",
        "dataset")``); default: pool all runs of a layer.
    complete_only : bool, default True
        Leave out runs whose last epoch is below the largest last epoch of
        their architecture and dataset (runs still being written by a
        resuming study).
    baseline_threshold, confidence : float
        As in :func:`alarm_table` and :func:`false_alarm_rate`.
    **rule_params
        Parameters of :func:`detect_change`.

    Returns
    -------
    pandas.DataFrame
        One row per indicator and layer (and ``by`` group, its columns
        first): ``indicator``, ``layer``, ``n_clean``, ``false_alarms``,
        ``false_alarm_rate``, ``fa_ci_low``, ``fa_ci_high``,
        ``baseline_false_alarms`` (clean runs whose ``val_gap`` crossed the
        baseline threshold), then the columns of :func:`detection_summary`
        pooled over all noise levels > 0 (``n_noisy``, ``n_memorizing``,
        ``detected``, ``detection_rate``, ``det_ci_low``, ``det_ci_high``,
        ``early``, ``median_delay`` in epochs after the first memorizing
        epoch, ``baseline_detected``, ``median_baseline_delay``,
        ``median_delay_vs_baseline``, ``alarm_not_memorizing``), ``note``
        (incomplete runs left out; fewer than 30 clean runs).

    Raises
    ------
    ValueError
        As :func:`alarm_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"run": "r", "architecture": "mlp", "dataset": "digits", "noise": 0.0, "seed": 0,
    ...                   "epoch": range(12), "layer": "hidden", "mfr": 0.5, "memorizing": False, "val_gap": 0.0})
    >>> print(evaluate_rule(t, ["mfr"])[["indicator", "n_clean", "false_alarms", "fa_ci_high"]]
    ...       .to_string(index=False))
    indicator  n_clean  false_alarms  fa_ci_high
          mfr        1             0       0.975
    """
    import pandas as pd

    from .indicators import INDICATORS

    if indicators is None:
        indicators = [c for c in INDICATORS if c in trajectories.columns]
    layers = sorted(set(trajectories["layer"])) if layers is None else list(layers)
    frame = trajectories
    note = ""
    if complete_only:
        last = frame.groupby("run")["epoch"].max()
        meta = frame.groupby("run")[["architecture", "dataset"]].first()
        full = last.groupby([meta["architecture"], meta["dataset"]]).transform("max")
        keep = last.index[last == full]
        if len(keep) < len(last):
            note = f"{len(last) - len(keep)} incomplete run(s) left out"
        frame = frame[frame["run"].isin(keep)]
    by = list(by)
    groups = frame.groupby(by, sort=True) if by else [((), frame)]
    rows = []
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        for ind in indicators:
            for lay in layers:
                if lay not in set(part["layer"]):
                    continue
                row = dict(zip(by, key, strict=True))
                row.update(_evaluate_one(part, ind, lay, baseline_threshold, confidence, rule_params))
                row["note"] = "; ".join(n for n in (note, row.get("note", "")) if n)
                rows.append(row)
    columns = [*by, "indicator", "layer", "n_clean", "false_alarms", "false_alarm_rate", "fa_ci_low", "fa_ci_high",
               "baseline_false_alarms", "n_noisy", "n_memorizing", "detected", "detection_rate", "det_ci_low",
               "det_ci_high", "early", "median_delay", "baseline_detected", "median_baseline_delay",
               "median_delay_vs_baseline", "alarm_not_memorizing", "note"]
    return pd.DataFrame(rows).reindex(columns=columns)
