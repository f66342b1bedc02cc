"""Paper-style tables, figures and the run's ``report.md`` (arXiv:2308.00858 Tables 1, 2, 5; Figures 2, 3, 6).

Everything here reads the main table of :func:`ann2neo.experiments.reproduce.reproduce`
and the recordings; matplotlib is imported inside the figure function.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PAPER_TABLE2", "HYPOTHESIS_COLUMNS", "ORDER_TEXT", "table1", "table2", "table5", "hypotheses",
           "rates_from_nodes", "to_markdown", "write_figures",
           "write_report", "write_grid_figure"]

#: Paper Table 2, MNIST rows: (architecture, width, split) -> {condition: (MFR, CV FR %)}.
PAPER_TABLE2 = {
    ("mlp", 64, "train"): {"Generalizing": (0.62, 27.80), "MemRetrainLast": (0.03, 72.16),
                           "MemRandomLast": (0.12, 41.70), "Random": (0.45, 60.92)},
    ("mlp", 64, "test"): {"Generalizing": (0.62, 27.93), "MemRetrainLast": (0.03, 72.30),
                          "MemRandomLast": (0.12, 42.54), "Random": (0.45, 61.64)},
    ("mlp", 128, "train"): {"Generalizing": (0.59, 37.00), "MemRetrainLast": (0.10, 151.33),
                            "MemRandomLast": (0.19, 46.07), "Random": (0.48, 55.92)},
    ("mlp", 128, "test"): {"Generalizing": (0.60, 37.10), "MemRetrainLast": (0.10, 154.85),
                           "MemRandomLast": (0.18, 47.01), "Random": (0.48, 56.63)},
    ("mlp", 256, "train"): {"Generalizing": (0.59, 34.97), "MemRetrainLast": (0.14, 113.81),
                            "MemRandomLast": (0.26, 40.99), "Random": (0.50, 52.65)},
    ("mlp", 256, "test"): {"Generalizing": (0.45, 51.99), "MemRetrainLast": (0.14, 116.28),
                           "MemRandomLast": (0.25, 42.20), "Random": (0.50, 53.27)},
    ("mlp", 512, "train"): {"Generalizing": (0.57, 36.81), "MemRetrainLast": (0.17, 89.41),
                            "MemRandomLast": (0.28, 32.96), "Random": (0.51, 51.47)},
    ("mlp", 512, "test"): {"Generalizing": (0.57, 37.07), "MemRetrainLast": (0.17, 91.19),
                           "MemRandomLast": (0.28, 33.89), "Random": (0.51, 52.14)},
    ("cnn", 64, "train"): {"Generalizing": (0.49, 50.76), "MemRetrainLast": (0.06, 511.62),
                           "MemRandomLast": (0.25, 39.28), "MemRetrainAll": (0.28, 28.44), "Random": (0.48, 67.42)},
    ("cnn", 64, "test"): {"Generalizing": (0.46, 44.68), "MemRetrainLast": (0.00, 75.70),
                          "MemRandomLast": (0.24, 40.12), "MemRetrainAll": (0.28, 28.71), "Random": (0.48, 68.27)},
    ("cnn", 128, "train"): {"Generalizing": (0.46, 38.61), "MemRetrainLast": (0.06, 527.79),
                            "MemRandomLast": (0.30, 33.44), "MemRetrainAll": (0.28, 28.53), "Random": (0.51, 61.68)},
    ("cnn", 128, "test"): {"Generalizing": (0.47, 39.00), "MemRetrainLast": (0.00, 148.75),
                           "MemRandomLast": (0.30, 33.95), "MemRetrainAll": (0.28, 28.68), "Random": (0.51, 61.81)},
    ("cnn", 256, "train"): {"Generalizing": (0.42, 44.32), "MemRetrainLast": (0.04, 649.43),
                            "MemRandomLast": (0.34, 33.18), "MemRetrainAll": (0.28, 26.66), "Random": (0.51, 61.80)},
    ("cnn", 256, "test"): {"Generalizing": (0.41, 44.91), "MemRetrainLast": (0.01, 131.77),
                           "MemRandomLast": (0.34, 34.39), "MemRetrainAll": (0.28, 27.19), "Random": (0.51, 62.28)},
    ("cnn", 512, "train"): {"Generalizing": (0.41, 44.59), "MemRetrainLast": (0.06, 786.89),
                            "MemRandomLast": (0.31, 34.02), "MemRetrainAll": (0.28, 25.69), "Random": (0.50, 60.78)},
    ("cnn", 512, "test"): {"Generalizing": (0.41, 45.03), "MemRetrainLast": (0.01, 115.81),
                           "MemRandomLast": (0.31, 34.54), "MemRetrainAll": (0.28, 26.07), "Random": (0.50, 61.24)},
}
_MEMORIZING = ("MemRetrainLast", "MemRandomLast", "MemRetrainAll")


def table1(table: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 1: accuracy (a fraction) per condition, train (on the training labels) and test (true labels)."""
    if "layer" in table:  # accuracy does not depend on the recorded layer
        table = table[table["layer"] == table["layer"].iloc[0]]
    t = table.pivot_table(index="condition", columns="split", values="accuracy", sort=False)
    t = t.rename(columns={"train": "train_accuracy", "test": "test_accuracy"}).reset_index()
    labels = table[table["split"] == "train"].set_index("condition")["labels"]
    t.insert(1, "train_labels", t["condition"].map(labels))
    t["generalization_gap"] = t["train_accuracy"] - t["test_accuracy"]
    return t


