"""Stimulus-conditioned statistics (ann2neo.analysis.conditioned) against scipy, statsmodels, sklearn, Elephant."""
import warnings

import neo
import numpy as np
import pandas as pd
import pytest
import quantities as pq
from scipy import stats

import ann2neo
from ann2neo import Recording, UnitError
from ann2neo.analysis.conditioned import mutual_information


@pytest.fixture
def tuned(rng):
    """Poisson counts of 6 units over 3 conditions x 40 trials; unit 0 strongly tuned, unit 5 silent."""
    lab = np.repeat(np.array(["a", "b", "c"]), 40)
    means = np.array([[1, 6, 12], [3, 3, 3], [2, 3, 4], [5, 5, 6], [0.5, 0.5, 2], [0, 0, 0]], float)
    x = rng.poisson(means[:, np.searchsorted(["a", "b", "c"], lab)].T)
    return x, lab


@pytest.fixture
def layer(rng):
    """A binary layer: 600 samples of 4 classes, 12 nodes with class-dependent spike probabilities."""
    lab = rng.integers(0, 4, 600)
    p = rng.uniform(0.05, 0.9, (4, 12))
    return rng.random((600, 12)) < p[lab], lab


def test_tuning_is_the_mean_and_sem_per_condition(tuned):
    x, lab = tuned
    t = ann2neo.tuning(x, lab)
    df = pd.DataFrame(x).assign(c=lab).groupby("c")
    np.testing.assert_allclose(t.rate, df.mean().to_numpy().T, rtol=1e-12)
    np.testing.assert_allclose(t.sem[:4], df.sem().to_numpy().T[:4], rtol=1e-12)
    assert t.conditions.tolist() == ["a", "b", "c"] and t.rate_unit == "1/trial"
    assert t.preferred()[0] == "c" and t.n_trials.tolist()[0] == [40, 40, 40]
    long = t.to_frame()
    assert len(long) == 18 and set(long.columns) == {"unit", "condition", "rate", "sem", "n_trials"}


def test_tuning_of_a_layer_is_the_spike_probability_per_class(layer):
    m, lab = layer
    rec = Recording.from_matrix(m, labels=lab)
    t = ann2neo.tuning(rec)
    for c in range(4):
        p = m[lab == c].mean(axis=0)
        np.testing.assert_allclose(t.rate[:, c], p, rtol=1e-12)
        n = (lab == c).sum()
        np.testing.assert_allclose(t.sem[:, c], np.sqrt(p * (1 - p) / (n - 1)), rtol=1e-12)
    assert t.rate_unit == "1/sample"


def test_tuning_of_physical_trials_is_a_rate_per_time_unit(rng):
    b = rng.random((10, 2, 100)) < 0.05
    rec = Recording.from_binned(b, 1 * pq.ms, trials={"d": np.repeat([0, 1], 5)}, condition="d")
    t = ann2neo.tuning(rec)
    np.testing.assert_allclose(t.rate[:, 0], b[:5].sum(axis=2).mean(axis=0) / 0.1, rtol=1e-12)  # Hz
    assert t.rate_unit == "Hz"


def test_selectivity_anova_equals_scipy_f_oneway(tuned):
    x, lab = tuned
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = ann2neo.selectivity(x, lab)
    for u in range(5):
        ref = stats.f_oneway(*(x[lab == c, u] for c in "abc"))
        assert s.table["F"].iloc[u] == pytest.approx(ref.statistic, rel=1e-10)
        assert s.table["p"].iloc[u] == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)
        grand = x[:, u].mean()
        ssb = sum(40 * (x[lab == c, u].mean() - grand) ** 2 for c in "abc")
        assert s.table["eta2"].iloc[u] == pytest.approx(ssb / ((x[:, u] - grand) ** 2).sum(), rel=1e-10)
    # the silent unit is undefined, not selective, and said so
    assert np.isnan(s.table.loc["unit 5", "F"]) and not s.table.loc["unit 5", "selective"]
    assert any("constant" in n for n in s.notes) and s.n_tested == 5


def test_selectivity_fdr_equals_statsmodels(tuned):
    from statsmodels.stats.multitest import multipletests

    x, lab = tuned
    s = ann2neo.selectivity(x[:, :5], lab, alpha=0.01)
    rej, adj, _, _ = multipletests(s.table["p"], alpha=0.01, method="fdr_bh")
    np.testing.assert_allclose(s.table["p_fdr"], adj, rtol=1e-12)
    assert s.table["selective"].tolist() == rej.tolist()
    assert s.table["selective"].iloc[0] and not s.table["selective"].iloc[1]
    assert s.fraction_selective == rej.mean()


