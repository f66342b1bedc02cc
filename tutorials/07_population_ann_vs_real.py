# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 7 — an ANN layer against real neurons on population and stimulus-conditioned statistics
#
# Tutorial 3 compared an ANN layer with recorded units on single-train statistics (rates, CV, LV,
# Fano factor against the window). Neuroscientists also ask how a population responds to a
# stimulus: how strongly each unit is **tuned** to the condition, how **selective** and how
# **sparse** the responses are, how much units **co-vary** from trial to trial, and how many
# **dimensions** the population response spans. `ann2neo.compare` reports these side by side in
# `result.population`, computing each side through the same public functions
# (`ann2neo.tuning`, `selectivity`, `sparseness`, `correlations`, `participation_ratio`,
# `trial_fano_factor`), each next to a control, and saying in a `note` where a number is
# undefined or not comparable.
#
# Two recordings (see `shared/data/real_neurons/README.md`):
#
# * (a) `10_spikes-1.mat`: **one** neuron of the human subthalamic nucleus over 50 trials of 2 s,
#   each trial cued left or right (condition `direction`);
# * (b) `all_unit.mat`: 16 hippocampal units recorded for 1000 s, with no trials and no
#   conditions.
#
# Run it as a script (`python tutorials/07_population_ann_vs_real.py`, about 20 s on 2 cores; it
# writes `tutorial-output/`) or open it as a notebook with jupytext. No Keras needed: the network
# is a small scikit-learn MLP.

# %%
import os
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import quantities as pq

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

import ann2neo
from ann2neo.analysis.compare import compare
from ann2neo.analysis.statistics import SmallSampleWarning

