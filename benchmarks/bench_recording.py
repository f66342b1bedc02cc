"""Recording overhead and streaming memory, measured in one run.

Run: python benchmarks/bench_recording.py [--samples 60000 --width 512 --batch-size 256]
                                          [--stream-samples 100000 --stream-width 8192]

1. Time, on the same MNIST-shaped inputs (random, 28 x 28) and the paper's MLP
   (Flatten -> Dense(width, relu) -> Dense(10, softmax)), timed alternately:

   * ``model.predict(x)`` -- the model's own outputs (what a user runs anyway);
   * ``keras.Model(inputs, hidden.output).predict(x) > 0`` -- the plain way to
     get the same spikes (float activations of the whole dataset, then a threshold);
   * ``ann2neo.record(model, x)`` -- threshold in the compiled step, spikes to memory;
   * ``ann2neo.record(model, x, out=store)`` -- threshold + bit-pack in the
     compiled step, streamed to a Zarr store.

   Prints the ratios to ``model.predict`` and asserts all routes give the same spikes.

2. Streaming memory: a child process records ``--stream-samples`` samples of a
   ``--stream-width``-node layer (inputs generated batch by batch, so the
   dataset is never in memory) to a store; another records ONE batch of the
   same model the same way (runtime + model + one batch + packed spikes in
   flight).  Peak RSS of each comes from ``resource.getrusage(RUSAGE_CHILDREN)``
   in a parent that ran only that child.  Prints the ratio (target < 1.5).
"""
import argparse
import os
import subprocess
import sys
import tempfile

from _timing import interleaved  # benchmarks/ is on sys.path when run as a script

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))


def _stream_worker(samples, width, batch, out):
    """Record `samples` samples of Input(64) -> Dense(width, relu) to a store at `out`."""
    import keras
    import numpy as np

    import ann2neo

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(width, activation="relu", name="wide"),
                              keras.layers.Dense(10)], name="wide_mlp")
    rng = np.random.default_rng(0)

    def batches():
        for i in range(0, samples, batch):
            yield rng.normal(size=(min(batch, samples - i), 64)).astype(np.float32)

    ann2neo.record(model, batches(), layers="wide", out=out)
    from ann2neo.io.store import store_attrs

    assert store_attrs(out)["n_samples"] == samples


def _peak_rss_of_child(args):
    """Run this script with `args` in a child; return the child's peak RSS in bytes (RUSAGE_CHILDREN)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, os.path.abspath(__file__), *args],
                         check=True, capture_output=True, text=True)
    kib = int(out.stdout.strip().splitlines()[-1])
    return kib * 1024 if sys.platform != "darwin" else kib


def streaming_memory(samples, width, batch):
    with tempfile.TemporaryDirectory() as tmp:
        full = _peak_rss_of_child(["--_worker", str(samples), str(width), str(batch), os.path.join(tmp, "a.zarr")])
        one = _peak_rss_of_child(["--_worker", str(batch), str(width), str(batch), os.path.join(tmp, "b.zarr")])
    packed = samples * -(-width // 8)
    print(f"\nstreaming {samples} samples x {width} nodes to a Zarr store, batch {batch}")
    print(f"peak RSS, whole recording                {full / 2**20:8.1f} MiB")
    print(f"peak RSS, one batch (runtime + model + batch + packed spikes in flight) {one / 2**20:8.1f} MiB")
    print(f"whole / one batch                        {full / one:8.2f}x   (target < 1.5)")
    print(f"growth over one batch                    {(full - one) / 2**20:8.1f} MiB   (the packed spikes of the whole "
          f"recording would be {packed / 2**20:.1f} MiB)")
    print(f"for scale: the packed spikes {packed / 2**20:.1f} MiB, as bool {samples * width / 2**20:.1f} MiB, "
          f"as float32 activations {4 * samples * width / 2**20:.1f} MiB")
    return full / one


def timing(args):
    import keras
    import numpy as np

    import ann2neo
    from ann2neo.experiments.conditions import build_mlp
    from ann2neo.io.store import read_store

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((args.samples, 28, 28), dtype=np.float32)
    model = build_mlp((28, 28), width=args.width, n_classes=10, seed=0)
    tap = keras.Model(model.inputs, model.get_layer("hidden").output)
    bs = args.batch_size
    tmp = tempfile.mkdtemp()
    store = os.path.join(tmp, "rec.zarr")

    model.predict(x[:bs], batch_size=bs, verbose=0)  # build/compile outside the timing
    tap.predict(x[:bs], batch_size=bs, verbose=0)
    ann2neo.record(model, x[:bs], batch_size=bs)
    results = {}

    def run(name, fn):
        def wrapped():
            results[name] = fn()
        return wrapped

    fns = {
        "model.predict (outputs)": run("predict", lambda: model.predict(x, batch_size=bs, verbose=0)),
        "sub-model predict + threshold": run("plain", lambda: tap.predict(x, batch_size=bs, verbose=0) > 0),
        "record (to memory)": run("record", lambda: ann2neo.record(model, x, batch_size=bs)["hidden"]),
        "record (pack + write Zarr)": run("store", lambda: ann2neo.record(model, x, batch_size=bs, out=store,
                                                                            overwrite=True)),
    }
    times = interleaved(fns, args.repeat)
    np.testing.assert_array_equal(results["record"], results["plain"])
    np.testing.assert_array_equal(read_store(store)["hidden"], results["plain"])
    base = times["model.predict (outputs)"][0]
    print(f"{args.samples} samples of 28 x 28, hidden width {args.width}, batch {bs}, "
          f"Keras backend {keras.backend.backend()}, CPU; min (median) of {args.repeat} alternating rounds")
    for name, (t_min, t_med) in times.items():
        print(f"{name:32s} {t_min:7.3f} s ({t_med:7.3f})   {t_min / base:5.2f}x model.predict")
    print(f"held: float32 activations {args.samples * args.width * 4 / 2**20:.1f} MiB (plain route), "
          f"bool spikes {args.samples * args.width / 2**20:.1f} MiB (record), packed on disk "
          f"{args.samples * -(-args.width // 8) / 2**20:.1f} MiB before compression")
    print("spikes identical on all routes: yes")
    return times["record (pack + write Zarr)"][0] / base


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--_worker":
        samples, width, batch, out = sys.argv[2:6]
        _stream_worker(int(samples), int(width), int(batch), out)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stream-samples", type=int, default=100_000)
    ap.add_argument("--stream-width", type=int, default=8192)
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    if not args.skip_timing:
        timing(args)
    if not args.skip_memory:
        streaming_memory(args.stream_samples, args.stream_width, args.batch_size)


if __name__ == "__main__":
    main()
