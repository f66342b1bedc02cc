"""layer_scan: every layer, several conditions, one table."""
import numpy as np
import pytest

import ann2neo

keras = pytest.importorskip("keras")


def _mlp(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(name="flatten"),
                             keras.layers.Dense(12, activation="relu", name="h1"),
                             keras.layers.Dense(6, activation="relu", name="h2"), keras.layers.Dense(3, name="out")])


def test_layer_scan_equals_per_layer_analysis():
    from ann2neo.experiments.depth import layer_scan

    x = np.random.default_rng(0).normal(size=(400, 8, 8)).astype("float32")
    models = {"A": _mlp(0), "B": _mlp(1)}
    table = layer_scan(models, x, window=50)
    assert list(table["condition"].unique()) == ["A", "B"]
    assert list(table[table.condition == "A"]["layer"]) == ["flatten", "h1", "h2", "out"]
    for condition, model in models.items():
        spikes = ann2neo.record(model, x, layers="h2")["h2"]
        row = table[(table.condition == condition) & (table.layer == "h2")].iloc[0]
        assert row["mfr"] == pytest.approx(spikes.mean(), rel=1e-12)
        assert row["mf"] == pytest.approx(ann2neo.analyze(spikes, window=50).summary["mf"], rel=1e-12, nan_ok=True)
    with pytest.raises(ValueError, match="non-empty mapping"):
        layer_scan({}, x)


def test_layer_scan_warns_once_per_call_naming_the_layers_and_checks_the_order():
    import warnings

    from ann2neo.experiments.depth import layer_scan

    x = np.random.default_rng(0).normal(size=(300, 8, 8)).astype("float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = layer_scan({"A": _mlp(0), "B": _mlp(1)}, x, window=50)  # 6 windows: every layer is flagged
    small = [w for w in caught if issubclass(w.category, ann2neo.SmallSampleWarning)]
    assert len(small) == 1 and (table["flags"] != "").all()
    assert "8 of 8 layer recordings" in str(small[0].message) and "A/h1" in str(small[0].message)
    labels = np.repeat(np.arange(3), 100)
    with pytest.warns(ann2neo.OrderWarning):
        layer_scan({"A": _mlp(0)}, x, window=50, labels=labels)
    with pytest.raises(ValueError, match="labels has 10 entries"):
        layer_scan({"A": _mlp(0)}, x, labels=labels[:10])
