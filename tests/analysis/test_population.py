"""Population statistics (ann2neo.analysis.population) against Elephant, numpy and scikit-learn."""
import warnings

import numpy as np
import pytest
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import correlation_coefficient

import ann2neo
from ann2neo import Recording, sample
from ann2neo.analysis.population import gram


@pytest.fixture
def classes(rng):
    """A binary layer of 10 nodes over 800 samples of 4 classes, with shared trial-to-trial noise."""
    lab = rng.integers(0, 4, 800)
    p = rng.uniform(0.1, 0.8, (4, 10))
    shared = rng.random(800)[:, None] < 0.3
    m = (rng.random((800, 10)) < p[lab]) | (shared & (np.arange(10) < 5))
    m[:, 9] = False                                   # a silent node
    return m, lab


def test_gram_is_exact_at_the_float32_limit(rng):
    # counts up to 15: 2**24 / 225 = 74,565 rows per exact block; 200,000 rows need 3 blocks
    x = rng.integers(0, 16, (200_000, 5)).astype(np.uint8)
    x[:, 0] = 15                                      # a sum of 15**2 * 200,000 = 4.5e7 > 2**24
    g, s = gram(x)
    ref = x.astype(np.int64).T @ x.astype(np.int64)
    assert np.array_equal(g, ref) and np.array_equal(s, x.sum(axis=0))
    # one float32 product over all rows would not be exact
    x32 = x.astype(np.float32)
    assert not np.array_equal((x32.T @ x32).astype(np.int64), ref)
    assert np.array_equal(gram(x, block_rows=7)[0], ref)
    big = rng.integers(0, 5000, (50, 3))               # counts above 4,096: the float64 route
    assert np.array_equal(gram(big)[0], big.T @ big)


@pytest.mark.parametrize("n_rows", [1, 7, 8, 63, 64, 65, 1000, 70_001])
def test_gram_of_binary_spikes_by_popcount_is_exact(rng, n_rows):
    m = rng.random((n_rows, 37)) < 0.4
    m[:, 3] = True
    m[:, 4] = False
    ref = m.astype(np.int64).T @ m.astype(np.int64)
    g, s = gram(m)                                     # binary: packed bits and popcount
    assert np.array_equal(g, ref) and np.array_equal(s, m.sum(axis=0))
    assert np.array_equal(gram(m.astype(np.uint8), method="blas")[0], ref)
    assert np.array_equal(gram(m.astype(np.int64), method="bits")[0], ref)
    with pytest.raises(ValueError, match="binary"):
        gram(m.astype(np.int64) * 2, method="bits")


def test_total_correlation_equals_elephant_on_the_same_bins(classes):
    m, lab = classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = correlation_coefficient(BinnedSpikeTrain(ann2neo.to_spiketrains(m), bin_size=1 * sample,
                                                       t_start=0 * sample, t_stop=m.shape[0] * sample))
    c = ann2neo.correlations(Recording.from_matrix(m, labels=lab))
    np.testing.assert_allclose(c.matrix, ref, rtol=0, atol=1e-12, equal_nan=True)
    assert np.isnan(c.matrix[9]).all() and c.undefined == ["node 9"] and any("undefined" in n for n in c.notes)
    assert c.values.size == 36 and c.mean == pytest.approx(ref[np.triu_indices(9, 1)].mean(), rel=1e-10)
    assert c.n_observations == 800 and c.kind == "total"


def test_total_correlation_of_spike_times_in_bins_equals_elephant(rng):
    times = [np.sort(rng.uniform(0, 2, rng.integers(20, 60))) for _ in range(4)]
    times[1] = np.sort(np.concatenate([times[0][::2] + 0.001, times[1]]))
    rec = Recording.from_spike_times(times, t_start=0 * pq.s, t_stop=2 * pq.s)
    c = ann2neo.correlations(rec, bin_width=20 * pq.ms)
    trains = [ann2neo.core.conversion.neo.SpikeTrain(t * pq.s, t_stop=2 * pq.s) for t in times]
    ref = correlation_coefficient(BinnedSpikeTrain(trains, bin_size=20 * pq.ms))
    np.testing.assert_allclose(c.matrix, ref, rtol=0, atol=1e-12)
    with pytest.raises(ann2neo.UnitError):
        ann2neo.correlations(rec, bin_width=20 * sample)


def test_noise_and_signal_correlations_by_their_definitions(classes):
    m, lab = classes
    x = m[:, :9].astype(float)
    means = np.stack([x[lab == c].mean(axis=0) for c in range(4)])
    noise = ann2neo.correlations(x, lab, kind="noise")
    np.testing.assert_allclose(noise.matrix, np.corrcoef((x - means[lab]).T), rtol=0, atol=1e-12)
    signal = ann2neo.correlations(m[:, :9], lab, kind="signal")
    np.testing.assert_allclose(signal.matrix, np.corrcoef(means.T), rtol=0, atol=1e-12)
    assert signal.n_observations == 4
    # the shared noise makes nodes 0-4 noise-correlated; permuting within class removes it
    assert noise.matrix[:5, :5][np.triu_indices(5, 1)].min() > 0.1
    surrogate, _ = ann2neo.trial_surrogates(m[:, :9], lab, method="within", seed=0)
    control = ann2neo.correlations(surrogate, lab, kind="noise")
    assert abs(control.mean) < 0.02 and control.sd < noise.sd