def table2(table: pd.DataFrame, architecture: str, width: int, dataset: str, comparisons=None) -> pd.DataFrame:
    """Paper Table 2: MFR and CV FR (%) per condition and split, the paper's MNIST values beside ours.

    With ``comparisons`` (the KS tests), ``similar_to_random`` and
    ``similar_to_generalizing`` mark the paper's similarity signs: True where
    the Bonferroni-corrected KS test does not reject equal firing-rate
    distributions, empty where no such comparison was made.

    The ``paper_*`` columns are filled for the matching architecture and width
    (MLP and CNN on MNIST); for digits or MNIST-5k they are the closest
    comparison the paper offers, not the same experiment (``paper_dataset`` says so).
    """
    rows = []
    multi = "layer" in table and table["layer"].nunique() > 1
    first = table["layer"].iloc[0] if "layer" in table else None  # the KS tests are on the first recorded layer
    for r in table.itertuples():
        paper = PAPER_TABLE2.get((architecture, width, r.split), {}).get(r.condition, (np.nan, np.nan))
        rows.append({"condition": r.condition, "split": r.split, **({"layer": r.layer} if multi else {}),
                     "mfr_per_sample": r.mfr_per_sample,
                     "cv_fr_pct": r.cv_fr_pct, "paper_mfr_per_sample": paper[0], "paper_cv_fr_pct": paper[1],
                     "paper_dataset": "MNIST" if not np.isnan(paper[0]) else "",
                     "our_dataset": dataset,
                     **{f"similar_to_{ref.lower()}": (_similar(comparisons, r.condition, ref, r.split)
                                                      if not multi or r.layer == first else None)
                        for ref in ("Random", "Generalizing")}})
    return pd.DataFrame(rows)


def _similar(comparisons, condition, reference, split):
    if comparisons is None or condition == reference:
        return None
    for a, b in ((condition, reference), (reference, condition)):
        hit = comparisons[(comparisons["a"] == f"{a}/{split}") & (comparisons["b"] == f"{b}/{split}")]
        if len(hit):
            return bool(not hit.iloc[0]["different"])
    return None


