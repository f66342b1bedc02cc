"""Paper-style tables, figures and the run's ``report.md`` (arXiv:2308.00858 Tables 1, 2, 5; Figures 2, 3, 6).

Everything here reads the main table of :func:`ann2neo.experiments.reproduce.reproduce`
and the recordings; matplotlib is imported inside the figure function.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

__all__ = ["PAPER_TABLE2", "HYPOTHESIS_COLUMNS", "ORDER_TEXT", "POPULATION_SHUFFLES", "POPULATION_COLUMNS",
           "table1", "table2", "table5", "hypotheses", "population_statistics", "population_table",
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
                 seconds=None, population=None) -> str:
    """The run's ``report.md``: settings, our tables against the paper's, hypotheses, population statistics, figures.

    ``population`` is :func:`population_table`'s table (its section is left out without it).
    """
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
    if population is not None and len(population):
        lines += ["## Population statistics", "", _population_text(population), "",
                  "Each cell: the statistic, then its control in brackets.", "",
                  to_markdown(_population_report_table(population))]
        noted = population[population["note"].fillna("") != ""]
        if len(noted):
            lines += ["Notes:", ""] + [f"- {r.condition}/{r.split}: {r.note}" for r in noted.itertuples()] + [""]
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


# -- population statistics (issue 14 C) -----------------------------------------------------------------------------
#: Shuffles per control in :func:`population_statistics` (few, to keep ``reproduce`` fast; each control's value is
#: the mean over them).
POPULATION_SHUFFLES = 5
#: Columns of ``population.csv`` after ``condition``, ``split``, ``layer`` (see docs/reproduce.md).
POPULATION_COLUMNS = ("n_samples", "n_units", "n_classes", "n_shuffles", "fdr_alpha",
                      "fraction_selective", "fraction_selective_shuffled", "median_eta2", "median_eta2_shuffled",
                      "noise_corr_mean", "noise_corr_sd", "noise_corr_n_pairs",
                      "noise_corr_mean_shuffled_within", "noise_corr_sd_shuffled_within",
                      "pr", "pr_norm", "pr_shuffled_all", "pr_norm_shuffled_all",
                      "pr_shuffled_within", "pr_norm_shuffled_within",
                      "decode_accuracy", "decode_chance", "decode_accuracy_shuffled",
                      "lifetime_sparseness_mean", "population_sparseness_mean", "note")


def population_statistics(data, labels=None, *, seed=0, n_shuffles=POPULATION_SHUFFLES, alpha=0.05) -> dict:
    r"""Population statistics of one recording, each beside its shuffle control: one row of ``population.csv``.

    The trials are the recorded samples and their condition is the class label
    (for ``reproduce``: the sample's true class, on every network and split).

    * Selectivity (:func:`ann2neo.selectivity`): the fraction of units whose
      one-way ANOVA over the classes rejects after Benjamini-Hochberg at
      ``alpha``, and the median :math:`\eta^2` over units with a defined one.
      Control: the class labels permuted over the samples
      (:func:`ann2neo.trial_surrogates`, ``method="labels"``): no unit is
      tuned, so the fraction selective is near 0 (under this complete null
      Benjamini-Hochberg rejects anything with probability at most
      ``alpha``), and :math:`\eta^2` is its small-sample bias, about
      (k - 1) / (N - 1) for k classes and N samples.
    * Noise correlations (:func:`ann2neo.correlations`, ``kind="noise"``):
      mean and SD over the pairs of units with a defined coefficient.
      Control: each unit's samples permuted independently within each class
      (``method="within"``), which keeps every tuning curve and **removes the
      noise correlations by construction**: its SD is the sampling spread of a
      zero correlation at this number of samples.
    * Dimensionality (:func:`ann2neo.participation_ratio` of the total
      covariance), also divided by the number of units.  Controls: each
      unit's samples permuted over all samples (``"all"``: independent units
      with the same rates, the ceiling the rates allow) and within each class
      (``"within"``: the tuning kept, the noise correlations removed).
    * Decoding (:func:`ann2neo.decode`): 5-fold cross-validated accuracy of
      the class from the population's spike pattern (the default
      ``RidgeClassifier``), the chance level (the most frequent class) and the
      accuracy with permuted class labels (no permutation p-value: with
      ``n_shuffles`` permutations it cannot fall below 1 / (1 + n_shuffles)).
    * Sparseness (:func:`ann2neo.sparseness`, ``over="conditions"``): the mean
      lifetime sparseness of the units' tuning curves and the mean population
      sparseness of the classes' mean responses.  Over single samples of a
      binary layer both would only restate the rate (a unit's lifetime
      sparseness is :math:`(1 - p) / (1 - 1/n)`, with p its spike
      probability); over the class means they carry the tuning.  No control.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_samples, n_units)
        A recording with the class as its condition, or a spike (count)
        matrix with ``labels``.
    labels : array_like (n_samples,), optional
        The class of each sample (a Recording carries its own).
    seed : int, default 0
        Seeds every shuffle and the decoder's folds.
    n_shuffles : int, default :data:`POPULATION_SHUFFLES`
        Shuffles per control (>= 1); each control is the mean over them.
    alpha : float, default 0.05
        False discovery rate of the selectivity test.

    Returns
    -------
    dict
        :data:`POPULATION_COLUMNS` as keys; ``note`` joins, with ``"; "``, what
        the statistics flagged as undefined or biased at this size.

    Raises
    ------
    ValueError
        Without labels, with fewer than two classes, or ``n_shuffles < 1``.

    References
    ----------
    Benjamini & Hochberg (1995); Cohen & Kohn (2011), Nat Neurosci 14:811
    (noise correlations); Gao et al. (2017), bioRxiv 214262 (participation
    ratio); Vinje & Gallant (2000), Science 287:1273 (sparseness).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lab = np.repeat(np.arange(4), 100)
    >>> x = rng.random((400, 12)) < np.where(np.arange(12) % 4 == lab[:, None], 0.8, 0.2)
    >>> row = population_statistics(x, lab, seed=0)
    >>> row["fraction_selective"], row["fraction_selective_shuffled"] < 0.2
    (1.0, True)
    >>> round(row["decode_accuracy"], 2), row["decode_chance"], row["decode_accuracy_shuffled"] < 0.3
    (0.86, 0.25, True)
    """
    from ..core.recording import Recording
    from ..core.validation import check_integer

    n_shuffles = check_integer(n_shuffles, "n_shuffles", min_value=1)
    if not isinstance(data, Recording):
        if labels is None:
            raise ValueError("population statistics need the class of each sample: pass labels=")
        data = np.asarray(data)
    with _one_thread():  # small matrices: thread pools only add overhead (and contention on shared CPUs)
        return _population_row(data, labels, seed, n_shuffles, alpha)


@contextlib.contextmanager
def _one_thread():
    """BLAS/OpenMP pools and numba's parallel kernels on one thread, restored after.

    The matrices here are small (a layer's units): thread start-up and
    contention cost more than they save (numba's parallel popcount Gram of
    1,347 x 8 spikes: 40 ms on 2 busy cores against 0.1 ms on one thread).
    """
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(1))
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            pass
        try:
            import numba
        except ImportError:  # pragma: no cover - numba is optional
            numba = None
        if numba is not None:
            before = numba.get_num_threads()
            numba.set_num_threads(1)
            stack.callback(numba.set_num_threads, before)
        yield


def _population_row(data, labels, seed, n_shuffles, alpha):
    from ..analysis import correlations, decode, participation_ratio, selectivity, sparseness, trial_surrogates
    from ..core.recording import Recording

    rng = np.random.default_rng(seed)
    notes = []

    def note(found):
        notes.extend(n for n in found if n not in notes)

    def surrogate(method):  # (data, labels) of one control
        out = trial_surrogates(data, labels, method=method, seed=rng)
        return (out, None) if isinstance(out, Recording) else out

    sel = selectivity(data, labels, alpha=alpha, mi_correction=None)
    note(n for n in sel.notes if not n.startswith("MI "))
    eta2 = sel.table["eta2"].to_numpy()
    sel_null = [selectivity(*surrogate("labels"), alpha=alpha, mi_correction=None) for _ in range(n_shuffles)]
    noise = correlations(data, labels, kind="noise")
    note(noise.notes)
    noise_null = [correlations(*surrogate("within"), kind="noise") for _ in range(n_shuffles)]
    pr_all = participation_ratio(data, labels, n_shuffles=n_shuffles, shuffle="all", seed=rng)
    pr_within = participation_ratio(data, labels, n_shuffles=n_shuffles, shuffle="within", seed=rng)
    note(pr_all.notes)
    try:
        dec = decode(data, labels, n_shuffles=n_shuffles, seed=int(rng.integers(2 ** 31)))
        decoded = (dec.accuracy, dec.chance, float(dec.shuffled.mean()))
    except ValueError as err:  # a class with fewer samples than folds
        decoded = (np.nan,) * 3
        note([f"decoding undefined: {err}"])
    sp = sparseness(data, labels, over="conditions")
    note(sp.notes)
    n_units = pr_all.n_units

    def mean_of(values):
        values = np.asarray(values, dtype=float)
        return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan

    def median_eta2(s):
        e = s.table["eta2"].to_numpy()
        return float(np.nanmedian(e)) if np.isfinite(e).any() else np.nan

    return {"n_samples": int(pr_all.n_observations), "n_units": int(n_units), "n_classes": int(len(sp.labels)),
            "n_shuffles": n_shuffles, "fdr_alpha": float(alpha),
            "fraction_selective": sel.fraction_selective,
            "fraction_selective_shuffled": mean_of([s.fraction_selective for s in sel_null]),
            "median_eta2": float(np.nanmedian(eta2)) if np.isfinite(eta2).any() else np.nan,
            "median_eta2_shuffled": mean_of([median_eta2(s) for s in sel_null]),
            "noise_corr_mean": noise.mean, "noise_corr_sd": noise.sd, "noise_corr_n_pairs": int(noise.values.size),
            "noise_corr_mean_shuffled_within": mean_of([c.mean for c in noise_null]),
            "noise_corr_sd_shuffled_within": mean_of([c.sd for c in noise_null]),
            "pr": pr_all.value, "pr_norm": pr_all.value / n_units,
            "pr_shuffled_all": mean_of(pr_all.shuffled), "pr_norm_shuffled_all": mean_of(pr_all.shuffled) / n_units,
            "pr_shuffled_within": mean_of(pr_within.shuffled),
            "pr_norm_shuffled_within": mean_of(pr_within.shuffled) / n_units,
            "decode_accuracy": decoded[0], "decode_chance": decoded[1], "decode_accuracy_shuffled": decoded[2],
            "lifetime_sparseness_mean": mean_of(sp.lifetime), "population_sparseness_mean": mean_of(sp.population),
            "note": "; ".join(notes)}


def population_table(recordings: dict, labels: dict, *, seed=0, n_shuffles=POPULATION_SHUFFLES, alpha=0.05,
                     same_as=None) -> pd.DataFrame:
    """``population.csv``: :func:`population_statistics` for every condition, split and layer of a run.

    Parameters
    ----------
    recordings : dict
        ``(condition, split, layer)`` -> ``(spikes, NetworkAnalysis)`` (or the
        spike matrix alone), spikes of shape (n_samples, n_units) in the
        recorded order.
    labels : dict
        ``split`` -> the class of each recorded sample (same order).
    seed : int, default 0
        Every recording's statistics are seeded with it (reproducible runs).
    n_shuffles : int, default :data:`POPULATION_SHUFFLES`
    alpha : float, default 0.05
    same_as : dict, optional
        ``condition -> condition`` whose network it is: its rows are copied,
        not computed again.

    Returns
    -------
    pandas.DataFrame
        One row per condition, split and layer: ``condition``, ``split``,
        ``layer``, then :data:`POPULATION_COLUMNS`.
    """
    same_as = same_as or {}
    rows, done = [], {}
    for (condition, split, layer), rec in recordings.items():
        spikes = rec[0] if isinstance(rec, tuple) else rec
        source = (same_as.get(condition), split, layer)
        if source in done:
            row = dict(done[source])
        else:
            row = population_statistics(spikes, labels[split], seed=seed, n_shuffles=n_shuffles, alpha=alpha)
            done[(condition, split, layer)] = row
        rows.append({"condition": condition, "split": split, "layer": layer, **row})
    return pd.DataFrame(rows, columns=["condition", "split", "layer", *POPULATION_COLUMNS])


def _fmt(value, fmt=".3f") -> str:
    """``format`` without a negative zero ("-0.000" is shown as "0.000")."""
    text = format(value, fmt)
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _range(values, fmt=".3f") -> str:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "undefined"
    lo, hi = _fmt(v.min(), fmt), _fmt(v.max(), fmt)
    return lo if lo == hi else f"{lo} to {hi}" if hi.startswith("-") or lo.startswith("-") else f"{lo}–{hi}"


def _population_report_table(pop: pd.DataFrame) -> pd.DataFrame:
    """The report's view of ``population.csv``: each statistic as "data (control)" in one cell."""
    def pair(a, b, fmt=".3f"):
        return [f"{_fmt(x, fmt)} ({_fmt(y, fmt)})" if np.isfinite(x) else "–" for x, y in zip(pop[a], pop[b],
                                                                                              strict=True)]

    multi = pop["layer"].nunique() > 1
    out = pd.DataFrame({"condition": pop["condition"], "split": pop["split"],
                        **({"layer": pop["layer"]} if multi else {})})
    out["selective (labels shuffled)"] = pair("fraction_selective", "fraction_selective_shuffled", ".2f")
    out["median η² (labels shuffled)"] = pair("median_eta2", "median_eta2_shuffled", ".4f")
    out["noise-corr SD (within-class perm.)"] = pair("noise_corr_sd", "noise_corr_sd_shuffled_within")
    out["noise-corr mean (within-class perm.)"] = pair("noise_corr_mean", "noise_corr_mean_shuffled_within")
    out["PR (all / within perm.)"] = [f"{p:.1f} ({a:.1f} / {w:.1f})" if np.isfinite(p) else "–" for p, a, w in
                                      zip(pop["pr"], pop["pr_shuffled_all"], pop["pr_shuffled_within"], strict=True)]
    out["PR / units"] = pop["pr_norm"].map(lambda v: f"{v:.3f}" if np.isfinite(v) else "–")
    out["decoding (chance / labels shuffled)"] = [
        f"{a:.3f} ({c:.3f} / {s:.3f})" if np.isfinite(a) else "–"
        for a, c, s in zip(pop["decode_accuracy"], pop["decode_chance"], pop["decode_accuracy_shuffled"], strict=True)]
    out["lifetime S"] = pop["lifetime_sparseness_mean"]
    out["population S"] = pop["population_sparseness_mean"]
    return out


def _population_text(pop: pd.DataFrame) -> str:
    """The report's paragraphs on the population statistics, with this run's numbers (never fixed ones)."""
    if not len(pop):
        return "No recording was analysed."
    n = int(pop["n_shuffles"].iloc[0])
    alpha = float(pop["fdr_alpha"].iloc[0])
    by = {c: part for c, part in pop.groupby("condition", sort=False)}
    pr_by = "; ".join(f"{c} {_range(part['pr'], '.1f')}" for c, part in by.items())
    return "\n\n".join([
        "The trials are the recorded samples and each sample's condition is its **true class**, for every network "
        "and split (also the train split of a memorizing network, which was trained on shuffled labels). Each "
        f"statistic stands beside its control, the mean over {n} shuffles (few, to keep the run short; their "
        "spread is not estimated, so a difference of the size of the control's own sampling noise is not a "
        "finding). Full columns: `population.csv` (see docs/reproduce.md).",
        f"- **Selectivity**: the fraction of units whose one-way ANOVA over the classes rejects after "
        f"Benjamini-Hochberg at FDR {alpha:g} — here {_range(pop['fraction_selective'], '.2f')}, against "
        f"{_range(pop['fraction_selective_shuffled'], '.2f')} with the class labels shuffled (the null: near 0; "
        f"anything is rejected with probability at most {alpha:g}). With thousands of samples a tiny class "
        "dependence is significant, so the median η² (the share of a unit's variance explained by the class) "
        "is the effect size: "
        f"{_range(pop['median_eta2'], '.4f')}, against its small-sample bias of "
        f"{_range(pop['median_eta2_shuffled'], '.4f')} under shuffled labels. It shows that the rates depend on "
        "the class, not how the units are tuned or whether the network uses it. On binary samples η² is the "
        "chi-square of the unit's spike × class table over N.",
        f"- **Noise correlations**: the correlation of two units' spikes across samples of one class. A network "
        "is deterministic: this 'noise' is the variation between different images of a class, not trial-to-trial "
        f"noise. SD over pairs {_range(pop['noise_corr_sd'])} (mean {_range(pop['noise_corr_mean'])}); after "
        "permuting each unit's samples independently within each class — which keeps every tuning curve and "
        "removes the noise correlations **by construction** — the SD is "
        f"{_range(pop['noise_corr_sd_shuffled_within'])} (mean {_range(pop['noise_corr_mean_shuffled_within'])}), "
        "the sampling spread of zero correlations at this number of samples. An SD above the control's shows "
        "shared within-class variation; it cannot say which image features cause it.",
        f"- **Participation ratio** of the total covariance (its dimensionality, 1 to the number of units): "
        f"{pr_by}. Controls: each unit's samples permuted over all samples (independent units with the same "
        f"rates, the ceiling the rates allow) {_range(pop['pr_shuffled_all'], '.1f')}, and within each class (the "
        f"tuning kept, noise correlations removed) {_range(pop['pr_shuffled_within'], '.1f')}. Below the "
        "within-class control the units co-vary beyond their tuning; between the two controls is the "
        "dimension the class tuning takes away. The sample PR is biased downwards when samples are fewer than "
        "~10 per unit (the `note` column says where), so compare rows of one split only.",
        f"- **Decoding**: the class read from the population's spike pattern by a linear classifier (ridge, "
        f"5-fold cross-validated): {_range(pop['decode_accuracy'])}, chance (the most frequent class) "
        f"{_range(pop['decode_chance'])}, with shuffled labels {_range(pop['decode_accuracy_shuffled'])}. It shows "
        "how much class information a linear readout finds in one sample's spikes, not that the network uses "
        "it the same way (the network's own output reads the continuous activations).",
        f"- **Sparseness** (Vinje & Gallant), over the class means: lifetime (per unit, over its "
        f"{_range(pop['n_classes'], '.0f')}-class tuning curve) {_range(pop['lifetime_sparseness_mean'])}, "
        f"population (per class, over units) "
        f"{_range(pop['population_sparseness_mean'])}; 0 is a flat, 1 a one-class response. Over single samples "
        "of a binary layer both would only restate the rate (a unit's lifetime sparseness is (1 − p)/(1 − 1/n) "
        "with p its spike probability), so they are taken over the class means. No control."])
