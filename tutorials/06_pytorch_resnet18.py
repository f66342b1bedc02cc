# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 6 — a PyTorch ResNet-18, layer by layer
#
# `ann2neo.record` takes a plain `torch.nn.Module`: forward hooks threshold the outputs of the
# modules you name (names from `model.named_modules()`, such as `"layer2.0.conv1"`) on the model's
# device, batch by batch, and only the spikes come back. Here a torchvision ResNet-18
# (`weights=None`: nothing is downloaded) is adapted to scikit-learn's 8 x 8 digits, trained
# for a few epochs on the CPU, and recorded at the output of each residual block, trained and
# untrained, in one forward pass per model.
#
# Needs the torch extra: `pip install "ann2neo[torch,plot]"`.
# Run: `python tutorials/06_pytorch_resnet18.py` (about a minute on 2 cores; writes `tutorial-output/`).

# %%
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torchvision
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

matplotlib.use("Agg")

import ann2neo
from ann2neo.io.store import read_store
from ann2neo.plotting import plot_layer_scan

warnings.simplefilter("ignore", ann2neo.SmallSampleWarning)
OUT = Path("tutorial-output")
OUT.mkdir(exist_ok=True)
torch.manual_seed(0)

# %% [markdown]
# ## Data and model
# 1,797 digits of 8 x 8 pixels (values 0..16, scaled to 0..1), split 75/25 at random: the test set
# is in random order, which matters because sample k is time step k for every statistic below.
# ResNet-18's stem (a 7 x 7 convolution with stride 2, then max pooling) would shrink 8 x 8 to
# 2 x 2, so conv1 becomes 3 x 3 with stride 2 on one input channel and the pooling goes: the
# blocks see 4 x 4, 2 x 2, 1 x 1 and 1 x 1 feature maps.

# %%
digits = load_digits()
x = torch.from_numpy((digits.images / 16.0).astype(np.float32))[:, None]  # (1797, 1, 8, 8)
y = torch.from_numpy(digits.target)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def resnet18_for_digits():
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=3, stride=2, padding=1, bias=False)
    model.maxpool = torch.nn.Identity()
    return model


untrained = resnet18_for_digits()
model = resnet18_for_digits()
model.load_state_dict(untrained.state_dict())  # the same start: training is the only difference

# %% [markdown]
# ## Train briefly
# Two epochs of Adam on the CPU: enough to separate a trained from an untrained network (the
# accuracy is printed), not a tuned classifier.

# %%
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
model.train()
for _epoch in range(2):
    for xb, yb in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()
model.eval()
with torch.inference_mode():
    accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
print(f"test accuracy after 2 epochs: {accuracy:.3f} (untrained: chance, 0.1)")

# %% [markdown]
# ## Record
# Without `layers`, `record` takes the last hidden module: the last one before the readout `fc`,
# skipping the pooling. In torchvision's `BasicBlock` the same `relu` module is called twice, so
# each call is named: `layer4.1.relu#1` is the block's output. The result is a dict of
# `SpikeMatrix` (samples x units) that says which layer and threshold it holds; a DataLoader of
# `(x, y)` batches works as input too.

# %%
test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_test, y_test), batch_size=128)
default = ann2neo.record(model, test_loader)
(name, spikes), = default.items()
print(f"default layer {name!r}: {spikes.shape[0]} samples x {spikes.shape[1]} units "
      f"(per-sample shape {spikes.layer_shape}), threshold {spikes.threshold}")
print(ann2neo.analyze(spikes, window=50).summary)

# %% [markdown]
# The output of every residual block, plus the first convolution's ReLU and the readout, in one
# forward pass; `out=` streams the packed spikes to a Zarr store instead of memory, and
# `read_store` gives back the same matrices.

# %%
blocks = ["relu"] + [f"layer{i}.{j}.relu#1" for i in range(1, 5) for j in range(2)] + ["fc"]
store = ann2neo.record(model, x_test, layers=blocks, out=OUT / "resnet18_digits.zarr", overwrite=True)
recorded = read_store(store)
assert np.array_equal(recorded["layer4.1.relu#1"], spikes)
for layer, s in recorded.items():
    print(f"{layer:<16} units {s.shape[1]:5d}  per sample {str(s.layer_shape):<13} firing rate {s.mean():.3f}")

# %% [markdown]
# ## Trained against untrained, across depth
# `layer_scan` records both models on the same test inputs in the same order and reports, per
# layer, the mean firing rate (MFR), the memorization factor (MF) and the ratios of the Fano
# factor and CV² to the exact Bernoulli null (1 for independent spiking).

# %%
scan = ann2neo.layer_scan({"trained": model, "untrained (same init)": untrained}, x_test, layers=blocks, window=50)
print(scan[["condition", "layer", "layer_shape", "mfr", "mf", "mean_dispersion", "mean_cv_dispersion"]]
      .round(3).to_string(index=False))
figure = plot_layer_scan(scan)
figure.suptitle("ResNet-18 on digits: block outputs, trained and untrained (same inputs, same order)")
figure.savefig(OUT / "resnet18_layer_scan.png", dpi=90)
print("wrote", OUT / "resnet18_layer_scan.png", "and", store)

# %% [markdown]
# What the figure says on this run (the numbers move a little with the seed): two epochs of
# training leave the firing rates of the `layer1` blocks within 0.05 of the untrained network's,
# and change the deep blocks most: the trained blocks fire less from `layer3.1` on, and from
# `layer3` on their memorization factor MF is 1.5 to 2.6 times the untrained one. The Fano dispersion of the
# trained network rises above 1 with depth while the untrained one stays at or below 1; the CV²
# dispersion stays at 1 in both. With 450 test samples and windows of 50 each unit has only 9
# window counts, and units that fire on nearly every sample (whose null Fano factor 1 - p is
# close to 0) weigh heavily in a mean of ratios: read the Fano column per unit
# (`ann2neo.analyze(...).nodes`) before reading more into it. The readout `fc` holds logits, so
# its rates say how many classes get a positive logit per sample, not how often a unit "fires".
