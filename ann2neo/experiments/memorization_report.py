"""Figures and ``report.md`` of the memorization study (:mod:`ann2neo.experiments.memorization`).

matplotlib is imported inside :func:`write_figures`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.indicators import INDICATORS

__all__ = ["write_figures", "write_report", "best_scores"]

TRUTH_PANELS = ("train_acc", "test_acc", "gap", "val_gap")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def _trajectory_figure(folder, part, title, path_name):
    plt = _plt()
    panels = [*INDICATORS, *TRUTH_PANELS]
    fig, axes = plt.subplots(3, 5, figsize=(17, 9.5), sharex=True)
    noise = sorted(part["noise"].unique())
    cmap = plt.get_cmap("viridis")
    mean = part.groupby(["noise", "epoch"])[panels].mean()
    for ax, col in zip(axes.flat, panels, strict=False):
        for i, f in enumerate(noise):
            m = mean.loc[f]
            ax.plot(m.index, m[col], color=cmap(i / max(1, len(noise) - 1)), label=f"noise {f:g}", lw=1.5)
        ax.set_title(col + (" (training data)" if col in INDICATORS else ""), fontsize=9)
        if col == "gap":
            ax.axhline(0.2, color="k", ls=":", lw=0.8)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    n = part.groupby("noise")["seed"].nunique()
    fig.suptitle(f"{title}: mean over seeds ({', '.join(f'{f:g}: {k}' for f, k in n.items())} seeds by noise); "
                 "probe of training samples sorted by label", fontsize=11)
    return _save(fig, folder / path_name)


def _roc_figure(folder, auc, curves):
    from sklearn.metrics import roc_curve

    plt = _plt()
    auc = auc[auc["subset"] == "all"]
    cells = list(auc[["architecture", "dataset"]].drop_duplicates().itertuples(index=False, name=None))
    fig, axes = plt.subplots(1, len(cells), figsize=(4.6 * len(cells), 4.4), squeeze=False)
    for ax, (arch, data) in zip(axes[0], cells, strict=True):
        c = auc[(auc["architecture"] == arch) & (auc["dataset"] == data)]
        ind = c[~c["score"].isin(["val_gap", "combination", "epoch"])].nlargest(3, "auroc")
        chosen = [*ind.itertuples(), *c[c["score"].isin(["val_gap", "combination"])].itertuples()]
        for r in chosen:
            y, s = curves[(arch, data, r.layer, r.score)]
            ok = np.isfinite(s)
            if np.unique(y[ok]).size < 2:
                continue
            fpr, tpr, _ = roc_curve(y[ok], s[ok])
            style = {"val_gap": dict(color="k", ls="--"), "combination": dict(color="grey", ls="-.")}.get(r.score, {})
            label = f"{r.score}" + (f" [{r.layer}]" if r.layer not in ("-", "all") else "") + f" {r.auroc:.2f}"
            ax.plot(fpr, tpr, label=label, **style)
        ax.plot([0, 1], [0, 1], color="0.8", lw=0.8)
        ax.set(title=f"{arch} / {data}", xlabel="false positive rate (checkpoints)", ylabel="true positive rate")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
        else:
            ax.text(0.5, 0.5, "one class only: no ROC", ha="center", transform=ax.transAxes)
    fig.suptitle("ROC for 'memorizing' (gap > threshold): best 3 indicators, the combination, and the validation "
                 "baseline (dashed); out-of-fold directions", fontsize=10)
    return _save(fig, folder / "roc.png")


def _heatmap(folder, auc):
    plt = _plt()
    a = auc[~auc["score"].isin(["val_gap", "combination", "epoch"]) & (auc["subset"] == "all")].copy()
    a["row"] = a["architecture"] + "/" + a["dataset"] + "/" + a["layer"]
    kinds = [("", "indicator"), ("_rel", "relative (/ epoch 1)"), ("_delta", "delta (- epoch 1)")]
    fig, axes = plt.subplots(1, 3, figsize=(19, 0.5 * a["row"].nunique() + 3), sharey=True)
    rows = list(dict.fromkeys(a["row"]))
    for ax, (suffix, title) in zip(axes, kinds, strict=True):
        grid = np.full((len(rows), len(INDICATORS)), np.nan)
        for i, row in enumerate(rows):
            for j, k in enumerate(INDICATORS):
                v = a[(a["row"] == row) & (a["score"] == k + suffix)]["auroc"]
                grid[i, j] = v.iloc[0] if len(v) else np.nan
        im = ax.imshow(grid, vmin=0.5, vmax=1, cmap="magma", aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if v < 0.8 else "black")
        ax.set_xticks(range(len(INDICATORS)), INDICATORS, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.8, label="AUROC (out-of-fold direction)")
    fig.suptitle("AUROC of each indicator for 'memorizing', per architecture/dataset/layer", fontsize=11)
    return _save(fig, folder / "auroc_heatmap.png")


def write_figures(folder, table: pd.DataFrame, auc: pd.DataFrame, curves: dict) -> list:
    """Trajectories by noise level (per architecture x dataset x layer), ROC curves and the AUROC heatmap.

    Returns
    -------
    list of Path
    """
    folder = Path(folder)
    files = []
    for (arch, data, layer), part in table.groupby(["architecture", "dataset", "layer"], sort=False):
        files.append(_trajectory_figure(folder, part, f"{arch} / {data} / layer {layer}",
                                        f"trajectories_{arch}-{data}-{layer}.png"))
    files.append(_roc_figure(folder, auc, curves))
    files.append(_heatmap(folder, auc))
    return files


def best_scores(auc: pd.DataFrame, n=5) -> pd.DataFrame:
    """The ``n`` indicator scores with the highest AUROC per cell (layer included), plus baseline and combination."""
    parts = []
    for _, c in auc[auc["subset"] == "all"].groupby(["architecture", "dataset"], sort=False):
        ind = c[~c["score"].isin(["val_gap", "combination", "epoch"])].nlargest(n, "auroc")
        parts.append(pd.concat([ind, c[c["score"].isin(["val_gap", "combination", "epoch"])]]))
    return pd.concat(parts, ignore_index=True)


def _fmt_auc(r):
    return f"{r.auroc:.3f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" if np.isfinite(r.ci_low) else f"{r.auroc:.3f}"


def _md(frame):
    from .outputs import to_markdown

    return to_markdown(frame)


def _counts(table, config):
    one = table.drop_duplicates(["run", "epoch"])
    runs = one.groupby(["architecture", "dataset", "noise"]).agg(
        runs=("run", "nunique"), memorizing_checkpoints=("memorizing", "mean"),
        final_train_acc=("train_acc", lambda s: s[one.loc[s.index, "epoch"] == config.epochs].mean()),
        final_test_acc=("test_acc", lambda s: s[one.loc[s.index, "epoch"] == config.epochs].mean()),
        final_val_acc=("val_acc", lambda s: s[one.loc[s.index, "epoch"] == config.epochs].mean()))
    return runs.reset_index().round(3)


def _pivot(auc, subset, order):
    hidden = auc[auc["layer"].isin(["hidden", "-", "all"]) & (auc["subset"] == subset)].copy()
    hidden["cell"] = hidden["architecture"] + "/" + hidden["dataset"]
    hidden["value"] = [_fmt_auc(r) for r in hidden.itertuples()]
    pivot = hidden.pivot_table(index="score", columns="cell", values="value", aggfunc="first")
    return pivot.reindex([s for s in order if s in pivot.index]).reset_index()


def _per_noise_pivot(auc, order):
    a = auc[auc["layer"].isin(["hidden", "-", "all"]) & auc["subset"].str.startswith("noise ")
            & auc["auroc"].notna()].copy()
    if a.empty:
        return pd.DataFrame({"score": []})
    a["cell"] = a["architecture"] + "/" + a["dataset"]
    g = a.groupby(["score", "cell"])["auroc"]
    text = (g.median().map("{:.2f}".format) + " [" + g.min().map("{:.2f}".format) + "-"
            + g.max().map("{:.2f}".format) + "] (" + g.size().astype(str) + ")")
    pivot = text.unstack("cell")
    return pivot.reindex([s for s in order if s in pivot.index]).reset_index()


def _within_noise(auc, score):
    a = auc[(auc["score"] == score) & auc["layer"].isin(["hidden", "-", "all"])
            & auc["subset"].str.startswith("noise ")]["auroc"]
    return float(a.median()) if a.notna().any() else np.nan


def _verdict(goal, auc):
    reached = goal[goal["goal"]]
    best = goal[~goal["score"].isin(["val_gap", "combination", "epoch"])].iloc[0]
    clock = (f"{_within_noise(auc, 'val_gap'):.2f} for the baseline and {_within_noise(auc, 'epoch'):.2f} for "
             f"the epoch number alone (a clock)")
    if len(reached):
        names = ", ".join(f"`{s}` (min AUROC {a:.3f}; {f} of {c} clean runs alarm; median AUROC within one noise "
                          f"level {_within_noise(auc, s):.2f})"
                          for s, a, f, c in reached[["score", "min_auroc", "false_alarm_runs",
                                                     "n_clean"]].itertuples(index=False))
        return (f"**On the issue's criterion, reached** by {len(reached)} score(s) on the `hidden` layer: {names}. "
                f"Within one noise level (same label noise, memorizing vs not-yet-memorizing checkpoints) the "
                f"median AUROC is {clock}: a score below them mostly detects the label noise, "
                "not the moment of memorization.")
    return (f"**No indicator reaches the goal.** The best single score on the shared `hidden` layer is "
            f"`{best['score']}` with a minimum AUROC of {best['min_auroc']:.3f} over the {best['cells']} "
            f"architecture x dataset cells ({best['cells_auroc_ok']} of them >= 0.9; alarm no later than the "
            f"baseline in most memorizing runs in {best['cells_timely']} cells). Within one noise level the "
            f"median AUROC is {_within_noise(auc, best['score']):.2f} for it, {clock}.")


def _notes(table, auc):
    a = auc[auc["subset"] == "all"]
    mixed = a[a["direction"].astype(str).str.startswith("mixed")]
    low = a[a["auroc"] < 0.5]
    last = table[table["epoch"] == table["epoch"].max()]
    dead = last.groupby(["architecture", "dataset", "layer", "noise"])["dead_fraction"].mean()
    notes = [f"{len(mixed)} of {len(a)} score rows (subset `all`) have a direction that differs between "
             f"leave-one-seed-out folds (`mixed`); pooling such out-of-fold scores can give an AUROC below 0.5 "
             f"({len(low)} rows): the score's relation to memorization is not stable across seeds.",
             f"Dead units: at the last epoch `dead_fraction` ranges from {dead.min():.2f} to {dead.max():.2f} "
             f"(mean over seeds per cell, layer and noise level); it grows with the label noise, so the learning "
             "rate that makes the networks memorize within the epoch budget also silences many ReLU units, and "
             "`mfr`/`dead_fraction` partly measure that.",
             "Clean runs: the share of memorizing checkpoints at noise 0 is in the ground-truth table above "
             "(measured, not forced to 0)."]
    return notes


def write_report(table, auc, summary, goal, config, *, figures=(), timing=None) -> str:
    """The study's ``report.md`` (text)."""
    timing = timing or {}
    order = goal["score"].tolist()
    base = goal[goal["score"] == "val_gap"].iloc[0]
    comb = goal[goal["score"] == "combination"]
    s_hidden = summary[summary["layer"].isin(["hidden", "-"])]
    top = set(goal["score"].head(8)) - {"combination", "epoch"} | {"val_gap"}
    ll = s_hidden[s_hidden["score"].isin(top)].sort_values(["score", "architecture", "dataset"])
    lines = [
        "# Memorization study: which activation statistic of training samples detects memorization",
        "",
        "Goal (issue 17): an indicator computed on training samples only (no held-out data) with AUROC >= 0.9 "
        "for `memorizing` in both architectures and both datasets, whose alarm comes no later than the "
        "validation baseline's.",
        "",
        _verdict(goal, auc),
        f"The validation baseline (`val_gap`, held-out data) has a minimum AUROC of {base['min_auroc']:.3f} "
        f"({base['min_auroc_noisy']:.3f} within noisy runs)"
        + (f"; the logistic-regression combination of the indicators (training data only, out of fold) "
           f"{comb['min_auroc'].iloc[0]:.3f} (its alarm timing is not measured)." if len(comb) else "."),
        "",
        "Caveat: with the clean runs included (subset `all`), a score that only tells noisy runs from clean ones "
        "(e.g. selectivity to labels that are noise) scores well although it says nothing about *when* a run "
        "memorizes; the subset `noisy` (noisy runs only: memorizing vs not-yet-memorizing checkpoints) and the "
        "lead/lag against the truth (`median_lead_vs_truth` much larger than 0: an alarm long before the gap "
        "opens, i.e. an alarm on the label noise itself) show which scores track memorization.",
        "",
        "## Setup",
        "",
        f"- Runs: {table['run'].nunique()} ({', '.join(config.architectures)} x {', '.join(config.datasets)}; "
        f"noise {', '.join(f'{f:g}' for f in config.noise)}; noisy seeds {list(config.seeds)}, clean seeds "
        f"{list(config.clean_seeds)}).",
        f"- Training: {config.optimizer} lr {config.learning_rate:g}, batch {config.batch_size}, "
        f"{config.epochs} epochs, hidden width {config.width}; training set "
        + (f"subsampled (stratified) to at most {config.max_train} samples" if config.max_train else "in full")
        + f"; {config.val_fraction:g} of it is the validation split, noisy like training; test labels clean.",
        "- Label noise: a fraction f of the training labels replaced by a uniformly random other class (seeded).",
        f"- Probe: {config.probe_size} training samples, stratified by the label trained on, sorted by it (stable), "
        "the same at every epoch; `dispersion` therefore measures between-label structure along the probe.",
        f"- Layers: every hidden layer (mlp: `hidden`; cnn: `conv`, `hidden`); a layer with more than "
        f"{config.max_units} units is recorded on a fixed seeded random subset of {config.max_units} (`n_units`). "
        "Spikes: activation > 0.",
        f"- Truth: `memorizing` = train_acc - test_acc > {config.gap_threshold:g}. Baseline: `val_gap` = "
        f"train_acc - val_acc, alarm when > {config.gap_threshold:g}.",
        "- AUROC: `sklearn.metrics.roc_auc_score` over checkpoints of epochs >= 1 (every run x epoch; epoch 0 has "
        "no relative variant). The direction of each score (rise or fall) is chosen on the training folds of a "
        "leave-one-seed-out split (AUROC >= 0.5 there) and applied to the held-out seed; `direction` says which "
        "(`mixed` when folds disagree). 95 % intervals: cluster bootstrap over seeds, "
        f"{config.n_bootstrap} draws, seed 0 (with few seeds the intervals are coarse).",
        "- Relative variants: `_rel` = value / its epoch-1 value, `_delta` = value - its epoch-1 value (same run, "
        "layer and probe: training data only).",
        "- Combination: logistic regression (C = 1) on the standardized indicators and deltas of every layer, "
        "median-imputed, fitted leave-one-seed-out (out-of-fold probabilities).",
        f"- Lead/lag: the alarm threshold is the {config.false_alarm_quantile:g} quantile of the oriented score "
        "over the clean (noise 0) checkpoints of the training folds; alarm = first epoch above it. "
        "`lead_vs_baseline` = baseline epoch - alarm epoch (positive: the indicator is earlier).",
        "",
        "## Run time",
        "",
        f"- Training and recording, summed over runs: {timing.get('train_seconds_total', float('nan')):.0f} s "
        f"({timing.get('runs', 0)} runs; {timing.get('runs_skipped', 0)} taken from an earlier call, their "
        f"time as recorded then). This call: {timing.get('wall_seconds_this_call', float('nan')):.0f} s wall "
        "before the analysis.",
        "",
        "## Runs and ground truth (final epoch, mean over seeds)",
        "",
        _md(_counts(table, config)),
        "",
        "## AUROC on the shared `hidden` layer, per architecture / dataset (95 % cluster-bootstrap CI; all runs)",
        "",
        _md(_pivot(auc, "all", order)),
        "",
        "## The same within noisy runs only (subset `noisy`: memorizing vs not-yet-memorizing checkpoints)",
        "",
        _md(_pivot(auc, "noisy", order)),
        "",
        "## Within one noise level (median [min-max] of the AUROC over the noise levels whose runs hold both "
        "memorizing and not-yet-memorizing checkpoints, their number in parentheses)",
        "",
        "Here the label noise is the same for every checkpoint compared, so a score can only win by tracking "
        "*when* a run memorizes.",
        "",
        _md(_per_noise_pivot(auc, order)),
        "",
        "## Best scores per cell, any layer",
        "",
        _md(best_scores(auc)[["architecture", "dataset", "layer", "score", "direction", "auroc", "ci_low", "ci_high",
                              "n_checkpoints", "n_memorizing", "note"]].round(3)),
        "",
        "## Goal check (layer `hidden`)",
        "",
        _md(goal.round(3)),
        "",
        "## Lead / lag against the baseline and the truth (layer `hidden`, the best scores and the baseline)",
        "",
        "Epochs; `false_alarm_runs` of `n_clean` clean runs raise an alarm at some epoch (the threshold is a "
        "per-checkpoint 95 % quantile, so a per-run false-alarm rate is higher than 5 %). The baseline's row "
        "(`val_gap`) gives its own false alarms (clean runs with val_gap > threshold) and its lag behind the "
        "truth.",
        "",
        _md(ll.round(2)),
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in _notes(table, auc)],
        "",
        "## Figures",
        "",
        *[f"- `{f}`" for f in figures],
        "",
        "Full tables: `auroc.csv` (every layer and score), `lead_lag.csv` (every run), `lead_lag_summary.csv`, "
        "`trajectories.csv`.",
    ]
    return "\n".join(lines) + "\n"