def table5(table: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 5 with its headline first: the Fano factor over its exact null, then MF beside 1 - λ.

    ``mean_dispersion`` (F / E[F | K], mean 1 for independent spiking at any
    number of windows) and its standard error come first; MF is shown beside
    ``mf_bernoulli``, the value the Bernoulli identity predicts from the rate.
    """
    cols = ["condition", "split", *[c for c in ("mean_dispersion", "mean_dispersion_se") if c in table], "mf",
            "mf_bernoulli", "cv_ff_pct", "window_samples", "n_windows"]
    extra = [c for c in ("ff_fraction_significant_poisson", "ff_fraction_below_poisson",
                         "ff_fraction_significant_bernoulli") if c in table]
    return table[cols + extra].copy()


#: Columns of the hypotheses table.
HYPOTHESIS_COLUMNS = ["split", "hypothesis", "condition", "test", "ours", "holds", "reason"]


def _rates_of(rates, key):
    if rates is None or key not in rates:
        return None
    r = np.asarray(rates[key], dtype=np.float64)
    return r[np.isfinite(r)] if r.ndim == 1 else None


def _tost_row(diff_ci, p, margin, alpha):
    lo, hi = diff_ci
    holds = bool(p < alpha)
    reason = "" if holds else (f"not shown equivalent: the {100 * (1 - 2 * alpha):.0f}% CI of the mean difference "
                               f"[{lo:+.3f}, {hi:+.3f}] is not inside +-{margin:g}")
    return holds, reason


def _h3(split, gen, rand, margin, alpha):
    """H3, Random ~ Generalizing: TOST of the mean per-unit rate, two independent sets of units (Welch)."""
    from scipy import stats
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttost_ind

    p, _, _ = ttost_ind(gen, rand, -margin, margin, usevar="unequal")
    ci = CompareMeans(DescrStatsW(gen), DescrStatsW(rand)).tconfint_diff(alpha=2 * alpha, usevar="unequal")
    holds, reason = _tost_row(ci, p, margin, alpha)
    ks = stats.ks_2samp(gen, rand)
    return {"split": split, "hypothesis": "H3 Random ~ Generalizing", "condition": "Generalizing",
            "test": f"TOST (Welch) on the mean unit rate, margin +-{margin:g}/sample",
            "ours": f"diff {gen.mean() - rand.mean():+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}], TOST p {p:.3g}; "
                    f"KS D {ks.statistic:.3f}", "holds": holds, "reason": reason}


def _h7(condition, train, test, margin, alpha):
    """H7, train ~ test: the same units on both splits, so paired tests."""
    from scipy import stats
    from statsmodels.stats.weightstats import DescrStatsW, ttost_paired

    p, _, _ = ttost_paired(train, test, -margin, margin)
    ci = DescrStatsW(train - test).tconfint_mean(alpha=2 * alpha)
    holds, reason = _tost_row(ci, p, margin, alpha)
    nonzero = train - test
    wilcoxon = stats.wilcoxon(nonzero[nonzero != 0]).pvalue if np.count_nonzero(nonzero) >= 10 else float("nan")
    r = stats.pearsonr(train, test).statistic if train.std() > 0 and test.std() > 0 else float("nan")
    return {"split": "train vs test", "hypothesis": "H7 train ~ test (same units)", "condition": condition,
            "test": f"paired TOST on unit rates, margin +-{margin:g}/sample; Wilcoxon signed-rank; Pearson r",
            "ours": f"diff {np.mean(train - test):+.4f} [{ci[0]:+.4f}, {ci[1]:+.4f}], TOST p {p:.3g}; "
                    f"Wilcoxon p {wilcoxon:.3g}; r {r:.3f}", "holds": holds, "reason": reason}


def hypotheses(table: pd.DataFrame, comparisons: pd.DataFrame | None = None, rates: dict | None = None, *,
               margin: float = 0.05, alpha: float = 0.05) -> pd.DataFrame:
    """Hypotheses 1, 3 and 7 of the paper's section 3.2, cell by cell, with tests that can show them.

    * **H1** (memorization lowers the firing rate): a memorizing network's
      MFR is below the Generalizing network's, on each split.
    * **H3** (Random and Generalizing networks behave similarly): shown only
      by an equivalence test — two one-sided t-tests (TOST, Welch) that the
      mean unit rate differs by less than ``margin`` spikes/sample.  A
      non-rejected KS test is not evidence of similarity; its D is shown
      as an effect size.
    * **H7** (the patterns are similar on training and test data): the same
      units are recorded on both splits, so the tests are paired: a paired
      TOST on the per-unit rates with the same margin, the Wilcoxon
      signed-rank test and the per-unit rate correlation.

    "Memorizing networks have a higher MF" is not a hypothesis of its own:
    for a thresholded layer MF follows 1 − MFR (the Bernoulli identity; see
    the report), so it restates H1 and is left out.

    Parameters
    ----------
    table : pandas.DataFrame
        The main table (one row per condition, split and layer).
    comparisons : pandas.DataFrame, optional
        Unused since 0.3 (the KS tests of Table 2); accepted for old callers.
    rates : dict, optional
        ``"<condition>/<split>"`` -> per-unit firing rates (spikes/sample,
        the same unit order on both splits).  Without them H3 and H7 are
        reported as not tested.
    margin : float, default 0.05
        Equivalence margin in spikes/sample.
    alpha : float, default 0.05

    Returns
    -------
    pandas.DataFrame
        :data:`HYPOTHESIS_COLUMNS`; ``holds`` is bool (None where untested),
        ``reason`` says in one line why a row does not hold.

    References
    ----------
    Schuirmann (1987), J. Pharmacokinet. Biopharm. 15:657 (TOST); paper section 3.2.
    """
    del comparisons
    rows = []
    if "layer" in table:  # the hypotheses are about the observed (first recorded) layer
        table = table[table["layer"] == table["layer"].iloc[0]]
    if "same_as" in table:
        same = table["same_as"]
        table = table[same.isna() | (same.astype(str) == "")]  # a coinciding network is judged once
    for split in ("train", "test"):
        part = table[table["split"] == split].set_index("condition")
        if "Generalizing" not in part.index:
            continue
        gen = part.loc["Generalizing"]
        for c in _MEMORIZING:
            if c in part.index:
                m = part.loc[c]
                holds = bool(m.mfr_per_sample < gen.mfr_per_sample)
                rows.append({"split": split, "hypothesis": "H1 memorizing: lower MFR", "condition": c,
                             "test": "MFR compared", "ours": f"{m.mfr_per_sample:.3f} vs {gen.mfr_per_sample:.3f}",
                             "holds": holds, "reason": "" if holds else
                             f"MFR {m.mfr_per_sample:.3f} is not below Generalizing's {gen.mfr_per_sample:.3f}"})
        if "Random" in part.index:
            g, r = _rates_of(rates, f"Generalizing/{split}"), _rates_of(rates, f"Random/{split}")
            if g is None or r is None or len(g) < 2 or len(r) < 2:
                rows.append({"split": split, "hypothesis": "H3 Random ~ Generalizing", "condition": "Generalizing",
                             "test": "TOST", "ours": "", "holds": None,
                             "reason": "not tested: per-unit rates unavailable"})
            else:
                rows.append(_h3(split, g, r, margin, alpha))
    conditions = list(dict.fromkeys(table["condition"]))
    for c in conditions:
        a, b = _rates_of(rates, f"{c}/train"), _rates_of(rates, f"{c}/test")
        if a is None or b is None:
            continue
        if len(a) != len(b) or len(a) < 2:
            rows.append({"split": "train vs test", "hypothesis": "H7 train ~ test (same units)", "condition": c,
                         "test": "paired TOST", "ours": "", "holds": None,
                         "reason": f"not tested: {len(a)} and {len(b)} units are not one set of paired units"})
            continue
        rows.append(_h7(c, a, b, margin, alpha))
    return pd.DataFrame(rows, columns=HYPOTHESIS_COLUMNS)


def rates_from_nodes(nodes: pd.DataFrame) -> dict:
    """``"<condition>/<split>"`` -> per-unit rates of the first layer, from a run's ``nodes.csv``."""
    if "layer" in nodes and len(nodes):
        nodes = nodes[nodes["layer"] == nodes["layer"].iloc[0]]
    return {f"{c}/{s}": part.sort_values("node")["firing_rate"].to_numpy()
            for (c, s), part in nodes.groupby(["condition", "split"], sort=False)}


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A GitHub Markdown table (no extra dependency): NaN shown as ``–``."""
    def cell(v):
        if v is None:
            return "–"
        if isinstance(v, (float, np.floating)):
            return "–" if np.isnan(v) else format(v, floatfmt)
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def write_figures(folder, table: pd.DataFrame, recordings: dict, seed: int = 0, same_as=None,
                  dynamics=None) -> list:
    """Figures 2, 3 and 6 and firing-rate/Fano-factor histograms, each as PNG and SVG.

    A condition that coincides with an earlier one (``same_as``) is drawn once,
    labelled with both names.

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io._atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name):
        for ext in ("png", "svg"):
            with atomic_path(folder / f"{name}.{ext}") as tmp:
                fig.savefig(tmp, format=ext, dpi=110, bbox_inches="tight")
            written.append(folder / f"{name}.{ext}")
        plt.close(fig)

    same_as = same_as or {}
    conditions = [c for c in dict.fromkeys(table["condition"]) if c not in same_as]
    names = {c: " = ".join([c, *[d for d, s in same_as.items() if s == c]]) for c in conditions}
    layer = table["layer"].iloc[0]
    _figure6(plt, save, table, conditions, names)
    _figure3(plt, save, table, conditions, names)
    _rate_fano_histograms(plt, save, recordings, conditions, names, layer)
    if dynamics is not None and len(dynamics):
        _figure5(plt, save, dynamics)
    _figure2(plt, save, recordings, conditions, layer, seed)
    return written