warnings.simplefilter("ignore", SmallSampleWarning)  # the KS flags are in result.ks["note"]; we read them there
pd.set_option("display.width", 160)
OUT = Path("tutorial-output")
OUT.mkdir(exist_ok=True)
# The recordings: $ANN2NEO_REAL_NEURONS, else `shared/data/real_neurons` beside the repository.
DATA = Path(os.environ.get("ANN2NEO_REAL_NEURONS",
                           Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_neurons"))

# %% [markdown]
# ## 1. An ANN layer whose trials have conditions
#
# We train a small MLP (32 ReLU hidden units) to tell the digits 0 and 1 apart (scikit-learn's
# digits: 360 images), and record its hidden layer on those images: a node spikes on an image when
# its activation is above 0, as in arXiv:2308.00858. In ann2neo's data model
# (`ann2neo.Recording`) every image is a **trial of one sample** (one bin, a count of 0 or 1) and
# its class is the trial's **condition**, just as `direction` is the condition of an STN trial.

# %%
digits = load_digits()
two = digits.target < 2
x2, y2 = digits.data[two] / 16.0, digits.target[two]
mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0).fit(x2, y2)


def hidden_spikes(x):
    """The hidden layer's spikes: ReLU activation above 0 (ann2neo.binarize)."""
    return ann2neo.binarize(np.maximum(x @ mlp.coefs_[0] + mlp.intercepts_[0], 0), threshold=0.0, layer="hidden")


ann = ann2neo.Recording.from_matrix(hidden_spikes(x2), labels=y2, layer="hidden")
print(ann, "accuracy", mlp.score(x2, y2))

# %% [markdown]
# ## 2. (a) One STN neuron over 50 trials, left against right
#
# `ann2neo.read` turns the trial × 1 ms matrix into a Recording of 1 unit × 50 trials × 2000 bins
# (−1 s to +1 s around the GO cue) whose condition is `direction` (0 = left, 1 = right; we name the
# values). **Trials are not units**: this is one neuron, seen 50 times.

# %%
stn = ann2neo.read(DATA / "10_spikes-1.mat", bin_width=1 * pq.ms)
stn.trials["direction"] = stn.trials["direction"].map({0: "left", 1: "right"})
print(stn)

result = compare(ann, stn, sample_duration=1 * pq.ms, n_shuffles=5, seed=0)
pop = result.population
pop.to_csv(OUT / "population_stn.csv", index=False)


def side_by_side(table, statistics):
    """ANN and recording next to each other: value and control of the statistics over all conditions."""
    keep = table[table["statistic"].isin(statistics) & (table["condition"] == "all")]
    sides = [keep[keep["population"] == p].set_index("statistic")[["value", "control"]].add_prefix(f"{p}_")
             for p in ("ann", "real")]
    return pd.concat(sides, axis=1, sort=False)


def per_condition(table, statistics):
    """The per-condition rows of each side (the two sides have different conditions: classes, directions)."""
    keep = table[table["statistic"].isin(statistics) & (table["condition"] != "all")]
    return keep[["population", "statistic", "condition", "value", "control", "n_observations"]]


# %% [markdown]
# **Tuning** — the mean rate in each condition, with its standard error over the condition's
# trials (`ann2neo.tuning`). Each side stays in its own unit: the ANN's "rate" is a spike
# probability per sample (1/sample), the neuron's is in Hz. They meet only through
# `sample_duration` (how long one sample is taken to last), a modelling choice the `note` states;
# an ANN node at 0.3/sample is "300 Hz" at 1 ms per sample and "30 Hz" at 10 ms.

# %%
rates = pop[pop["statistic"] == "rate"]
print(rates[["population", "condition", "value", "se", "value_unit", "n_units", "n_observations"]].to_string())
print(rates["note"].iloc[0])

# %% [markdown]
# **Selectivity** — does the response depend on the condition? Per unit a one-way ANOVA over the
# conditions (`ann2neo.selectivity`); `fraction_selective` counts the units significant after the
# Benjamini–Hochberg correction, `median_eta2` is the share of the response variance explained by
# the condition, and with two conditions `d_prime` is the distance between the two mean responses
# in pooled standard deviations. The `control` shuffles the condition labels over trials: what
# the same statistic gives with no tuning at all (η² is above 0 even then).
#
# **Sparseness** (Vinje & Gallant 2000) — `lifetime_sparseness`: does a unit answer to few
# conditions (1) or to all alike (0)? With only two conditions it is coarse. `population_sparseness`
# asks how few units carry the response to a condition; it needs several units.
#
# **Across-trial Fano factor** — the variance over the mean of the spike count across the trials
# of one condition (`ann2neo.trial_fano_factor`, Churchland et al. 2010): how reliable the
# response to the same stimulus is. Its `control` is each side's exact null: for the neuron a
# Poisson process, (n − 1)/n with ddof = 0; for the ANN the count of a one-sample trial is 0 or 1,
# so the Fano factor is 1 − p **by construction** — it restates the spike probability and says
# nothing about reliability (a deterministic network gives the same spikes to the same image).

# %%
print(side_by_side(pop, ["fraction_selective", "median_eta2", "d_prime", "lifetime_sparseness"])
      .to_string(float_format="%.3f"))
print(per_condition(pop, ["population_sparseness", "trial_fano_factor"]).to_string(index=False, float_format="%.3f"))

# %% [markdown]
# What these numbers can and cannot show:
#
# * The STN neuron **is** selective: about 59 Hz over the left-cued trials against 35 Hz over the
#   right-cued ones, d′ ≈ 5.5 (negative: right below left; the note gives the sign), far above its
#   label-shuffle control. Most ANN nodes are selective for the class too (d′ ≈ 1). That both
#   respond differently to their two conditions is the comparable statement; the size of d′ and η²
#   is not: a 2 s spike count is nearly continuous, a one-sample count is 0 or 1, and the fraction
#   selective grows with the number of trials (power).
# * The neuron's across-trial Fano factor is below the Poisson value within each direction (more
#   reliable than Poisson), while over all 50 trials together it is about 6.6 (`ann2neo.analyze`):
#   the condition explains most of the trial-to-trial variance. The ANN's is 1 − p, its own
#   control, by construction.
# * With **one** unit there are no pairs and no population: noise correlations, population
#   sparseness, the participation ratio are undefined, and the table says so instead of
#   returning a silent NaN:

# %%
one_unit = pop[(pop["population"] == "real") & pop["value"].isna()]
print(one_unit[["statistic", "condition", "note"]].to_string(index=False))

# %% [markdown]
# ## 3. (b) 16 hippocampal units, no conditions: the population level
#
# `all_unit.mat` holds 16 units over 1000 s (the file does not say when the recording stopped, so
# `t_stop` is given). It has one trial and no condition, so tuning and selectivity are undefined
# for it. What remains is the population level, which needs **observations**: here the spike
# counts in 100 ms bins (`population_bin`), 10,000 of them; for the ANN, its trials (samples).
# For the ANN side we record the same hidden layer (trained on 0 and 1 only) on all 1,797 digits,
# their ten classes as conditions.

# %%
hpc = ann2neo.read(DATA / "all_unit.mat", t_stop=1000 * pq.s)
ann_all = ann2neo.Recording.from_matrix(hidden_spikes(digits.data / 16.0), labels=digits.target, layer="hidden")
result_b = compare(ann_all, hpc, sample_duration=1 * pq.ms, population_bin=100 * pq.ms, n_shuffles=5, seed=0)
pop_b = result_b.population
pop_b.to_csv(OUT / "population_hippocampus.csv", index=False)
print(hpc, "|", ann_all)

# %% [markdown]
# **Total correlations** — the Pearson correlation of two units' counts over the observations
# (`ann2neo.correlations`), summarised by its mean and SD over all pairs; the control permutes each
# unit's observations independently (no co-variation left). For the ANN it is the phi coefficient
# of two nodes' spike/no-spike over the images. It depends on the observation: a 100 ms bin and a
# sample are not the same thing, and wider bins give larger correlations of the same spikes.
#
# **Dimensionality** — the participation ratio (Σλ)²/Σλ² of the covariance eigenvalues
# (`ann2neo.participation_ratio`): 1 when one direction holds all the variance, `n_units` for
# equal independent units. Divided by `n_units` it can be set against a population of another size;
# the shuffle control is the ceiling the rates alone would give.
#
# **Sparseness over observations** — how few units are active in an observation (population) and
# in how few observations a unit is active (lifetime). On binary one-sample trials both restate
# the rates (the note says so).

# %%
print(side_by_side(pop_b, ["total_correlation_mean", "total_correlation_sd", "participation_ratio",
                           "participation_ratio_normalized", "population_sparseness_observations",
                           "lifetime_sparseness_observations"]).to_string(float_format="%.3f"))

# %% [markdown]
# * The hippocampal units fire together: about 70 % of the 100 ms bins are silent for all 16 (the
#   note of `population_sparseness_observations` counts them) and in the others several units fire
#   at once, so the mean correlation is high (about 0.47) and about 2 of 16 dimensions carry the
#   variance, far below the shuffle (about 8). Network events shared by the whole population
#   look like this; so would slow changes of state over the session.
# * The ANN layer spans about 8.6 of 32 dimensions against about 19 for its shuffle: its nodes
#   co-vary because images of one class drive similar nodes. Normalized by the number of units, the
#   two populations are both well below their shuffles; beyond that the comparison depends on the
#   observations: the images are independent draws in a shuffled order, the neurons' bins are
#   consecutive 100 ms of one session (a different bin width gives different correlations).
#   `sample_duration` plays no role here: these statistics are dimensionless.
# * The recording's conditioned rows are undefined ("no condition"), the ANN's are computed:
#   `compare` never invents conditions, and skips the whole population part (with a note in
#   `result.notes`) when neither side has any.

# %%
print(pop_b[(pop_b["population"] == "real") & pop_b["value"].isna()][["statistic", "note"]]
      .drop_duplicates("note").to_string(index=False))

# %% [markdown]
# ## 4. One figure
#
# Each statistic as ANN value, recording value and their controls (dots): a value only means
# something next to its control and in its own observation.

# %%
shown = ["median_eta2", "d_prime", "lifetime_sparseness", "trial_fano_factor"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
table = pop[pop["statistic"].isin(shown)].groupby(["statistic", "population"])[["value", "control"]].mean()
for ax, (title, t) in zip(axes, [("(a) ANN on 2 digits vs one STN neuron", table),
                                 ("(b) ANN on 10 digits vs 16 hippocampal units",
                                  pop_b[pop_b["statistic"].isin(["total_correlation_mean",
                                                                 "participation_ratio_normalized",
                                                                 "population_sparseness_observations"])]
                                  .groupby(["statistic", "population"])[["value", "control"]].mean())],
                          strict=True):
    stats = list(dict.fromkeys(t.index.get_level_values(0)))
    for j, side in enumerate(("ann", "real")):
        values = [t.loc[(s, side), "value"] if (s, side) in t.index else np.nan for s in stats]
        controls = [t.loc[(s, side), "control"] if (s, side) in t.index else np.nan for s in stats]
        pos = np.arange(len(stats)) + (j - 0.5) * 0.35
        ax.bar(pos, values, width=0.35, label=side)
        ax.plot(pos, controls, "k.", label="control" if j else None)
    ax.set_xticks(np.arange(len(stats)), stats, rotation=20, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "population_ann_vs_real.png", dpi=90)
print("wrote", sorted(p.name for p in OUT.iterdir()))
