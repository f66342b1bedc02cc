"""Recording Keras models and NWB export (the reproduce tests live in tests/test_reproduce*.py)."""

import numpy as np
import pytest

import ann2neo

keras = pytest.importorskip("keras")


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


def test_recorded_spikes_equal_submodel_outputs(functional_model, x):
    rec = ann2neo.record(functional_model, x, layers=["hidden", "conv"], batch_size=64, threshold=0.1)
    ref = keras.Model(functional_model.inputs, [functional_model.get_layer("hidden").output,
                                                functional_model.get_layer("conv").output]).predict(x, verbose=0)
    np.testing.assert_array_equal(rec["hidden"], ref[0] > 0.1)
    np.testing.assert_array_equal(rec["conv"], ref[1].reshape(300, -1) > 0.1)
    assert rec["conv"].layer_shape == (6, 6, 2) and rec["conv"].threshold == 0.1


def test_default_layer_is_last_hidden_and_datasets_work(x):
    import tensorflow as tf

    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                              keras.layers.Dense(12, activation="relu", name="h"), keras.layers.Dense(10)])
    rec = ann2neo.record(model, x, batch_size=50)
    assert list(rec) == ["h"]
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(300))).batch(70)
    np.testing.assert_array_equal(ann2neo.record(model, ds)["h"], rec["h"])


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


def test_nan_activations_are_reported(functional_model, x):
    bad = x.copy()
    bad[130, 0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite.*sample 128"):
        ann2neo.record(functional_model, bad, layers="hidden", batch_size=64)


def test_nwb_round_trip(tmp_path, rng):
    pytest.importorskip("pynwb")
    a = ann2neo.binarize(rng.normal(size=(120, 5)), layer="hidden")
    b = ann2neo.binarize(rng.normal(size=(40, 5)), layer="hidden")
    block = ann2neo.to_block([ann2neo.to_segment(a, name="train"), ann2neo.to_segment(b, name="test")],
                             model="mlp 5")
    path = tmp_path / "rec.nwb"
    ann2neo.write_nwb(path, block, sampling_rate=1.0)
    with pytest.raises(FileExistsError):
        ann2neo.write_nwb(path, block)
    back = ann2neo.read_nwb(path)
    assert [s.name for s in back.segments] == ["train", "test"] and back.annotations["model"] == "mlp 5"
    np.testing.assert_array_equal(ann2neo.from_spiketrains(back.segments[0].spiketrains), a)
    np.testing.assert_array_equal(ann2neo.from_spiketrains(back.segments[1].spiketrains), b)
    assert back.segments[0].spiketrains[0].annotations["threshold"] == 0.0
    ann2neo.write_nwb(path, ann2neo.to_segment(b), sampling_rate=250.0, overwrite=True)  # other nominal rate
    np.testing.assert_array_equal(ann2neo.from_spiketrains(ann2neo.read_nwb(path).segments[0].spiketrains), b)


def test_corrupt_nwb_is_an_error_and_failed_write_keeps_old_file(tmp_path, rng):
    pytest.importorskip("pynwb")
    bad = tmp_path / "bad.nwb"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(Exception):
        ann2neo.read_nwb(bad)
    import neo
    import quantities as pq

    in_ms = ann2neo.to_segment([neo.SpikeTrain([1] * pq.ms, t_stop=5 * pq.ms)])
    with pytest.raises(ann2neo.UnitError):
        ann2neo.write_nwb(bad, in_ms, overwrite=True)
    assert bad.read_bytes() == b"not an hdf5 file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nwb"]  # no temporary file left