def _figure6(plt, save, table, conditions, names):
    """Figure 6: MF against MFR with the Bernoulli line MF = 1 - MFR."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for i, c in enumerate(conditions):
        part = table[table["condition"] == c]
        for split, marker in (("train", "o"), ("test", "s")):
            p = part[part["split"] == split]
            ax.scatter(p["mfr_per_sample"], p["mf"], color=f"C{i}", marker=marker,
                       label=f"{names[c]} ({split})", s=40)
    x = np.linspace(0, 1, 50)
    ax.plot(x, 1 - x, "k--", lw=1, label="Bernoulli: MF = 1 − MFR")
    ax.set_xlabel("MFR (spikes/sample)")
    ax.set_ylabel(f"MF (window {int(table['window_samples'].iloc[0])} samples)")
    ax.set_title("Figure 6: mean Fano factor against mean firing rate")
    ax.legend(fontsize=7)
    save(fig, "fig6_mf_vs_mfr")


def _figure3(plt, save, table, conditions, names):
    """Figure 3: statistics against the generalization gap (train - test accuracy)."""
    t1 = table1(table).set_index("condition")
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), layout="constrained")
    for ax, (col, label) in zip(axes, [("mfr_per_sample", "MFR (spikes/sample)"), ("cv_fr_pct", "CV FR (%)"),
                                       ("mf", "MF"), ("cv_ff_pct", "CV FF (%)")], strict=True):
        for i, c in enumerate(conditions):
            gap = t1.loc[c, "generalization_gap"]
            val = table[(table["condition"] == c) & (table["split"] == "test")][col]
            ax.scatter([gap] * len(val), val, color=f"C{i}", label=names[c])
        ax.set_xlabel("gap: train − test accuracy")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    fig.suptitle("Figure 3: test-split statistics against the generalization gap")
    save(fig, "fig3_stats_vs_gap")


def _rate_fano_histograms(plt, save, recordings, conditions, names, layer):
    """Histograms of firing rate and Fano factor per condition and split (Figure 4 for one width)."""
    for stat, label, name in (("firing_rate", "firing rate (spikes/sample)", "hist_firing_rate"),
                              ("fano_factor", "Fano factor", "hist_fano_factor")):
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
        for ax, split in zip(axes, ("train", "test"), strict=True):
            for i, c in enumerate(conditions):
                rec = recordings.get((c, split, layer))
                if rec is None:
                    continue
                values = rec[1].nodes[stat].to_numpy()
                values = values[np.isfinite(values)]
                ax.hist(values, bins=20, range=(0, max(1.0, values.max() if values.size else 1.0)),
                        histtype="step", lw=1.5, color=f"C{i}", label=f"{names[c]} (n={values.size})")
            ax.set_title(split)
            ax.set_xlabel(label)
        axes[0].set_ylabel("nodes")
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{label} per node, by condition (undefined values left out)")
        save(fig, name)


def _figure5(plt, save, dynamics):
    """Figure 5: MFR (and MF) during training, true labels then shuffled labels."""
    fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, layout="constrained")
    for ax, col, label in ((axes[0], "mfr", "MFR (spikes/sample)"), (axes[1], "mf", "MF")):
        for i, (probe, part) in enumerate(dynamics.groupby("probe", sort=False)):
            ax.plot(part["step"], part[col], color=f"C{i}", lw=1, label=f"{probe} probe (100 samples)")
        switch = dynamics.attrs.get("switch_step")
        if switch is not None:
            ax.axvline(switch + 0.5, color="k", ls="--", lw=1, label="labels shuffled")
        for step in dynamics.attrs.get("alarms", []):
            ax.axvline(step, color="r", ls=":", lw=1)
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("batch (red dotted: FiringRateMonitor alarm)")
    fig.suptitle("Figure 5: MFR during training, true labels then shuffled labels")
    save(fig, "fig5_mfr_during_training")


def _figure2(plt, save, recordings, conditions, layer, seed):
    """Figure 2: cumulative counts against simulated Bernoulli processes, Generalizing (or first) test recording."""
    from ..plotting import plot_cumulative_counts

    c = "Generalizing" if "Generalizing" in conditions else conditions[0]
    rec = recordings.get((c, "test", layer))
    if rec is not None:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        plot_cumulative_counts(rec[0], null="bernoulli", rate="node", n_surrogates=50, seed=seed, ax=ax)
        ax.set_title(f"Figure 2: {c}/test, observed cumulative counts vs Bernoulli at each node's rate")
        save(fig, "fig2_cumulative_counts")


#: What the temporal statistics (dispersion ratios, Fano, Ljung-Box and ADF tests, Figure 2) mean under each order.
ORDER_TEXT = {
    "shuffled": "The samples were recorded in a random order (`--order shuffled`, the paper's protocol). Shuffling "
                "a fixed dataset produces exactly the null of independent spiking at each unit's spike count, so "
                "the temporal statistics — `dispersion`, `cv_dispersion`, `lv_dispersion`, the Fano-factor test "
                "against Bernoulli, Ljung-Box, ADF and Figure 2 — are **null by construction**: they check the input "
                "order, not the network, and are shown as that check, not as findings. The network's structure is "
                "in the rates and in how they depend on the class (the population statistics).",
    "by-class": "The samples were recorded sorted by class (`--order by-class`, random within a class), so the "
                "temporal statistics test whether the units' firing depends on the class: a dispersion far above 1 "
                "means the rate changes between classes. They measure class tuning seen through the order, not "
                "dynamics of the network (which has none: each sample is one forward pass).",
    "dataset": "The samples were recorded in the order in which the dataset stores them (`--order dataset`). The "
               "temporal statistics test that order: if the dataset is grouped by class they measure class tuning; "
               "if it is shuffled they are null by construction.",
}

HYPOTHESES_TEXT = (
    "H1: memorizing networks fire less (MFR below Generalizing). H3: Random and Generalizing networks are similar — "
    "shown only by an equivalence test (TOST on the mean unit rate with the stated margin); a KS test that does not "
    "reject is not evidence of similarity, and its D is given as an effect size. H7: the patterns are similar on "
    "training and test data — the same units on both splits, so paired tests (paired TOST, Wilcoxon signed-rank, "
    "the per-unit rate correlation). 'Higher MF' is not listed: it restates H1 (see Table 5).")


def _identity_text(table) -> str:
    """One paragraph: MF against 1 - MFR (the Bernoulli identity), measured on this run's rows."""
    if not {"mf", "mf_bernoulli", "mfr_per_sample"} <= set(table.columns) or len(table) < 3:
        return ("The headline is `mean_dispersion`, the Fano factor over its exact null E[F | K] (mean 1 for "
                "independent spiking at any length).")
    mf, rate, null = (table[c].to_numpy(dtype=float) for c in ("mf", "mfr_per_sample", "mf_bernoulli"))
    ok = np.isfinite(mf) & np.isfinite(rate) & np.isfinite(null)
    r = np.corrcoef(mf[ok], 1 - rate[ok])[0, 1] if ok.sum() > 2 else float("nan")
    gap = np.max(np.abs(mf[ok] - null[ok])) if ok.any() else float("nan")
    return ("The headline is `mean_dispersion`, the Fano factor over its exact null E[F | K] (mean 1 for independent "
            "spiking at any length), with its standard error. MF is the Bernoulli identity: a thresholded unit's "
            f"Fano factor is about 1 − λ, and here corr(MF, 1 − MFR) = {r:.4f} over {int(ok.sum())} rows, with MF "
            f"within {gap:.3f} of its null in every row. A difference in MF between conditions is therefore a "
            "difference in rate (H1), not a finding about variability.")


