# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 1 — record a Keras model, then use Elephant on its spike trains
#
# ann2neo turns a layer's activations into spike trains: one input sample is one time step, and
# a node spikes on a sample when its activation is above the threshold (0, as in arXiv:2308.00858).
# The trains are ordinary `neo.SpikeTrain`s in the time unit `ann2neo.sample`, so Elephant's
# functions work on them unchanged.
#
# Run: `python tutorials/01_record_and_elephant.py` (about 30 s on 2 cores; writes `tutorial-output/`).

# %%
from pathlib import Path

import elephant.statistics as es
import matplotlib
import numpy as np
from elephant.conversion import BinnedSpikeTrain

matplotlib.use("Agg")

import ann2neo
from ann2neo.experiments import load_dataset
from ann2neo.experiments.conditions import build_mlp, compile_model, train
from ann2neo.plotting import plot_cumulative_counts

OUT = Path("tutorial-output")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## Train and record
# The paper's MLP (Flatten → Dense(64, relu) → Dense(10)) on scikit-learn's handwritten digits.
# `record` runs the model batch by batch and keeps only the spikes of the chosen layer (default:
# the last hidden layer), as a boolean matrix (samples × nodes). We feed the test digits in a
# shuffled order, so that sample order carries no class structure.

# %%
x_train, y_train, x_test, y_test = load_dataset("digits", seed=0)
model = compile_model(build_mlp(x_train.shape[1:], width=64, seed=0))
train(model, x_train, y_train, epochs=30)
order = np.random.default_rng(0).permutation(len(x_test))
spikes = ann2neo.record(model, x_test[order])["hidden"]
print(spikes.shape, spikes.dtype, "layer", spikes.layer, "threshold", spikes.threshold)

# %% [markdown]
# ## Spike trains, and Elephant on them
# `to_spiketrains` gives one `neo.SpikeTrain` per node: spike times are sample indices, `t_stop`
# is the number of samples, and annotations say which layer and node it is.

# %%
trains = ann2neo.to_spiketrains(spikes, split="test")
st = trains[0]
print(st.annotations["layer"], st.annotations["node"], st.t_start, st.t_stop, st.units)
print("Elephant mean firing rate:", es.mean_firing_rate(st))          # spikes per sample
print("Elephant CV of the ISIs:  ", es.cv(es.isi(st)))
print("Elephant LV:              ", es.lv(es.isi(st)))
binned = BinnedSpikeTrain(trains, bin_size=50 * ann2neo.sample)     # 9 bins of 50 samples
print("Elephant binned counts:", binned.to_array().shape)

# %% [markdown]
# ann2neo computes the same statistics for all nodes in one pass (equal to Elephant's to 1e-12,
# tested) and adds the paper's network summaries: MFR (mean firing rate), MF (mean Fano factor in
# windows of 100 samples), their coefficients of variation, and the ratio of each statistic to
# what independent (Bernoulli) spiking at each node's rate would give at this recording length.

# %%
result = ann2neo.analyze(spikes, window=50)
print({k: result.summary[k] for k in ("mfr", "mf", "null", "mf_null", "mean_dispersion", "n_windows", "flags")})
np.testing.assert_allclose(result.nodes["cv_isi"].iloc[0], es.cv(es.isi(st)), rtol=1e-12)

# %% [markdown]
# A test split of 450 digits gives only 9 windows of 50 samples: the summary's `flags` says so,
# and `analyze` warns (`SmallSampleWarning`). The raw Fano factor is biased at this size; the
# `dispersion` columns are not. Figure 2 of the paper: cumulative spike counts against simulated
# Poisson processes at the network's rate.

# %%
ax = plot_cumulative_counts(spikes, n_surrogates=50, null="bernoulli")
ax.figure.savefig(OUT / "figure2_cumulative_counts.png", dpi=90)
print("wrote", OUT / "figure2_cumulative_counts.png")
