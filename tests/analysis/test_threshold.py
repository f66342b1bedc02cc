"""Threshold sweep: exact thresholds, per-node rules, agreement with analyze at the paper's setting."""
import numpy as np
import pytest

import ann2neo
from ann2neo.analysis.threshold import threshold_sweep


def test_sweep_matches_analyze_and_rules():
    rng = np.random.default_rng(0)
    act = np.maximum(rng.normal(0.2, 1.0, size=(1200, 3, 4)), 0).astype(np.float32)  # ReLU-like, ties at 0
    table = threshold_sweep(act, thresholds=(0.0, 0.5), quantiles=(0.5, 0.9), fractions=(0.5,), window=100)
    assert list(table["rule"]) == ["absolute"] * 2 + ["quantile"] * 2 + ["fraction_of_max"]
    paper = ann2neo.analyze(ann2neo.binarize(act)).summary
    row = table.iloc[0]
    assert row["mfr"] == paper["mfr"] and row["mf"] == pytest.approx(paper["mf"], rel=1e-15)
    flat = act.reshape(1200, -1).astype(np.float64)
    assert table.iloc[1]["mfr"] == pytest.approx((flat > 0.5).mean(), rel=1e-15)
    q90 = np.quantile(flat, 0.9, axis=0)
    assert table.iloc[3]["mfr"] == pytest.approx((flat > q90).mean(), rel=1e-15)
    assert table.iloc[3]["mfr"] <= 0.1 + 1e-12  # at most 1 - q above the q-quantile
    half_max = 0.5 * flat.max(axis=0)
    assert table.iloc[4]["mfr"] == pytest.approx((flat > half_max).mean(), rel=1e-15)


def test_sweep_rejects_bad_parameters():
    act = np.random.default_rng(1).normal(size=(300, 5))
    with pytest.raises(ValueError, match="quantile"):
        threshold_sweep(act, quantiles=(1.5,))
    with pytest.raises(TypeError, match="complex"):
        threshold_sweep(act.astype(complex))
    bad = act.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        threshold_sweep(bad)


def test_record_activations_equals_a_submodel_predict():
    keras = pytest.importorskip("keras")
    from ann2neo.keras.probe import record_activations

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu", name="h"),
                              keras.layers.Dense(2, name="out")])
    x = np.random.default_rng(2).normal(size=(50, 6)).astype("float32")
    acts = record_activations(model, x, layers=["h", "out"], batch_size=16)
    ref = keras.Model(model.inputs, model.get_layer("h").output).predict(x, verbose=0)
    # float32 kernels differ by batch size on some CPUs (oneDNN), so equal to rounding, not bit for bit
    np.testing.assert_allclose(acts["h"], ref, rtol=1e-6, atol=1e-6)
    w, b = (np.asarray(v, dtype=np.float64) for v in model.get_layer("h").get_weights())
    np.testing.assert_allclose(acts["h"], np.maximum(x.astype(np.float64) @ w + b, 0), rtol=1e-5, atol=1e-6)
    for t in (0.0, 0.1, float(np.median(acts["h"]))):  # the same floats as record thresholds
        np.testing.assert_array_equal(ann2neo.binarize(acts["h"], t), ann2neo.record(model, x, layers="h",
                                                                                     threshold=t)["h"])
    assert acts["out"].shape == (50, 2)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        record_activations(model, x, layers="nope")
    with pytest.raises(TypeError, match="batch_size"):
        record_activations(model, x, batch_size="8")