def write_report(config, table: pd.DataFrame, tables: dict, figures, *, window_note="", same_as=None,
                 seconds=None) -> str:
    """The run's ``report.md``: settings, our tables against the paper's, hypotheses, figures."""
    same_as = same_as or {}
    lines = [f"# ann2neo reproduce: {config.architecture} width {config.width} on {config.source}", "",
             f"Seed {config.seed}; {config.epochs} epochs on true labels, {config.mem_epochs} on shuffled labels; "
             f"SGD lr {config.learning_rate}, batch {config.batch_size}, validation split {config.validation_split}. "
             f"Fano window {int(table['window_samples'].iloc[0])} samples"
             + (f" ({window_note})." if window_note else " (the paper's).")
             + (f" Run time {seconds:.0f} s." if seconds is not None else ""), ""]
    for c, s in same_as.items():
        lines += [f"- **{c} coincides with {s}** for this architecture (same start, labels and trainable "
                  "layers); its rows repeat that network.", ""]
    flagged = table[table["flags"] != ""]
    if len(flagged):
        lines += ["## Flags", ""] + [f"- **{r.condition}/{r.split}**: {r.flags}" for r in flagged.itertuples()] + [""]
    lines += ["## Table 1: accuracy (fraction)", "", to_markdown(tables["table1"]),
              "## Table 2: firing rates, ours against the paper's MNIST values", "",
              "The paper's values are for the full MNIST (60,000/10,000 samples); ours come from "
              f"{config.source}, so only the direction of the differences is comparable.", "",
              to_markdown(tables["table2"], ".2f"),
              "## Sample order: what the temporal statistics test", "",
              ORDER_TEXT[getattr(config, "order", "shuffled")], "",
              "## Table 5: variability against its exact null", "", _identity_text(table), "",
              to_markdown(tables["table5"]),
              "## Hypotheses of section 3.2, cell by cell", "", HYPOTHESES_TEXT, "",
              to_markdown(tables["hypotheses"])]
    failing = tables["hypotheses"][tables["hypotheses"]["reason"].fillna("") != ""]
    if len(failing):
        lines += ["Rows that do not hold, and why:", ""]
        lines += [f"- {r.hypothesis}, {r.condition} ({r.split}): {r.reason}" for r in failing.itertuples()] + [""]
    lines += ["## Figures", ""]
    for f in figures:
        if f.suffix == ".png":
            lines += [f"![{f.stem}](figures/{f.name})", ""]
    return "\n".join(lines)