def test_selectivity_label_shuffle_control_is_null(tuned):
    x, lab = tuned
    real = ann2neo.selectivity(x[:, :5], lab)
    xs, ls = ann2neo.trial_surrogates(x[:, :5], lab, method="labels", seed=3)
    null = ann2neo.selectivity(xs, ls)
    assert real.table["selective"].iloc[0] and not null.table["selective"].iloc[0]
    assert null.table["eta2"].iloc[0] < 0.05 < real.table["eta2"].iloc[0]


def test_eta2_on_binary_trials_is_chi_square_over_n(layer):
    m, lab = layer
    s = ann2neo.selectivity(Recording.from_matrix(m, labels=lab))
    for u in range(m.shape[1]):
        table = pd.crosstab(m[:, u], lab).to_numpy()
        chi2 = stats.chi2_contingency(table, correction=False).statistic
        assert s.table["eta2"].iloc[u] == pytest.approx(chi2 / m.shape[0], rel=1e-10)


def test_d_prime_closed_form_and_edge_cases():
    x = np.array([[0, 1, 5], [2, 1, 5], [4, 3, 7], [6, 3, 7]], float)  # conditions 0, 0, 1, 1
    s = ann2neo.selectivity(x, [0, 0, 1, 1])
    # unit 0: means 1 and 5, variances 2 and 2 -> d' = 4 / sqrt(2)
    assert s.table["d_prime"].iloc[0] == pytest.approx(4 / np.sqrt(2), rel=1e-12)
    # units 1, 2: constant within each condition, different across: d' and F infinite, p = 0
    assert np.isinf(s.table["d_prime"].iloc[1]) and np.isinf(s.table["F"].iloc[1])
    assert s.table["p"].iloc[2] == 0.0 and s.table["eta2"].iloc[2] == 1.0
    three = ann2neo.selectivity(np.vstack([x, x]), [0, 0, 1, 1, 2, 2, 2, 2])
    assert three.table["d_prime"].isna().all()


def test_mutual_information_plugin_equals_sklearn(rng):
    from sklearn.metrics import mutual_info_score

    lab = rng.integers(0, 3, 300)
    x = rng.poisson(1 + lab[:, None] * np.array([0, 1, 2]))
    mi, plugin, bias = mutual_information(x, lab, correction=None)
    for u in range(3):
        assert plugin[u] == pytest.approx(mutual_info_score(lab, x[:, u]) / np.log(2), rel=1e-10, abs=1e-14)
    assert np.array_equal(mi, plugin) and not bias.any()


def test_mutual_information_panzeri_treves_closed_form():
    # response = condition: plug-in MI 1 bit; each condition sees 1 value, 2 overall:
    # bias = (0 + 0 - 1) / (2 N ln 2)
    x = np.array([[0], [0], [1], [1], [0], [1]])
    lab = [0, 0, 1, 1, 0, 1]
    mi, plugin, bias = mutual_information(x, lab)
    assert plugin[0] == pytest.approx(1.0, abs=1e-15)
    assert bias[0] == pytest.approx(-1 / (2 * 6 * np.log(2)), rel=1e-12)
    assert mi[0] == pytest.approx(1 + 1 / (12 * np.log(2)), rel=1e-12)


def test_mutual_information_corrections_remove_bias_on_independent_data(rng):
    lab = np.repeat(np.arange(4), 15)
    x = rng.poisson(3, (60, 200))           # no information at all
    _, plugin, _ = mutual_information(x, lab, correction=None)
    pt, _, _ = mutual_information(x, lab)
    sh, _, _ = mutual_information(x, lab, correction="shuffle", n_shuffles=10, seed=0)
    assert plugin.mean() > 0.1                       # the plug-in bias at 15 trials per condition
    assert abs(pt.mean()) < plugin.mean() / 2 and abs(sh.mean()) < plugin.mean() / 5
    s = ann2neo.selectivity(x, lab)
    assert any("MI bias" in n for n in s.notes)


def test_mutual_information_refuses_rates():
    with pytest.raises(ValueError, match="spike counts"):
        mutual_information(np.array([[0.5], [1.5]]), [0, 1])
    with pytest.raises(ValueError, match="correction"):
        mutual_information(np.array([[0], [1]]), [0, 1], correction="miller")


