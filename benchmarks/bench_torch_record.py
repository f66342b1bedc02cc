"""Recording overhead on PyTorch modules (forward hooks), measured in one run, on the CPU.

Run: python benchmarks/bench_torch_record.py [--mlp-samples 20000 --cnn-samples 2000 --batch-size 256 --rounds 5
                                             --threads N]

For an MLP (Flatten -> Linear(784, 512) -> ReLU -> Linear(512, 10)) and a CNN
with BatchNorm and a residual block (28 x 28 x 1 inputs, random, fixed seed),
over the same ``DataLoader`` (same batches, same order), timed alternately:

* ``forward`` -- a plain loop ``model(xb)`` under ``torch.inference_mode()``
  in eval mode: what a user runs anyway, the baseline;
* ``record`` -- ``ann2neo.record(model, loader)`` of the default (last hidden) module;
* ``record all`` -- ``ann2neo.record(model, loader, layers="all")``;
* ``all, no NaN`` -- the same with ``check_finite=False`` (the share of the NaN check);
* ``hooks all`` -- the plain loop with a hand-written forward hook on every
  recorded module that thresholds its output into a preallocated boolean
  array: the least a user would write by hand to get the same spikes.

Prints min and median seconds and the ratios to ``forward`` (target <= 1.15),
and asserts that ``record`` and the hand-written hooks give identical spikes.
The ratios compare routes timed in the same rounds, so slow drifts of a shared
machine cancel; single numbers still move by a few percent between runs.
"""
import argparse
import sys

import numpy as np
import torch
from _timing import interleaved  # benchmarks/ is on sys.path when run as a script
from torch import nn

import ann2neo


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + x)


def models():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                        Residual(16), nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(512, 10))
    return {"MLP": mlp.eval(), "CNN": cnn.eval()}


def plain(model, loader):
    with torch.inference_mode():
        for (xb,) in loader:
            model(xb)


def by_hand(model, loader, labels, n):
    """Hand-written hooks: threshold every labelled call's output into a preallocated bool array."""
    modules = dict(model.named_modules())
    out = {}
    state = {"start": 0, "counts": {}}

    def hook_for(name):
        def hook(_m, _a, o):
            k = state["counts"].get(name, 0)
            state["counts"][name] = k + 1
            for label in (name, f"{name}#{k}"):
                if label in labels:
                    flat = o.reshape(o.shape[0], -1)
                    if label not in out:
                        out[label] = np.empty((n, flat.shape[1]), dtype=bool)
                    torch.gt(flat, 0.0, out=torch.from_numpy(out[label][state["start"]:state["start"] + len(o)]))
        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in {lb.partition("#")[0] for lb in labels}]
    try:
        with torch.inference_mode():
            for (xb,) in loader:
                state["counts"] = {}
                model(xb)
                state["start"] += len(xb)
    finally:
        for h in handles:
            h.remove()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-samples", type=int, default=20000)
    parser.add_argument("--cnn-samples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU "
          f"(CUDA available: {torch.cuda.is_available()}); batch {args.batch_size}, {args.rounds} alternating rounds")
    rng = np.random.default_rng(0)
    worst = 0.0
    for name, model in models().items():
        n = args.mlp_samples if name == "MLP" else args.cnn_samples
        x = torch.from_numpy(rng.normal(size=(n, 1, 28, 28)).astype(np.float32))
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=args.batch_size)
        default = list(ann2neo.record(model, x[:8]))
        every = list(ann2neo.record(model, x[:8], layers="all"))
        routes = {
            "forward": lambda m=model, lo=loader: plain(m, lo),
            "record": lambda m=model, lo=loader: ann2neo.record(m, lo),
            "record all": lambda m=model, lo=loader: ann2neo.record(m, lo, layers="all"),
            "all, no NaN": lambda m=model, lo=loader: ann2neo.record(m, lo, layers="all", check_finite=False),
            "hooks all": lambda m=model, lo=loader, e=every, n=n: by_hand(m, lo, e, n),
        }
        rec, ref = ann2neo.record(model, loader, layers="all"), by_hand(model, loader, every, n)
        assert list(rec) == every and all(np.array_equal(rec[k], ref[k]) for k in every), "spikes differ"
        assert np.array_equal(ann2neo.record(model, loader)[default[0]], ref[default[0]])
        times = interleaved(routes, args.rounds)
        base = times["forward"]
        print(f"\n{name}: {n} samples; default module {default[0]!r}; layers='all' = {len(every)} modules, "
              f"{sum(v.shape[1] for v in rec.values())} units per sample")
        print(f"{'route':<13}{'min s':>9}{'median s':>10}{'min ratio':>11}{'median ratio':>14}")
        for route, (lo, med) in times.items():
            print(f"{route:<13}{lo:9.3f}{med:10.3f}{lo / base[0]:10.2f}x{med / base[1]:13.2f}x")
            if route in ("record", "record all"):
                worst = max(worst, med / base[1])
        print("spikes: record == hand-written hooks (all modules, and the default one)")
    print(f"\nworst median ratio of record to a plain forward: {worst:.2f}x (target <= 1.15x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