def write_grid_figure(folder, grid: pd.DataFrame) -> list:
    """Figure 4 over a grid: MFR, CV FR, MF, CV FF against width, Generalizing against memorizing.

    Parameters
    ----------
    folder : Path
    grid : pandas.DataFrame
        ``grid.csv`` (every cell's rows with ``architecture``, ``width``, ``dataset``).

    Returns
    -------
    list of Path
        ``fig4_by_width.png`` and ``.svg``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io._atomic import atomic_path

    test = grid[grid["split"] == "test"]
    if "same_as" in test:
        test = test[test["same_as"].isna() | (test["same_as"].astype(str) == "")]
    groups = {"Random": ["Random"], "Generalizing": ["Generalizing"], "memorizing": list(_MEMORIZING)}
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), layout="constrained")
    keys = list(dict.fromkeys(zip(test["architecture"], test["dataset"], strict=True)))
    for ax, (col, label) in zip(axes, [("mfr_per_sample", "MFR (spikes/sample)"), ("cv_fr_pct", "CV FR (%)"),
                                       ("mf", "MF"), ("cv_ff_pct", "CV FF (%)")], strict=True):
        for i, (group, members) in enumerate(groups.items()):
            for k, (arch, data) in enumerate(keys):
                part = test[test["condition"].isin(members) & (test["architecture"] == arch)
                            & (test["dataset"] == data)]
                if not len(part):
                    continue
                ax.scatter(part["width"] * (1 + 0.04 * (i - 1)), part[col], color=f"C{i}",
                           marker="osD^v"[k % 5], s=30, label=f"{group} ({arch}, {data})")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width of the observed layer")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=6)
    fig.suptitle("Figure 4: test-split statistics by width, Random / Generalizing / memorizing")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for ext in ("png", "svg"):
        with atomic_path(folder / f"fig4_by_width.{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=110, bbox_inches="tight")
        written.append(folder / f"fig4_by_width.{ext}")
    plt.close(fig)
    return written
