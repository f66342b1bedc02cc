"""record's device-side bit-packing, layers="all", streaming to a Zarr store, and the JAX backend (issue #10)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import ann2neo

keras = pytest.importorskip("keras")
pytest.importorskip("zarr")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(7)
    inp = keras.Input((8, 8))
    conv = keras.layers.Conv2D(3, 3, activation="relu", name="conv")(keras.layers.Reshape((8, 8, 1))(inp))
    hidden = keras.layers.Dense(13, activation="relu", name="hidden")(keras.layers.Flatten()(inp))
    merged = keras.layers.Concatenate(name="cat")([hidden, keras.layers.Flatten(name="flat")(conv)])
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax", name="out")(merged), name="net")


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).normal(size=(300, 8, 8)).astype("float32")


def _reference(model, names, x, threshold=0.0):
    """Keras' own predict of a sub-model, thresholded in numpy: the independent reference."""
    outs = keras.Model(model.inputs, [model.get_layer(n).output for n in names]).predict(x, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    return {n: o.reshape(len(x), -1) > threshold for n, o in zip(names, outs, strict=True)}


def test_packing_on_device_gives_the_same_spikes(model, x):
    # 13 and 108 nodes: neither a multiple of 8, so the padding of the last byte is exercised
    packed = ann2neo.record(model, x, layers=["hidden", "conv"], batch_size=37, pack=True, threshold=0.05)
    plain = ann2neo.record(model, x, layers=["hidden", "conv"], batch_size=37, pack=False, threshold=0.05)
    ref = _reference(model, ["hidden", "conv"], x, 0.05)
    for name in ("hidden", "conv"):
        np.testing.assert_array_equal(packed[name], ref[name])
        np.testing.assert_array_equal(plain[name], ref[name])
    assert packed["conv"].layer_shape == (6, 6, 3)
    for pack in (True, False):  # a tap with a single output (no finiteness checks)
        one = ann2neo.record(model, x, layers="hidden", check_finite=False, pack=pack, threshold=0.05)
        np.testing.assert_array_equal(one["hidden"], ref["hidden"])


def test_cached_step_sees_new_weights(x):
    keras.utils.set_random_seed(8)
    net = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                            keras.layers.Dense(9, activation="relu", name="h"), keras.layers.Dense(2)])
    first = ann2neo.record(net, x)["h"]
    dense = net.get_layer("h")
    kernel, bias = dense.get_weights()
    dense.set_weights([-kernel, bias + 0.01])  # as if trained further between two recordings
    second = ann2neo.record(net, x)["h"]
    np.testing.assert_array_equal(second, _reference(net, ["h"], x)["h"])
    assert not np.array_equal(first, second)


