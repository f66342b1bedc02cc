# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 3 — an ANN layer against 16 hippocampal neurons
#
# We put the hidden layer of a small trained network next to 16 units recorded with tetrodes in rat
# hippocampus (`all_unit.mat`, Balbi Lab, QBI; about 1000 s, 35,112 spikes; see
# `shared/data/real_neurons/README.md`), and compare them on the statistics neuroscientists use
# for spike trains. Every statistic is explained where it first appears.
#
# Run it as a script (`python tutorials/03_ann_vs_hippocampus.py`, about a minute on 2 cores; it
# writes `tutorial-output/`) or open it as a notebook with jupytext.

# %%
import os
from pathlib import Path

import matplotlib
import numpy as np
import quantities as pq

matplotlib.use("Agg")

import ann2neo
from ann2neo.analysis.compare import compare
from ann2neo.experiments import load_dataset
from ann2neo.experiments.conditions import build_mlp, compile_model, train
from ann2neo.plotting import plot_comparison

OUT = Path("tutorial-output")
OUT.mkdir(exist_ok=True)
# The recordings: $ANN2NEO_REAL_NEURONS, else `shared/data/real_neurons` beside the repository.
DATA = Path(os.environ.get("ANN2NEO_REAL_NEURONS",
                           Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_neurons"))

# %% [markdown]
# ## 1. The real neurons, in seconds
#
# The MATLAB file holds one vector of spike times (in seconds) per unit. `ann2neo.read` turns it
# into a `Recording` (16 units x 1 trial, in seconds; the file does not state when the recording
# stopped, so `t_stop` is given) and `to_neo()` into `neo.SpikeTrain`s in physical time, keeping
# every spike (some ISIs are below 1 ms, which a 1 ms binning would merge).

# %%
real = ann2neo.read(DATA / "all_unit.mat", variables="unit_t", t_start=0 * pq.s, t_stop=1000 * pq.s)
real_trains = real.to_neo().segments[0].spiketrains  # one trial (segment) of 16 trains
print(len(real_trains), "units,", sum(len(st) for st in real_trains), "spikes")

# %% [markdown]
# **Firing rate** — spikes per second over the recording, `len(train) / (t_stop - t_start)`, the
# same as Elephant's `mean_firing_rate`. **Fano factor** — variance over mean of the spike counts
# in consecutive windows (here 100 ms): 1 for a Poisson process, above 1 when spikes cluster in
# time (bursts, place fields), below 1 when they are regular. **CV** — standard deviation over mean
# of the inter-spike intervals (ISIs): 1 for Poisson. **LV** — local variation, the mean of
# 3((I_i − I_{i+1}) / (I_i + I_{i+1}))² over consecutive ISIs: like the CV, 1 for Poisson, but
# insensitive to slow rate changes (Shinomoto et al. 2003).
#
# ann2neo computes these from the spike times directly (no binning) and, next to each, its ratio to
# what a Poisson process would give *at this sample size* (`dispersion`, `cv_dispersion`,
# `lv_dispersion`): 1 means "as irregular as Poisson".

# %%
table = ann2neo.node_statistics(real_trains, 100 * pq.ms)  # the same function as for a spike matrix
print(table.round(3).to_string())

# %% [markdown]
# ## 2. The ANN layer, in samples
#
# A network's "time" is the order in which samples are fed: sample k is time step k, and a node
# spikes when its activation is above 0. We train the paper's MLP on the scikit-learn digits and
# record its hidden layer on all 1,797 digits, shuffled.

# %%
x_train, y_train, x_test, y_test = load_dataset("digits", seed=0)
model = compile_model(build_mlp(x_train.shape[1:], width=64, seed=0))
train(model, x_train, y_train, epochs=30)
x_all = np.concatenate([x_train, x_test])[np.random.default_rng(0).permutation(len(x_train) + len(x_test))]
spikes = ann2neo.record(model, x_all)["hidden"]
print(spikes.shape, "spikes/sample:", spikes.mean().round(3))

# %% [markdown]
# A binarized node spikes at most once per sample, so its null model is not the Poisson process but
# the **Bernoulli process**: at rate λ per sample, window counts are Binomial with Fano factor
# 1 − λ, and ISIs are geometric with CV √(1 − λ). A node firing on 60 % of the samples *must* have a
# Fano factor near 0.4 if it fires independently — that is arithmetic, not regularity. So we compare
# each side with its own null: the `*_dispersion` columns.

# %% [markdown]
# ## 3. Side by side
#
# `compare` needs one modelling choice made explicit: how long a sample "lasts" (`sample_duration`).
# It only affects the rate axis in Hz, the ms axis of the ANN Fano curve and the binning report;
# the dimensionless shape statistics do not depend on it.

# %%
result = compare(spikes, real_trains, sample_duration=1 * pq.ms)
print(result.summary.round(3).to_string())
print(result.ks.round(4).to_string())
print(result.binning)

# %% [markdown]
# * **Rates**: the recorded units fire at 0.5–5 Hz, the ANN nodes on a large fraction of samples —
#   hundreds of "Hz" at 1 ms per sample. Any rate comparison is a statement about `sample_duration`.
# * **CV and LV relative to their nulls**: the hippocampal units are far more irregular than Poisson
#   (CV/null ≈ 2–4: bursts and place-field firing); the ANN nodes on shuffled digits sit near their
#   Bernoulli null — the order of samples carries no temporal structure.
# * **Fano factor against the window** (`result.fano_curve`): for real neurons F grows with the
#   window (slow rate fluctuations); for the ANN the curve shows what the shuffled sample order does.
# * The KS tests compare the distributions across nodes, Bonferroni-corrected over all quantities.

# %%
print(result.fano_curve.round(3).to_string())
fig = plot_comparison(result, ann=spikes, real=real_trains)
fig.savefig(OUT / "ann_vs_hippocampus.png", dpi=90)
print("wrote", OUT / "ann_vs_hippocampus.png")
