"""Analysis of the memorization study: AUROC, cluster bootstrap, lead/lag, figures and ``report.md``.

Everything here reads the study's trajectories table (one row per run x
epoch x layer, :data:`ann2neo.experiments.memorization.TRAJECTORY_COLUMNS`).
The AUROC is scikit-learn's :func:`~sklearn.metrics.roc_auc_score`; the
cluster bootstrap over seeds uses an exact closed form of the same weighted
AUROC (:func:`cluster_bootstrap_auroc`, tested equal to ``roc_auc_score``
with ``sample_weight``).  Nothing peeks: the direction of an indicator (does
it rise or fall with memorization) and every alarm threshold are chosen on
the training folds of a leave-one-seed-out split and applied to the
held-out seed.  matplotlib is imported inside the figure functions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.indicators import INDICATORS

__all__ = ["auroc", "choose_direction", "cluster_auroc_counts", "cluster_bootstrap_auroc", "add_relative_scores",
           "checkpoint_scores", "oof_oriented", "oof_combination", "auroc_table", "first_epoch", "lead_lag",
           "lead_lag_summary", "goal_table", "analyze_study", "SCORE_KINDS", "SUBSETS"]

#: Suffix of each score variant: the raw indicator, divided by its epoch-1 value, minus its epoch-1 value.
SCORE_KINDS = {"": "indicator", "_rel": "relative (/ epoch 1)", "_delta": "delta (- epoch 1)"}
BASELINE = "val_gap"
COMBINATION = "combination"
#: The trivial reference: the epoch number itself (a clock that knows nothing about the network).
CLOCK = "epoch"
KEYS = ["run", "architecture", "dataset", "noise", "seed", "epoch"]


def auroc(y, score, sample_weight=None) -> float:
    """AUROC of ``score`` for the boolean ``y``: :func:`sklearn.metrics.roc_auc_score`, NaN with one class.

    Parameters
    ----------
    y : array_like of bool (n,)
    score : array_like of float (n,)
        Higher means "positive".  Must be finite.
    sample_weight : array_like (n,), optional

    Returns
    -------
    float
        In [0, 1]; NaN when ``y`` (with positive weight) holds one class only.

    Examples
    --------
    >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, bool)
    w = np.ones(y.size) if sample_weight is None else np.asarray(sample_weight, float)
    if not (w[y] > 0).any() or not (w[~y] > 0).any():
        return np.nan
    return float(roc_auc_score(y, np.asarray(score, float), sample_weight=sample_weight))


def choose_direction(y, score) -> int:
    """+1 if ``score`` rises with ``y`` (AUROC >= 0.5 on these data), -1 if it falls; +1 when undefined.

    Examples
    --------
    >>> choose_direction([0, 0, 1, 1], [3.0, 2.0, 1.0, 0.0])
    -1
    """
    a = auroc(y, score)
    return -1 if np.isfinite(a) and a < 0.5 else 1


def cluster_auroc_counts(y, score, groups):
    """The sufficient statistics of a cluster-weighted AUROC.

    Parameters
    ----------
    y : array_like of bool (n,)
    score : array_like of float (n,)
    groups : array_like (n,)
        Cluster of each sample (e.g. its seed).

    Returns
    -------
    labels : ndarray (k,)
        The clusters, sorted.
    wins : ndarray (k, k)
        ``wins[a, b]``: over positives of cluster ``a`` and negatives of
        cluster ``b``, the pairs the positive outranks (ties count 1/2).
    n_pos, n_neg : ndarray (k,)
        Positives and negatives per cluster.

    Notes
    -----
    With cluster weights ``w``, the weighted AUROC is
    ``w @ wins @ w / ((w @ n_pos) * (w @ n_neg))``, which is
    ``roc_auc_score(y, score, sample_weight=w[cluster])`` exactly.
    """
    y = np.asarray(y, bool)
    s = np.asarray(score, float)
    g = np.asarray(groups)
    labels = np.unique(g)
    k = labels.size
    wins = np.zeros((k, k))
    negs = [np.sort(s[(g == lab) & ~y]) for lab in labels]
    for a, lab in enumerate(labels):
        pos = s[(g == lab) & y]
        if pos.size == 0:
            continue
        for b in range(k):
            neg = negs[b]
            below = np.searchsorted(neg, pos, side="left")
            ties = np.searchsorted(neg, pos, side="right") - below
            wins[a, b] = below.sum() + 0.5 * ties.sum()
    n_pos = np.array([((g == lab) & y).sum() for lab in labels], float)
    n_neg = np.array([((g == lab) & ~y).sum() for lab in labels], float)
    return labels, wins, n_pos, n_neg