def test_layers_all_records_every_layer_in_one_pass(model, x):
    rec = ann2neo.record(model, x, layers="all", batch_size=100)
    names = [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert list(rec) == names
    ref = _reference(model, names, x)
    for name in names:
        np.testing.assert_array_equal(rec[name], ref[name])
        assert rec[name].layer_shape == tuple(model.get_layer(name).output.shape[1:])


def test_store_round_trip_with_provenance(model, x, tmp_path):
    from ann2neo.io.store import read_store, store_attrs

    path = tmp_path / "run.zarr"
    got = ann2neo.record(model, x, layers=["hidden", "conv"], batch_size=64, threshold=0.1, out=path,
                         chunk_samples=50)
    assert got == path
    ref = _reference(model, ["hidden", "conv"], x, 0.1)
    back = read_store(path)
    for name in ("hidden", "conv"):
        np.testing.assert_array_equal(back[name], ref[name])
    assert back["conv"].layer_shape == (6, 6, 3) and back["conv"].threshold == 0.1 and back["conv"].layer == "conv"
    attrs = store_attrs(path)
    assert attrs["complete"] is True and attrs["n_samples"] == 300 and attrs["model"] == "net"
    assert attrs["layers"] == ["hidden", "conv"] and attrs["ann2neo_version"] == ann2neo.__version__
    lazy = read_store(path, "conv", lazy=True)["conv"]
    assert lazy.chunks[0] == (50,) * 6
    np.testing.assert_array_equal(lazy.compute(), ref["conv"])
    np.testing.assert_allclose(lazy.mean(axis=0).compute(), ref["conv"].mean(axis=0), rtol=0, atol=0)
    # a generator (sample count unknown): the arrays grow chunk by chunk
    gen = (x[i:i + 45] for i in range(0, 300, 45))
    ann2neo.record(model, gen, layers="hidden", threshold=0.1, out=tmp_path / "gen.zarr", chunk_samples=64)
    np.testing.assert_array_equal(read_store(tmp_path / "gen.zarr")["hidden"], ref["hidden"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen.zarr", "run.zarr"]  # no temporary folder left


def test_failed_or_unfinished_recording_never_looks_complete(model, x, tmp_path):
    from ann2neo.io.store import _StoreWriter, read_store

    path = tmp_path / "run.zarr"
    ann2neo.record(model, x[:100], layers="hidden", out=path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ann2neo.record(model, x, layers="hidden", out=path)
    bad = x.copy()
    bad[250, 3, 3] = np.nan
    with pytest.raises(ValueError, match=r"sample\(s\) 250"):
        ann2neo.record(model, bad, layers="hidden", out=path, overwrite=True, batch_size=50)
    assert read_store(path)["hidden"].shape == (100, 13)  # the old store is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.zarr"]
    # a writer that never reached close() (a killed run) leaves a store marked incomplete
    writer = _StoreWriter(tmp_path / "killed.zarr", ["hidden"], [(13,)], threshold=0.0, model_name="net")
    writer.write(0, [np.zeros((10, 2), np.uint8)])
    writer._flush()
    assert not (tmp_path / "killed.zarr").exists()
    with pytest.raises(ValueError, match="incomplete"):
        read_store(writer.tmp)
    with pytest.raises(FileNotFoundError, match="no spike store"):
        read_store(tmp_path / "nothing.zarr")
    ann2neo.record(model, x, layers="hidden", out=path, overwrite=True)
    assert read_store(path)["hidden"].shape == (300, 13)


_BACKEND_SCRIPT = textwrap.dedent("""
    import os, tempfile
    import numpy as np, keras, ann2neo
    from ann2neo.io.store import read_store
    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                              keras.layers.Dense(21, activation="relu", name="h"), keras.layers.Dense(3)])
    x = np.random.default_rng(0).normal(size=(200, 8, 8)).astype("float32")
    ref = keras.Model(model.inputs, model.get_layer("h").output).predict(x, verbose=0) > 0.1
    for pack in (False, True):
        for check in (False, True):
            rec = ann2neo.record(model, x, batch_size=64, threshold=0.1, pack=pack, check_finite=check)
            np.testing.assert_array_equal(rec["h"], ref)
    kernel, bias = model.get_layer("h").get_weights()
    model.get_layer("h").set_weights([-kernel, bias])  # the compiled step is cached: it must see new weights
    ref2 = keras.Model(model.inputs, model.get_layer("h").output).predict(x, verbose=0) > 0.1
    np.testing.assert_array_equal(ann2neo.record(model, x, batch_size=64, threshold=0.1)["h"], ref2)
    model.get_layer("h").set_weights([kernel, bias])
    out = os.path.join(tempfile.mkdtemp(), "r.zarr")
    ann2neo.record(model, x, batch_size=64, threshold=0.1, out=out)
    np.testing.assert_array_equal(read_store(out)["h"], ref)
    x[17] = np.nan
    try:
        ann2neo.record(model, x)
    except ValueError as err:
        assert "sample(s) 17" in str(err)
    else:
        raise SystemExit("NaN not reported")
    if keras.backend.backend() == "torch":  # a PyTorch DataLoader feeds the torch backend
        import torch
        loader = torch.utils.data.DataLoader(torch.from_numpy(np.nan_to_num(x)), batch_size=50)
        x[17] = 0.0
        ref3 = keras.Model(model.inputs, model.get_layer("h").output).predict(x, verbose=0) > 0.1
        np.testing.assert_array_equal(ann2neo.record(model, loader, threshold=0.1)["h"], ref3)
    print("OK")
""")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_record_the_same_spikes(backend):
    pytest.importorskip(backend)  # torch is not in the test extra: its default wheel brings CUDA (GBs)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu",
               TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _BACKEND_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]


_KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from ann2neo.io.store import _StoreWriter
    writer = _StoreWriter(sys.argv[1], ["h"], [(20,)], threshold=0.0, model_name="m", chunk_samples=4)
    print(writer.tmp, flush=True)
    for start in range(0, 40, 8):
        writer.write(start, [np.full((8, 3), 255, np.uint8)])
    os.kill(os.getpid(), signal.SIGKILL)  # killed before close(): no complete attribute, no rename
""")


def test_killed_recording_leaves_no_store_that_reads_complete(tmp_path):
    from ann2neo.io.store import read_store

    path = tmp_path / "run.zarr"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert not path.exists()
    partial = Path(proc.stdout.strip())
    assert partial.parent == tmp_path and partial.name.startswith(".tmp-run.zarr-")
    with pytest.raises(ValueError, match="incomplete"):
        read_store(partial)


_STRATEGY_SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, ann2neo
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6, 6)), keras.layers.Flatten(),
                                  keras.layers.Dense(19, activation="relu", name="h"), keras.layers.Dense(3)])
    x = np.random.default_rng(0).normal(size=(203, 6, 6)).astype("float32")   # last batch of 11: uneven split
    ref = ann2neo.record(model, x, batch_size=64, threshold=0.05)["h"]
    direct = keras.Model(model.inputs, model.get_layer("h").output).predict(x, verbose=0)
    np.testing.assert_array_equal(ref, direct > 0.05)
    for pack in (False, True):
        got = ann2neo.record(model, x, batch_size=64, threshold=0.05, strategy=strategy, pack=pack)["h"]
        np.testing.assert_array_equal(got, ref)
    x[130] = np.nan
    try:
        ann2neo.record(model, x, batch_size=64, strategy=strategy)
    except ValueError as err:
        assert "130" in str(err), err
    else:
        raise SystemExit("NaN not reported")
    print("OK")
""")


@pytest.mark.slow
def test_mirrored_strategy_over_two_devices_records_the_same_spikes():
    pytest.importorskip("tensorflow")
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, "-c", _STRATEGY_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]


def test_strategy_is_checked():
    keras = pytest.importorskip("keras")
    import ann2neo

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="h"), keras.layers.Dense(1)])
    with pytest.raises(TypeError, match="tf.distribute.Strategy"):
        ann2neo.record(model, np.zeros((4, 3), "float32"), strategy="mirrored")
