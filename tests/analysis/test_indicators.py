"""Memorization indicators: each equals the package statistic it names, or a closed form."""
import numpy as np
import pytest

from ann2neo.analysis.indicators import INDICATORS, memorization_indicators


def _planted(seed=0, n=300, units=40):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n // 3)
    p = np.where(labels[:, None] == 1, 0.7, 0.2) * np.ones(units)
    return rng.random((n, units)) < p, labels


def test_indicators_match_references():
    from scipy import stats

    x, labels = _planted()
    ind = memorization_indicators(x, labels)
    assert list(ind)[:len(INDICATORS)] == list(INDICATORS)
    assert ind["mfr"] == pytest.approx(x.mean())
    # eta2 per unit is the one-way ANOVA's between-group share: check against scipy's f_oneway through F
    u = x.astype(float)
    f = stats.f_oneway(*[u[labels == c] for c in range(3)]).statistic
    eta2 = f * 2 / (f * 2 + (len(u) - 3))
    assert ind["median_eta2"] == pytest.approx(np.median(eta2), rel=1e-9)
    assert ind["fraction_selective"] == 1.0  # every unit is tuned to label 1
    # independent units given the label: noise correlations are sampling noise, SD about 1/sqrt(n)
    assert ind["noise_corr_sd"] == pytest.approx(1 / np.sqrt(len(labels)), rel=0.3)
    # participation ratio from the covariance eigenvalues (closed form)
    ev = np.linalg.eigvalsh(np.cov(x.astype(float), rowvar=False))
    assert ind["participation_ratio"] == pytest.approx(ev.sum() ** 2 / (ev ** 2).sum(), rel=1e-9)
    assert ind["pr_fraction"] == pytest.approx(ind["participation_ratio"] / 40)
    assert ind["dead_fraction"] == 0.0 and ind["one_class_fraction"] == 0.0


def test_shuffled_labels_are_not_selective():
    x, labels = _planted(seed=1)
    rng = np.random.default_rng(2)
    ind = memorization_indicators(x, rng.permutation(labels))
    assert ind["fraction_selective"] < 0.2


def test_one_class_and_dead_units():
    labels = np.repeat([0, 1, 2, 3], 5)
    x = np.zeros((20, 4), bool)
    x[labels == 2, 0] = True        # unit 0 fires for class 2 only
    x[[0, 6], 1] = True             # unit 1 fires for classes 0 and 1
    x[3, 2] = True                  # unit 2 fires once: below min_spikes
    notes = []
    ind = memorization_indicators(x, labels, notes=notes)
    assert ind["one_class_fraction"] == 0.25
    assert ind["dead_fraction"] == 0.25
    assert memorization_indicators(x, labels, min_spikes=1)["one_class_fraction"] == 0.5


def test_silent_layer_is_flagged_not_invented():
    labels = np.repeat([0, 1], 10)
    notes = []
    ind = memorization_indicators(np.zeros((20, 5), bool), labels, notes=notes)
    assert ind["mfr"] == 0.0 and ind["dead_fraction"] == 1.0
    assert np.isnan(ind["noise_corr_sd"]) and np.isnan(ind["participation_ratio"])
    assert any("undefined" in n for n in notes)


@pytest.mark.parametrize("spikes, labels, match", [
    (np.zeros((10, 3)) + 0.5, np.repeat([0, 1], 5), "boolean"),
    (np.zeros(10, bool), np.repeat([0, 1], 5), "2-D"),
    (np.zeros((10, 3), bool), np.repeat([0, 1], 4), "one entry per probe sample"),
    (np.zeros((10, 3), bool), np.zeros(10), "two labels"),
])
def test_bad_input(spikes, labels, match):
    with pytest.raises(ValueError, match=match):
        memorization_indicators(spikes, labels)
