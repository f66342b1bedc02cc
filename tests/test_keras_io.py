"""Recording Keras models and the reproduce command end to end (NWB file tests: tests/test_io.py)."""
import json

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


def test_keras_dataset_offline_gives_clear_error(monkeypatch):
    from ann2neo.experiments.data import DatasetUnavailableError, load_dataset

    def fail():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fail)
    with pytest.raises(DatasetUnavailableError, match="--data FILE.npz"):
        load_dataset("mnist")


def test_corrupt_npz_is_a_clear_error(tmp_path):
    from ann2neo.experiments.data import DatasetUnavailableError, load_dataset

    path = tmp_path / "d.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(DatasetUnavailableError, match="cannot read"):
        load_dataset(data=path)
    np.savez(path, x_train=np.zeros((3, 2)), y_train=np.zeros(3))
    with pytest.raises(DatasetUnavailableError, match="x_test"):
        load_dataset(data=path)


def test_reproduce_cli_on_digits(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("pynwb")
    from ann2neo.cli import main

    out = tmp_path / "out"
    assert main(["reproduce", "--out", str(out), "--epochs", "3", "--mem-epochs", "3", "--width", "32",
                 "--no-progress"]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(r["condition"], r["split"]) for r in rows] == [
        (c, s) for c in ("Random", "Generalizing", "MemRetrainLast") for s in ("train", "test")]
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0].startswith("condition,split,accuracy,mfr,cv_fr,mf,cv_ff") and len(csv) == 7
    assert (out / "reproduce.log").read_text().count("MFR") == 6
    for row in rows:
        assert 0 <= row["mfr"] <= 1 and 0 <= row["accuracy"] <= 1
        assert row["n_samples"] == (1347 if row["split"] == "train" else 450)
        assert 0 <= row["ff_fraction_below_poisson"] <= 1 and 0 <= row["ljung_box_combined_p"] <= 1
        assert row["adf_fraction_nonstationary"] is None  # 13 or 4 windows of 100: too few for ADF
    # Table 2's KS comparisons: 3 train-vs-test + 2 x 3 condition pairs, Bonferroni over all 9
    ks = json.loads((out / "results.json").read_text())["ks_comparisons"]
    assert len(ks) == 9 and len((out / "comparisons.csv").read_text().splitlines()) == 10
    assert ks[0]["a"] == "Random/train" and ks[0]["b"] == "Random/test"
    for r in ks:
        assert r["p_bonferroni"] == pytest.approx(min(1.0, 9 * r["p_value"]))
    # the NWB file reads back to the same spike counts as the analysis saw
    block = ann2neo.read_nwb(out / "Generalizing.nwb")
    for seg in block.segments:
        matrix = ann2neo.from_spiketrains(seg.spiketrains)
        row = next(r for r in rows if r["condition"] == "Generalizing" and r["split"] == seg.name)
        assert matrix.shape == (row["n_samples"], 32)
        assert ann2neo.analyze(matrix).summary["mfr"] == pytest.approx(row["mfr"], rel=1e-12)