def test_sparseness_closed_forms():
    # conditions 0..3, one trial each; units: one-hot, uniform, two of four, silent
    x = np.array([[1, 2, 1, 0], [0, 2, 1, 0], [0, 2, 0, 0], [0, 2, 0, 0]], float)
    s = ann2neo.sparseness(x, [0, 1, 2, 3])
    np.testing.assert_allclose(s.lifetime[:3], [1.0, 0.0, 2 / 3], rtol=1e-12)
    np.testing.assert_allclose(s.activity_ratio[:3], [0.25, 1.0, 0.5], rtol=1e-12)
    assert np.isnan(s.lifetime[3]) and any("never respond" in n for n in s.notes)
    # population over units of the condition-0 response (1, 2, 1, 0): a = 1 / 1.5
    assert s.population[0] == pytest.approx((1 - 1 / 1.5) / (1 - 1 / 4), rel=1e-12)


def test_sparseness_over_binary_trials_restates_the_rate(layer):
    m, lab = layer
    s = ann2neo.sparseness(Recording.from_matrix(m, labels=lab), over="trials")
    p, n = m.mean(axis=0), m.shape[0]
    np.testing.assert_allclose(s.lifetime, (1 - p) / (1 - 1 / n), rtol=1e-12)
    q, k = m.mean(axis=1), m.shape[1]
    ok = q > 0
    np.testing.assert_allclose(s.population[ok], (1 - q[ok]) / (1 - 1 / k), rtol=1e-12)
    assert any("restate the rate" in n for n in s.notes)
    with pytest.raises(ValueError, match="over"):
        ann2neo.sparseness(m, lab, over="units")


def _trains(b, width_ms, t0=0.0):
    """Neo trains (one per trial) of one unit's binned row, spikes at bin starts."""
    return [neo.SpikeTrain((t0 + np.flatnonzero(row) * width_ms) * pq.ms, t_start=t0 * pq.ms,
                           t_stop=(t0 + row.size * width_ms) * pq.ms) for row in b]


def test_trial_fano_factor_equals_elephant_per_condition_and_bin(rng):
    import elephant.statistics as es

    b = rng.random((30, 3, 400)) < 0.04
    b[:, 2] = False
    d = np.repeat([0, 1, 2], 10)
    rec = Recording.from_binned(b, 1 * pq.ms, trials={"d": d}, condition="d")
    ff = ann2neo.trial_fano_factor(rec, 100 * pq.ms)
    assert ff.fano.shape == (3, 3, 4) and ff.bin_width == 100.0 and ff.time_unit == "ms"
    for c in range(3):
        for u in range(2):
            trains = _trains(b[d == c, u], 1.0)
            for k in range(4):
                sl = [st.time_slice(k * 100 * pq.ms, (k * 100 + 99.5) * pq.ms) for st in trains]  # [a, b)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ref = es.fanofactor(sl)
                assert ff.fano[c, u, k] == pytest.approx(ref, rel=1e-12)
    assert np.isnan(ff.fano[:, 2]).all()                # silent: undefined
    with pytest.raises(UnitError):
        ann2neo.trial_fano_factor(rec, 5 * ann2neo.sample)


def test_trial_fano_factor_of_binary_classes_is_one_minus_p(layer):
    m, lab = layer
    ff = ann2neo.trial_fano_factor(Recording.from_matrix(m, labels=lab))
    for c in range(4):
        p = m[lab == c].mean(axis=0)
        np.testing.assert_allclose(ff.fano[c, :, 0][p > 0], 1 - p[p > 0], rtol=1e-12)
    with pytest.raises(UnitError, match="samples"):
        ann2neo.trial_fano_factor(Recording.from_matrix(m, labels=lab), 5 * pq.ms)


def test_psth_equals_elephant_time_histogram(rng):
    import elephant.statistics as es

    b = rng.random((20, 2, 300)) < 0.05
    d = np.tile([0, 1], 10)
    rec = Recording.from_binned(b, 1 * pq.ms, t_start=-100 * pq.ms, trials={"d": d}, condition="d")
    h = ann2neo.psth(rec, 50 * pq.ms)
    assert h.rate.shape == (2, 2, 6) and h.n_trials.tolist() == [10, 10]
    np.testing.assert_allclose(h.bin_starts, np.arange(6) * 50.0)
    for c in range(2):
        for u in range(2):
            ref = es.time_histogram(_trains(b[d == c, u], 1.0, t0=-100.0), bin_size=50 * pq.ms, output="rate")
            np.testing.assert_allclose(h.rate[c, u], ref.rescale(pq.Hz).magnitude[:, 0], rtol=1e-12)
    with pytest.raises(TypeError):
        ann2neo.psth(b[:, 0])


