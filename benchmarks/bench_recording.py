"""Recording overhead: ann2neo.record against plain Keras ``predict``, measured in one run.

Run: python benchmarks/bench_recording.py [--samples 60000 --width 512 --batch-size 256]

Times, on the same MNIST-shaped inputs (random, 28 x 28) and the paper's MLP
(Flatten -> Dense(width, relu) -> Dense(10, softmax)):

* ``model.predict(x)`` — the model's own outputs (what a user runs anyway);
* ``keras.Model(inputs, hidden.output).predict(x) > 0`` — the plain way to get
  the same spikes (float activations of the whole dataset, then a threshold);
* ``ann2neo.record(model, x)`` — threshold in the graph, booleans leave the device.

and prints the ratios and the peak size of what each route holds.  Asserts the
spikes are identical to the plain route's.  Runs on a GPU when TensorFlow sees one.
"""
import argparse
import os

from _timing import best  # benchmarks/ is on sys.path when run as a script

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    import ann2neo
    from ann2neo.experiments.conditions import build_mlp

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((args.samples, 28, 28), dtype=np.float32)
    model = build_mlp((28, 28), width=args.width, n_classes=10, seed=0)
    tap = keras.Model(model.inputs, model.get_layer("hidden").output)
    bs = args.batch_size

    model.predict(x[:bs], batch_size=bs, verbose=0)  # build/compile outside the timing
    tap.predict(x[:bs], batch_size=bs, verbose=0)
    ann2neo.record(model, x[:bs], batch_size=bs)

    t_model, _ = best(lambda: model.predict(x, batch_size=bs, verbose=0), args.repeat)
    t_plain, plain = best(lambda: tap.predict(x, batch_size=bs, verbose=0) > 0, args.repeat)
    t_record, rec = best(lambda: ann2neo.record(model, x, batch_size=bs)["hidden"], args.repeat)
    np.testing.assert_array_equal(rec, plain)

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"{args.samples} samples of 28 x 28, hidden width {args.width}, batch {bs}, {device}; "
          f"best of {args.repeat}")
    print(f"model.predict (outputs)            {t_model:8.3f} s")
    print(f"sub-model predict + threshold      {t_plain:8.3f} s   holds {args.samples * args.width * 4 / 2**20:7.1f} MiB "
          f"of float32 activations")
    print(f"ann2neo.record                     {t_record:8.3f} s   holds {rec.nbytes / 2**20:7.1f} MiB of spikes")
    print(f"record / sub-model predict         {t_record / t_plain:8.2f}x")
    print(f"record / model.predict             {t_record / t_model:8.2f}x")
    print("spikes identical to the plain route: yes")


if __name__ == "__main__":
    main()
