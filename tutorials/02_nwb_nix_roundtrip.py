# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 2 — export to NWB and NIX, read back with ann2neo, Neo and pynapple
#
# One recording, two splits (train and test digits), written once to NWB (pynwb) and once to NIX
# (Neo's NixIO), then read back three ways. Run: `python tutorials/02_nwb_nix_roundtrip.py`
# (about 30 s; writes `tutorial-output/`).

# %%
from pathlib import Path

import elephant.statistics as es
import neo
import numpy as np

import ann2neo
from ann2neo.experiments import load_dataset
from ann2neo.experiments.conditions import build_mlp, compile_model, train

OUT = Path("tutorial-output")
OUT.mkdir(exist_ok=True)

x_train, y_train, x_test, y_test = load_dataset("digits", seed=0)
model = compile_model(build_mlp(x_train.shape[1:], width=32, seed=0))
train(model, x_train, y_train, epochs=20)
rng = np.random.default_rng(0)
segments = []
for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
    order = rng.permutation(len(x))                     # the order fed is the time axis
    spikes = ann2neo.record(model, x[order])["hidden"]
    segments.append(ann2neo.to_segment(spikes, name=split, split=split, dataset="digits",
                                       labels=y[order], sample_index=order))
block = ann2neo.to_block(segments, name="Generalizing", model="mlp32", seed=0, condition="Generalizing")

# %% [markdown]
# ## Write
# NWB stores seconds: a sample is a nominal millisecond, stored at the centre of its bin, and each
# split gets its own time range and an epoch. The file carries the provenance (model, layer,
# threshold, dataset, split, seed), the label and dataset index of every time step, and a Subject
# ("synthetic construct"), so that nwbinspector finds nothing to object to.

# %%
ann2neo.write_nwb(OUT / "rec.nwb", block, overwrite=True)
ann2neo.write_nix(OUT / "rec.nix", block, overwrite=True)

from nwbinspector import inspect_nwbfile  # noqa: E402

issues = [m for m in inspect_nwbfile(nwbfile_path=str(OUT / "rec.nwb"))
          if m.importance.name in ("CRITICAL", "BEST_PRACTICE_VIOLATION", "ERROR")]
print("nwbinspector: critical, errors and best-practice violations:", len(issues))

# %% [markdown]
# ## Read back with ann2neo: exactly what was written

# %%
for path in (OUT / "rec.nwb", OUT / "rec.nix"):
    back = ann2neo.read_block(path)  # the Block as written; ann2neo.read(path, name=...) gives a Recording
    for original, seg in zip(block.segments, back.segments, strict=True):
        assert np.array_equal(ann2neo.as_spike_matrix(seg), ann2neo.as_spike_matrix(original))
        assert np.array_equal(seg.annotations["labels"], original.annotations["labels"])
    print(path.name, "round trip exact:", [s.name for s in back.segments], back.annotations["model"])

# %% [markdown]
# ## Read back with plain Neo
# Neo's readers give trains in seconds (a nominal 1 kHz), one segment per split; Elephant then
# gives rates in Hz — spikes per sample times 1000. `NWBIO` drops ann2neo's annotations; NIX keeps
# plain ones.

# %%
with neo.NixIO(str(OUT / "rec.nix"), mode="ro") as io:
    nix_block = io.read_block()
nix_test = nix_block.segments[1].spiketrains[0]
print("NIX via Neo:", nix_test.units, float(es.mean_firing_rate(nix_test).rescale("Hz")), "Hz")
nwb_block = neo.NWBIO(str(OUT / "rec.nwb"), mode="r").read_block()
print("NWB via Neo:", [(s.name, len(s.spiketrains)) for s in nwb_block.segments])
rate_samples = ann2neo.firing_rate(block.segments[1])[0]
print("the same node in samples:", rate_samples, "spikes/sample")

# %% [markdown]
# ## Read back with pynapple
# pynapple reads the Units table as a TsGroup and the splits as epochs. Select the split's units
# and restrict them to its epoch to get per-split numbers. ann2neo's Fano windows are the
# complete windows of 100 samples (0.1 s) from the split's start, so we count over those.

# %%
import pynapple as nap  # noqa: E402

data = nap.load_file(str(OUT / "rec.nwb"))
units = data["units"]
epochs = data["epochs"]
test_units = units.getby_category("segment")["test"]
test_epoch = epochs[epochs["segment"] == "test"]
start = float(test_epoch.start[0])
n_windows = len(x_test) // 100
windows = nap.IntervalSet(start=start, end=start + 0.1 * n_windows)  # the complete 100-sample windows
counts = test_units.restrict(windows).count(0.1, ep=windows)
print("pynapple: test units", len(test_units), "mean count per 100-sample window",
      float(np.asarray(counts).mean()))
print("ann2neo:  mean count per 100-sample window",
      float(ann2neo.window_counts(block.segments[1], 100).mean()))