def test_trial_surrogates_keep_what_they_promise(tuned):
    x, lab = tuned
    xs, ls = ann2neo.trial_surrogates(x, lab, method="within", seed=0)
    assert np.array_equal(ls, lab) and not np.array_equal(xs, x)
    for c in "abc":
        assert np.array_equal(np.sort(xs[lab == c], axis=0), np.sort(x[lab == c], axis=0))
    xl, ll = ann2neo.trial_surrogates(x, lab, method="labels", seed=0)
    assert np.array_equal(xl, x) and sorted(ll) == sorted(lab) and not np.array_equal(ll, lab)
    with pytest.raises(ValueError, match="method"):
        ann2neo.trial_surrogates(x, lab, method="rotate")


def test_trial_surrogates_of_recordings(rng, layer):
    m, lab = layer
    rec = Recording.from_matrix(m, labels=lab)
    within = ann2neo.trial_surrogates(rec, method="within", seed=1)
    assert isinstance(within, Recording)
    np.testing.assert_allclose(ann2neo.tuning(within).rate, ann2neo.tuning(rec).rate, rtol=1e-12)
    shuffled = ann2neo.trial_surrogates(rec, method="labels", seed=1)
    assert np.array_equal(shuffled.binned, rec.binned) and not np.array_equal(shuffled.conditions(), lab)
    times = Recording.from_spike_times([[[1.0, 5.0], [2.0]], [[11.0], []]], t_start=[0.0, 10.0],
                                       t_stop=[10.0, 20.0], time_unit=pq.ms, trials={"d": [0, 0]}, condition="d")
    moved = ann2neo.trial_surrogates(times, method="within", seed=0)
    assert np.array_equal(np.sort(moved.trial_counts(), axis=0), np.sort(times.trial_counts(), axis=0))


def test_bad_input_gets_clear_errors(tuned):
    x, lab = tuned
    with pytest.raises(ValueError, match="condition of each trial"):
        ann2neo.tuning(x)
    with pytest.raises(ValueError, match="one condition per trial"):
        ann2neo.tuning(x, lab[:-1])
    with pytest.raises(TypeError):
        ann2neo.selectivity("counts.csv", lab)
    with pytest.raises(ValueError, match="NaN"):
        ann2neo.tuning(np.full((3, 2), np.nan), [0, 1, 0])
    with pytest.raises(ValueError, match="shape"):
        ann2neo.tuning(np.zeros(5), [0] * 5)
    with pytest.raises(ValueError, match="at least 2 conditions"):
        ann2neo.selectivity(x, np.zeros(len(lab)))
    with pytest.raises(ValueError, match=">= 0"):
        ann2neo.tuning(-x, lab)


def test_docstring_examples_of_conditioned_run():
    import doctest

    import ann2neo.analysis.conditioned as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_docstring_examples_of_trials_run():
    import doctest

    import ann2neo.analysis._trials as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_stn_left_right_tuning_selectivity_and_fano(real_neurons):
    import scipy.io as sio

    d = sio.loadmat(real_neurons / "10_spikes-1.mat")
    stn = Recording.from_binned(d["train"], 1 * pq.ms, t_start=-1 * pq.s, time_unit=pq.s,
                                trials={"direction": d["direction"].ravel()}, condition="direction",
                                unit_names=["STN"])
    t = ann2neo.tuning(stn)
    np.testing.assert_allclose(t.rate[0], [58.66, 35.26], atol=0.005)          # the data's README, in Hz
    assert t.rate_unit == "Hz" and t.n_trials[0].tolist() == [25, 25]
    counts, direction = stn.trial_counts()[:, 0], stn.conditions()
    s = ann2neo.selectivity(stn)
    ref = stats.f_oneway(counts[direction == 0], counts[direction == 1])
    assert s.table["F"].iloc[0] == pytest.approx(ref.statistic, rel=1e-10)
    ff = ann2neo.trial_fano_factor(stn, 2 * pq.s)                                # one bin: the whole trial
    for c in (0, 1):
        x = counts[direction == c]
        assert ff.fano[c, 0, 0] == pytest.approx(x.var() / x.mean(), rel=1e-12)