def test_correlations_of_rates_equal_numpy(rng):
    x = rng.gamma(2.0, 1.5, (300, 6))                     # non-integer rates: the float route
    np.testing.assert_allclose(ann2neo.correlations(x).matrix, np.corrcoef(x.T), rtol=0, atol=1e-12)
    pr = ann2neo.participation_ratio(x, n_shuffles=0)
    lam = np.linalg.eigvalsh(np.cov(x.T))
    assert pr.value == pytest.approx(lam.sum() ** 2 / (lam ** 2).sum(), rel=1e-10)


def test_two_conditions_make_signal_correlations_plus_minus_one(rng):
    x = rng.poisson(3, (40, 3))
    c = ann2neo.correlations(x, np.repeat([0, 1], 20), kind="signal")
    assert set(np.abs(np.round(c.values, 12))) == {1.0} and any("2 conditions" in n for n in c.notes)
    with pytest.raises(ValueError, match="condition of each trial"):
        ann2neo.correlations(x, kind="noise")
    with pytest.raises(ValueError, match="kind"):
        ann2neo.correlations(x, kind="partial")


def test_participation_ratio_equals_pca_eigenvalues(rng):
    from sklearn.decomposition import PCA

    latent = rng.normal(size=(500, 3))
    x = rng.poisson(np.exp(0.3 * latent @ rng.normal(size=(3, 12))))
    pr = ann2neo.participation_ratio(x, n_shuffles=3, components=True, seed=0)
    lam = PCA().fit(x).explained_variance_
    assert pr.value == pytest.approx(lam.sum() ** 2 / (lam ** 2).sum(), rel=1e-10)
    np.testing.assert_allclose(pr.eigenvalues, lam * (x.shape[0] - 1), rtol=1e-8, atol=1e-6)
    cum = np.cumsum(lam) / lam.sum()
    assert pr.n_components == int(np.argmax(cum >= 0.9) + 1)
    assert pr.value < pr.shuffled.min() and pr.shuffled.size == 3
    d = x.var(axis=0)
    assert pr.independent == pytest.approx(d.sum() ** 2 / (d ** 2).sum(), rel=1e-10)


def test_participation_ratio_closed_forms(rng):
    z = rng.normal(size=(1000, 1))
    rank_one = np.rint(5 + 2 * z @ np.ones((1, 8))).clip(0)
    assert ann2neo.participation_ratio(rank_one, n_shuffles=0).value == pytest.approx(1.0, rel=1e-9)
    eye = np.kron(np.eye(6), np.ones((50, 1)))           # 6 units, each on in its own 50 of 300 trials
    assert ann2neo.participation_ratio(eye, n_shuffles=0).value == pytest.approx(6 / (1 + 5 / 25), rel=1e-10)


def test_participation_ratio_kinds_and_within_shuffle(classes):
    m, lab = classes
    rec = Recording.from_matrix(m, labels=lab)
    noise = ann2neo.participation_ratio(rec, kind="noise", shuffle="within", n_shuffles=2, seed=1)
    assert noise.value < noise.shuffled.min()       # the shared noise is one dimension
    signal = ann2neo.participation_ratio(rec, kind="signal", n_shuffles=0)
    assert 1 <= signal.value <= 3 and signal.n_observations == 4     # 4 class means span at most 3 dimensions
    assert any("biased" in n for n in ann2neo.participation_ratio(m[:20], n_shuffles=0).notes)
    with pytest.raises(ValueError, match="shuffle"):
        ann2neo.participation_ratio(m, shuffle="rows")


def test_decode_equals_sklearn_cross_validation(classes):
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    m, lab = classes
    d = ann2neo.decode(Recording.from_matrix(m, labels=lab), n_shuffles=5, seed=3)
    ref = cross_val_score(RidgeClassifier(alpha=1.0), m.astype(float), lab,
                          cv=StratifiedKFold(5, shuffle=True, random_state=3))
    np.testing.assert_allclose(d.fold_accuracy, ref, rtol=1e-12)
    assert d.accuracy > 0.5 and d.chance == pytest.approx(np.bincount(lab).max() / lab.size)
    assert d.shuffled.max() < 0.4 and d.p_value == pytest.approx(1 / 6)


def test_decode_of_uninformative_population_is_at_chance(rng):
    from sklearn.neighbors import NearestCentroid

    lab = np.repeat([0, 1], 60)
    x = rng.poisson(2, (120, 8))
    d = ann2neo.decode(x, lab, estimator=NearestCentroid(), n_shuffles=9, seed=0)
    assert abs(d.accuracy - 0.5) < 0.15 and d.p_value > 0.05 and "NearestCentroid" in d.estimator
    separable = np.column_stack([lab, 1 - lab])
    assert ann2neo.decode(separable, lab, n_shuffles=0).accuracy == 1.0
    with pytest.raises(ValueError, match="fewer than n_splits"):
        ann2neo.decode(x[:62], lab[:62])


def test_docstring_examples_of_population_run():
    import doctest

    import ann2neo.analysis.population as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