def cluster_bootstrap_auroc(y, score, groups, n_boot=1000, seed=0, level=0.95):
    """Percentile confidence interval of the AUROC by resampling clusters (e.g. seeds) with replacement.

    Parameters
    ----------
    y : array_like of bool (n,)
    score : array_like of float (n,)
    groups : array_like (n,)
        Cluster of each sample; whole clusters are resampled.
    n_boot : int, default 1000
        Bootstrap draws.
    seed : int, default 0
    level : float, default 0.95

    Returns
    -------
    low, high : float
        Percentile interval of the draws with a defined AUROC (NaN if none or ``n_boot == 0``).
    draws : ndarray (n_boot,)
        Each draw's AUROC (NaN when a draw holds one class only).

    Notes
    -----
    A draw of cluster counts ``w`` gives the AUROC of the samples repeated
    ``w`` times, i.e. ``roc_auc_score`` with ``sample_weight = w[cluster]``,
    computed from :func:`cluster_auroc_counts` in closed form.  With few
    clusters the interval is coarse (it cannot be wider than the clusters
    vary).

    Examples
    --------
    >>> low, high, draws = cluster_bootstrap_auroc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], [0, 0, 1, 1], 50)
    >>> low, high
    (1.0, 1.0)
    """
    _, wins, n_pos, n_neg = cluster_auroc_counts(y, score, groups)
    k = n_pos.size
    if k == 0 or n_boot == 0:
        return np.nan, np.nan, np.full(int(n_boot), np.nan)
    rng = np.random.default_rng(seed)
    w = rng.multinomial(k, np.full(k, 1.0 / k), size=int(n_boot)).astype(float)  # (n_boot, k)
    num = np.einsum("ia,ab,ib->i", w, wins, w)
    den = (w @ n_pos) * (w @ n_neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    ok = draws[np.isfinite(draws)]
    if ok.size == 0:
        return np.nan, np.nan, draws
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(ok, [tail, 100 - tail])
    return float(low), float(high), draws


def add_relative_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``<indicator>_rel`` (value / its epoch-1 value) and ``<indicator>_delta`` (value - epoch-1 value).

    Per run and layer; training data only (the epoch-1 value is the same
    probe's).  ``_rel`` is NaN where the epoch-1 value is 0 or undefined.

    Returns
    -------
    pandas.DataFrame
        A copy with ``2 * len(INDICATORS)`` more columns.

    Examples
    --------
    >>> values = {k: [1.0, 2.0, 3.0] for k in INDICATORS}
    >>> t = pd.DataFrame({"run": "r", "layer": "hidden", "epoch": [0, 1, 2], **values})
    >>> add_relative_scores(t)[["mfr_rel", "mfr_delta"]].to_numpy().tolist()
    [[0.5, -1.0], [1.0, 0.0], [1.5, 1.0]]
    """
    out = table.copy()
    first = out[out["epoch"] == 1].set_index(["run", "layer"])[list(INDICATORS)]
    ref = first.reindex(pd.MultiIndex.from_frame(out[["run", "layer"]])).to_numpy(float)
    values = out[list(INDICATORS)].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(ref != 0, values / np.where(ref != 0, ref, 1), np.nan)
    new = {}
    for j, k in enumerate(INDICATORS):
        new[k + "_rel"] = rel[:, j]
        new[k + "_delta"] = values[:, j] - ref[:, j]
    return pd.concat([out, pd.DataFrame(new, index=out.index)], axis=1)


def checkpoint_scores(table: pd.DataFrame) -> list:
    """Names of the score columns present: indicators and their ``_rel``/``_delta`` variants."""
    return [k + suffix for suffix in SCORE_KINDS for k in INDICATORS if k + suffix in table]


def oof_oriented(frame: pd.DataFrame, score: str, label="memorizing", group="seed"):
    """Leave-one-group-out orientation of a score: the direction is chosen on the other groups.

    Parameters
    ----------
    frame : pandas.DataFrame
        Checkpoints with ``score``, ``label`` and ``group`` columns (finite scores).
    score : str

    Returns
    -------
    oriented : ndarray (n,)
        ``direction * score`` with the direction of the fold that held the row out.
    directions : dict
        ``{group: +1 or -1}``.

    Examples
    --------
    >>> f = pd.DataFrame({"s": [1.0, 0.0, 2.0, 0.5], "memorizing": [False, True, False, True],
    ...                   "seed": [0, 0, 1, 1]})
    >>> oof_oriented(f, "s")[1]
    {0: -1, 1: -1}
    """
    y = frame[label].to_numpy(bool)
    s = frame[score].to_numpy(float)
    g = frame[group].to_numpy()
    oriented = np.empty_like(s)
    directions = {}
    for lab in np.unique(g):
        held = g == lab
        d = choose_direction(y[~held], s[~held])
        directions[lab.item() if hasattr(lab, "item") else lab] = d
        oriented[held] = d * s[held]
    return oriented, directions


def _direction_text(directions):
    values = set(directions.values())
    if values == {1}:
        return "rise"
    if values == {-1}:
        return "fall"
    n_rise = sum(v == 1 for v in directions.values())
    return f"mixed ({n_rise}/{len(directions)} folds rise)"


def _wide_features(cell: pd.DataFrame, columns):
    """Run x epoch rows with one column per layer x score."""
    wide = cell.set_index(KEYS + ["memorizing", "layer"])[list(columns)].unstack("layer")
    wide.columns = [f"{layer}:{c}" for c, layer in wide.columns]
    return wide.reset_index()


def oof_combination(cell: pd.DataFrame, features, label="memorizing", group="seed", C=1.0):
    """Out-of-fold probabilities of a logistic regression on standardized indicators (leave one seed out).

    Parameters
    ----------
    cell : pandas.DataFrame
        One row per checkpoint with the ``features`` columns (NaN allowed:
        imputed by the training fold's median), ``label`` and ``group``.
    features : list of str
    C : float, default 1.0
        Inverse L2 penalty of :class:`sklearn.linear_model.LogisticRegression`.

    Returns
    -------
    ndarray (n,)
        Each checkpoint's probability from the model fitted without its
        group; NaN where the training folds held one class only.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array(cell[list(features)], dtype=float)  # a copy
    x[~np.isfinite(x)] = np.nan
    keep = ~np.isnan(x).all(axis=0)
    x = x[:, keep]
    y = cell[label].to_numpy(bool)
    g = cell[group].to_numpy()
    out = np.full(y.size, np.nan)
    for lab in np.unique(g):
        held = g == lab
        if np.unique(y[~held]).size < 2:
            continue
        model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                              LogisticRegression(C=C, max_iter=2000))
        model.fit(x[~held], y[~held])
        out[held] = model.predict_proba(x[held])[:, 1]
    return out


def _auroc_row(frame, oriented, keys, score, kind, direction, n_boot, seed, note=""):
    ok = np.isfinite(oriented)
    y = frame["memorizing"].to_numpy(bool)[ok]
    g = frame["seed"].to_numpy()[ok]
    value = auroc(y, oriented[ok])
    low, high, _ = cluster_bootstrap_auroc(y, oriented[ok], g, n_boot, seed) if n_boot else (np.nan, np.nan, None)
    n_nan = int((~ok).sum())
    if n_nan:
        note = (note + "; " if note else "") + f"{n_nan} checkpoints with an undefined score left out"
    return {**keys, "score": score, "kind": kind, "direction": direction, "auroc": value, "ci_low": low,
            "ci_high": high, "n_checkpoints": int(ok.sum()), "n_memorizing": int(y.sum()),
            "n_runs": int(frame.loc[ok, "run"].nunique()), "n_seeds": int(np.unique(g).size), "note": note}


#: Checkpoint subsets of the AUROC: every run; the noisy runs only; each noise level > 0 on its own
#: (``"noise 0.8"``: memorizing vs not-yet-memorizing checkpoints of runs with the same label noise).
SUBSETS = ("all", "noisy", "per-noise")


def _cell_rows(cell, subset, n_boot, seed, scores):
    """AUROC rows (and ROC inputs) of one architecture x dataset cell."""
    arch, data = cell["architecture"].iloc[0], cell["dataset"].iloc[0]
    rows, curves = [], {}
    base_keys = {"subset": subset, "architecture": arch, "dataset": data}
    for layer, part in cell.groupby("layer", sort=False):
        part = part.reset_index(drop=True)
        for score in scores:
            ok = np.isfinite(part[score].to_numpy(float))
            oriented, dirs = oof_oriented(part[ok].reset_index(drop=True), score)
            full = np.full(len(part), np.nan)
            full[ok] = oriented
            kind = SCORE_KINDS[next(s for s in ("_rel", "_delta", "") if score.endswith(s) or s == "")]
            rows.append(_auroc_row(part, full, {**base_keys, "layer": layer}, score, kind, _direction_text(dirs),
                                   n_boot, seed))
            curves[(arch, data, layer, score)] = (part["memorizing"].to_numpy(bool), full)
    one = cell.drop_duplicates(["run", "epoch"]).reset_index(drop=True)
    base = one[BASELINE].to_numpy(float)
    rows.append(_auroc_row(one, base, {**base_keys, "layer": "-"}, BASELINE, "baseline (held-out validation)",
                           "rise (fixed)", n_boot, seed, "uses the validation split: held-out data"))
    curves[(arch, data, "-", BASELINE)] = (one["memorizing"].to_numpy(bool), base)
    rows.append(_auroc_row(one, one[CLOCK].to_numpy(float), {**base_keys, "layer": "-"}, CLOCK,
                           "reference (the epoch number)", "rise (fixed)", n_boot, seed,
                           "a clock: what any score that only grows with training gets"))
    wide = _wide_features(cell, [*INDICATORS, *(k + "_delta" for k in INDICATORS)])
    feats = [c for c in wide if ":" in c]
    prob = oof_combination(wide, feats)
    rows.append(_auroc_row(wide, prob, {**base_keys, "layer": "all"}, COMBINATION,
                           "combination (logistic regression)", "fitted", n_boot, seed,
                           f"{len(feats)} standardized features: every layer's indicators and their deltas; "
                           "leave-one-seed-out"))
    curves[(arch, data, "all", COMBINATION)] = (wide["memorizing"].to_numpy(bool), prob)
    return rows, curves


def auroc_table(table: pd.DataFrame, *, n_boot=1000, seed=0, min_epoch=1, return_scores=False, subsets=SUBSETS):
    """AUROC of every indicator (per layer), its variants, the combination and the baseline, per cell.

    Parameters
    ----------
    table : pandas.DataFrame
        Trajectories (``add_relative_scores`` is applied if needed).
    n_boot : int, default 1000
        Cluster-bootstrap draws over seeds (0: no intervals).
    seed : int, default 0
    min_epoch : int, default 1
        Checkpoints from this epoch on (epoch 0, the untrained network, has no relative variant).
    return_scores : bool, default False
        Also return the out-of-fold oriented scores of the ``"all"`` subset, for ROC curves.
    subsets : sequence of {"all", "noisy", "per-noise"}, default all three
        ``all``: every checkpoint; ``noisy``: checkpoints of runs with label
        noise only, so that a score must separate memorizing checkpoints from
        not-yet-memorizing ones of noisy runs, not merely noisy runs from clean
        ones; ``per-noise``: one subset per noise level > 0 (``"noise 0.8"``),
        where the label noise cannot be what the score detects (a cell and
        level whose checkpoints are all of one class gives NaN).

    Returns
    -------
    pandas.DataFrame
        One row per subset x architecture x dataset x layer x score:
        ``auroc`` (out of fold for the direction), ``ci_low``, ``ci_high``
        (cluster bootstrap over seeds), ``direction`` (chosen on training
        folds), counts and a note.  The baseline's ``layer`` is ``"-"`` (it
        is one value per checkpoint) and the combination's is ``"all"``.
    dict, optional
        ``{(architecture, dataset, layer, score): (y, oriented score)}``.
    """
    if not any(c.endswith("_delta") for c in table):
        table = add_relative_scores(table)
    table = table[table["epoch"] >= min_epoch]
    scores = checkpoint_scores(table)
    rows, curves = [], {}
    parts = []
    for subset in subsets:
        if subset == "per-noise":
            parts.extend((f"noise {f:g}", table[table["noise"] == f]) for f in sorted(table["noise"].unique()) if f)
        else:
            parts.append((subset, table if subset == "all" else table[table["noise"] > 0]))
    for subset, part in parts:
        for _, cell in part.groupby(["architecture", "dataset"], sort=False):
            r, c = _cell_rows(cell, subset, n_boot, seed, scores)
            rows.extend(r)
            if subset == "all":
                curves.update(c)
    out = pd.DataFrame(rows)
    return (out, curves) if return_scores else out


def first_epoch(epochs, flags):
    """First epoch at which ``flags`` is True (NaN if never).

    Examples
    --------
    >>> first_epoch([1, 2, 3], [False, True, True])
    2.0
    """
    epochs = np.asarray(epochs, float)
    flags = np.asarray(flags, bool)
    return float(epochs[flags][0]) if flags.any() else np.nan


def _run_events(run_rows, gap_threshold):
    run_rows = run_rows.sort_values("epoch")
    e = run_rows["epoch"].to_numpy()
    return (first_epoch(e, run_rows["val_gap"].to_numpy(float) > gap_threshold),
            first_epoch(e, run_rows["memorizing"].to_numpy(bool)))


def lead_lag(table: pd.DataFrame, scores=None, *, quantile=0.95, gap_threshold=0.2, min_epoch=1):
    """First alarm epoch of each indicator against the baseline and the truth, run by run (leave one seed out).

    For each held-out seed, the indicator's direction (AUROC on the other
    seeds' checkpoints) and its threshold (the ``quantile`` of the oriented
    indicator over the other seeds' *clean* checkpoints, noise 0) are fixed
    on the training folds; a held-out run's alarm is the first epoch
    (>= ``min_epoch``) its oriented indicator exceeds the threshold.

    Parameters
    ----------
    table : pandas.DataFrame
        Trajectories (relative variants are added if needed).
    scores : list of str, optional
        Default: every indicator and variant.
    quantile : float, default 0.95
    gap_threshold : float, default 0.2
        The baseline's alarm: first epoch ``val_gap > gap_threshold``.
    min_epoch : int, default 1

    Returns
    -------
    pandas.DataFrame
        One row per run x layer x score: ``alarm_epoch``, ``baseline_epoch``
        (first ``val_gap > gap_threshold``), ``truth_epoch`` (first
        ``memorizing``), ``lead_vs_baseline = baseline_epoch - alarm_epoch``
        and ``lead_vs_truth = truth_epoch - alarm_epoch`` (positive: the
        indicator is earlier; NaN when either never happens), the direction
        and the threshold.
    """
    if not any(c.endswith("_delta") for c in table):
        table = add_relative_scores(table)
    table = table[table["epoch"] >= min_epoch]
    scores = checkpoint_scores(table) if scores is None else list(scores)
    events = {run: _run_events(r, gap_threshold) for run, r in table.drop_duplicates(["run", "epoch"]).groupby("run")}
    rows = []
    for (arch, data, layer), part in table.groupby(["architecture", "dataset", "layer"], sort=False):
        for score in scores:
            for held in np.unique(part["seed"]):
                rows.extend(_fold_alarms(part, score, held, quantile, events,
                                         {"architecture": arch, "dataset": data, "layer": layer, "score": score}))
    out = pd.DataFrame(rows)
    out["lead_vs_baseline"] = out["baseline_epoch"] - out["alarm_epoch"]
    out["lead_vs_truth"] = out["truth_epoch"] - out["alarm_epoch"]
    return out


def _fold_alarms(part, score, held, quantile, events, keys):
    train = part[(part["seed"] != held) & np.isfinite(part[score])]
    d = choose_direction(train["memorizing"].to_numpy(bool), train[score].to_numpy(float))
    clean = d * train.loc[train["noise"] == 0, score].to_numpy(float)
    threshold = float(np.quantile(clean, quantile)) if clean.size else np.nan
    rows = []
    for run, r in part[part["seed"] == held].groupby("run", sort=False):
        r = r.sort_values("epoch")
        values = d * r[score].to_numpy(float)
        alarm = first_epoch(r["epoch"], np.isfinite(values) & (values > threshold))
        base, truth = events[run]
        rows.append({**keys, "run": run, "noise": float(r["noise"].iloc[0]), "seed": int(held),
                     "direction": "rise" if d > 0 else "fall", "threshold": d * threshold,
                     "alarm_epoch": alarm, "baseline_epoch": base, "truth_epoch": truth})
    return rows


def _summary_row(keys, clean_alarms, mem, alarm):
    on_time = alarm.notna() & (mem["baseline_epoch"].isna() | (alarm <= mem["baseline_epoch"]))
    lead_truth = mem["truth_epoch"] - alarm
    return {**keys, "n_clean": len(clean_alarms), "false_alarm_runs": int(clean_alarms.notna().sum()),
            "false_alarm_rate": float(clean_alarms.notna().mean()) if len(clean_alarms) else np.nan,
            "n_memorizing_runs": len(mem), "detected": int(alarm.notna().sum()),
            "no_later_than_baseline": int(on_time.sum()),
            "median_lead_vs_baseline": float((mem["baseline_epoch"] - alarm).median()),
            "median_lead_vs_truth": float(lead_truth.median())}


def lead_lag_summary(ll: pd.DataFrame) -> pd.DataFrame:
    """Per architecture x dataset x layer x score: false alarms on clean runs, detection and lead on noisy runs.

    Parameters
    ----------
    ll : pandas.DataFrame
        From :func:`lead_lag`.

    Returns
    -------
    pandas.DataFrame
        ``n_clean``, ``false_alarm_runs`` (clean runs with an alarm) and
        ``false_alarm_rate``, ``n_memorizing_runs`` (noisy runs whose gap
        ever exceeds the threshold), ``detected`` (those with an alarm),
        ``no_later_than_baseline`` (those whose alarm comes at or before the
        baseline's, a missed baseline counting as later),
        ``median_lead_vs_baseline`` and ``median_lead_vs_truth`` (epochs,
        over runs where both events happen).  The baseline itself has one row
        per cell (``score`` ``val_gap``, ``layer`` ``"-"``): its alarm is its
        own epoch, so its lead against itself is 0.
    """
    cols = ["architecture", "dataset", "layer", "score"]
    rows = []
    for keys, g in ll.groupby(cols, sort=False):
        clean, noisy = g[g["noise"] == 0], g[g["noise"] > 0]
        mem = noisy[noisy["truth_epoch"].notna()]
        rows.append(_summary_row(dict(zip(cols, keys, strict=True)), clean["alarm_epoch"], mem, mem["alarm_epoch"]))
    for (arch, data), g in ll.drop_duplicates("run").groupby(["architecture", "dataset"], sort=False):
        clean, noisy = g[g["noise"] == 0], g[g["noise"] > 0]
        mem = noisy[noisy["truth_epoch"].notna()]
        rows.append(_summary_row({"architecture": arch, "dataset": data, "layer": "-", "score": BASELINE},
                                 clean["baseline_epoch"], mem, mem["baseline_epoch"]))
    return pd.DataFrame(rows)


def goal_table(auc: pd.DataFrame, summary: pd.DataFrame, target=0.9) -> pd.DataFrame:
    """The issue's goal, score by score, on the layer both architectures share (``hidden``).

    The goal (issue 17): AUROC >= ``target`` for ``memorizing`` in every
    architecture x dataset cell (subset ``all``), from training data only
    (not the baseline), with an alarm no later than the baseline's in most
    memorizing runs of each cell (``2 * no_later_than_baseline >=
    n_memorizing_runs``).  The false alarms on clean runs and the AUROC
    within noisy runs are reported next to it; they are not part of the goal.

    Returns
    -------
    pandas.DataFrame
        One row per score: ``min_auroc`` over cells (subset ``all``),
        ``min_auroc_noisy`` (subset ``noisy``), ``cells``, ``cells_auroc_ok``,
        ``cells_timely``, ``false_alarm_runs``, ``n_clean`` and ``goal``
        (bool), sorted by ``min_auroc``.
    """
    layers = ["hidden", "-", "all"]
    a = auc[auc["layer"].isin(layers) & (auc["subset"] == "all")]
    noisy = auc[auc["layer"].isin(layers) & (auc["subset"] == "noisy")].groupby("score")["auroc"].min()
    s = summary[summary["layer"].isin(["hidden", "-"])]
    rows = []
    for score, g in a.groupby("score", sort=False):
        t = s[s["score"] == score]
        timely = int((t["no_later_than_baseline"] * 2 >= t["n_memorizing_runs"]).sum()) if len(t) else -1
        ok = int((g["auroc"] >= target).sum())
        rows.append({"score": score, "min_auroc": float(g["auroc"].min()),
                     "min_auroc_noisy": float(noisy.get(score, np.nan)), "cells": len(g), "cells_auroc_ok": ok,
                     "cells_timely": timely, "false_alarm_runs": int(t["false_alarm_runs"].sum()) if len(t) else -1,
                     "n_clean": int(t["n_clean"].sum()) if len(t) else -1,
                     "goal": bool(score not in (BASELINE, COMBINATION, CLOCK) and ok == len(g) and timely == len(g))})
    return pd.DataFrame(rows).sort_values("min_auroc", ascending=False, ignore_index=True)


def analyze_study(out, table: pd.DataFrame, config, timing=None) -> list:
    """Write ``auroc.csv``, ``lead_lag.csv``, ``lead_lag_summary.csv``, figures and ``report.md``.

    Parameters
    ----------
    out : Path
        The study folder.
    table : pandas.DataFrame
        The trajectories.
    config : MemorizationConfig
    timing : dict, optional
        Run-time numbers for the report.

    Returns
    -------
    list of str
        The files written, relative to ``out``.
    """
    from pathlib import Path

    from ..io._atomic import write_text
    from .memorization_report import write_figures, write_report

    out = Path(out)
    full = add_relative_scores(table)
    auc, curves = auroc_table(full, n_boot=config.n_bootstrap, seed=0, return_scores=True)
    ll = lead_lag(full, quantile=config.false_alarm_quantile, gap_threshold=config.gap_threshold)
    summary = lead_lag_summary(ll)
    files = []
    for name, frame in (("auroc.csv", auc), ("lead_lag.csv", ll), ("lead_lag_summary.csv", summary)):
        write_text(out / name, frame.to_csv(index=False))
        files.append(name)
    if config.figures:
        figures = write_figures(out / "figures", full, auc, curves)
        files.extend(str(Path(f).relative_to(out)) for f in figures)
        write_text(out / "report.md", write_report(full, auc, summary, goal_table(auc, summary), config,
                                                   figures=[str(Path(f).relative_to(out)) for f in figures],
                                                   timing=timing or {}))
        files.append("report.md")
    return files
