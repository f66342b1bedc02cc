"""Diagnostics: Fano factor tests, Ljung-Box, ADF, KS comparisons, surrogates."""
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import ann2neo
from ann2neo.analysis import (
    adf_test,
    autocorrelation,
    bernoulli_fano_factor_variance,
    bernoulli_surrogates,
    compare_firing_rates,
    fano_factor_test,
    ljung_box,
    poisson_surrogates,
)


def test_poisson_fano_test_matches_gamma_closed_form():
    n = 600
    ff = np.array([0.5, 1.0, 1.2, np.nan])
    got = fano_factor_test(ff, n)
    g = stats.gamma(a=(n - 1) / 2, scale=2 / (n - 1))
    sample_variance_ff = ff[:3] * n / (n - 1)  # ann2neo's F uses ddof=0 (Elephant); E&K's uses ddof=1
    expected = [min(1, 2 * min(g.cdf(f), g.sf(f))) for f in sample_variance_ff]
    np.testing.assert_allclose(got["p_value"][:3], expected, rtol=1e-12)
    assert got["significant"].tolist() == [True, False, True, False]
    assert got["direction"].tolist() == ["below", "above", "above", ""]


@pytest.mark.parametrize("n_windows", [12, 600])
def test_poisson_fano_test_holds_its_level_on_poisson_counts(n_windows):
    counts = np.random.default_rng(5).poisson(7.0, size=(4000, n_windows))
    ff = counts.var(axis=1) / counts.mean(axis=1)  # ddof=0, as ann2neo.fano_factor / Elephant
    level = fano_factor_test(ff, n_windows)["significant"].mean()
    assert 0.035 < level < 0.065


def test_bernoulli_fano_factor_variance_closed_form():
    # Monte Carlo variance of F' = S^2 / mean over Binomial(w, rate) counts
    rng = np.random.default_rng(6)
    for window, rate, n in ((100, 0.4, 600), (100, 0.9, 50), (10, 0.05, 200)):
        counts = rng.binomial(window, rate, size=(20_000, n))
        f = counts.var(axis=1, ddof=1) / counts.mean(axis=1)
        assert bernoulli_fano_factor_variance(rate, window, n) == pytest.approx(f.var(), rel=0.05)
    # Poisson limit: w -> inf, rate -> 0 gives Eden & Kramer's 2 / (N - 1)
    assert bernoulli_fano_factor_variance(1e-7, 10**7, 101) == pytest.approx(2 / 100, rel=1e-3)
    with pytest.raises(ValueError, match="n_windows must be >= 2"):
        bernoulli_fano_factor_variance(0.5, 100, 1)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        bernoulli_fano_factor_variance(1.5, 100, 10)


def test_bernoulli_gamma_test_agrees_with_simulation_and_holds_its_level():
    rng = np.random.default_rng(7)
    window, n = 100, 60
    rate = rng.uniform(0.02, 0.95, 3000)
    counts = rng.binomial(window, rate, size=(n, rate.size))
    ff = counts.var(axis=0) / counts.mean(axis=0)
    gamma = fano_factor_test(ff, n, null="bernoulli", rate=rate, window=window, method="gamma")
    assert 0.035 < gamma["significant"].mean() < 0.065
    sim = fano_factor_test(ff[:40], n, null="bernoulli", rate=rate[:40], window=window, method="simulation",
                           n_surrogates=4000, seed=0)
    diff = np.abs(gamma["p_value"][:40] - sim["p_value"])
    assert diff.max() < 0.06  # the Gamma's skew differs a little near the median
    assert diff[sim["p_value"] < 0.1].max() < 0.01  # and very little where decisions are made
    assert (gamma["direction"][:40] == sim["direction"]).mean() > 0.9
    with pytest.raises(ValueError, match="method"):
        fano_factor_test(ff, n, null="bernoulli", rate=rate, window=window, method="exact")


def test_autocorrelation_and_ljung_box_equal_statsmodels(hetero_matrix):
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    m = hetero_matrix
    r = autocorrelation(m, lags=7)
    lb, _ = ljung_box(m, lags=7, min_pairs=0)  # every non-constant node, to compare with statsmodels
    checked = 0
    for j in range(m.shape[1]):
        x = m[:, j].astype(float)
        if x.min() == x.max():
            assert np.isnan(r[:, j]).all() and np.isnan(lb["ljung_box_p"][j])
            continue
        np.testing.assert_allclose(r[:, j], acf(x, nlags=7, fft=False)[1:], rtol=1e-10, atol=1e-14)
        ref = acorr_ljungbox(x, lags=[7])
        assert lb["ljung_box_stat"][j] == pytest.approx(float(ref["lb_stat"].iloc[0]), rel=1e-10)
        assert lb["ljung_box_p"][j] == pytest.approx(float(ref["lb_pvalue"].iloc[0]), rel=1e-8, abs=1e-300)
        checked += 1
    assert checked >= 37
    tested_lb, _ = ljung_box(m, lags=7)
    defined = tested_lb["ljung_box_p"].dropna()
    assert 30 <= defined.size < checked  # nodes with 1-3 spikes are left out by the default rule
    for method in ("pearson", "fisher"):
        assert ljung_box(m, lags=7, combine=method)[1]["ljung_box_combined_p"] == pytest.approx(
            stats.combine_pvalues(defined, method=method).pvalue, rel=1e-10)
    with pytest.raises(ValueError, match="lags"):
        autocorrelation(m, lags=m.shape[0])


def _log_chi2_cdf_series(q, h):
    """log P(chi2_h <= q) from the power series of the regularized lower incomplete gamma function."""
    a, x = h / 2.0, q / 2.0
    term, total = 1.0, 1.0
    for j in range(1, 200):
        term *= x / (a + j)
        total += term
    return a * math.log(x) - x - math.lgamma(a + 1) + math.log(total)


def test_pearson_combination_is_stable_where_scipy_is_pinned_to_one():
    """Issue #7 C: one near-silent node drove Pearson's combined p to exactly 1 (log1p(-1) = -inf)."""
    from ann2neo.analysis.diagnostics import _pearson_combined

    h = 10
    q = np.array([1e-9, 12.0, 25.0, 3.0])  # the first p-value rounds to 1 in chi2.sf
    p = stats.chi2.sf(q, h)
    assert p[0] == 1.0
    with np.errstate(divide="ignore"):
        assert stats.combine_pvalues(p, method="pearson").pvalue == 1.0  # scipy: pinned
    expected_t = -2 * sum(_log_chi2_cdf_series(x, h) for x in q)
    assert _pearson_combined(q, h) == pytest.approx(stats.chi2.cdf(expected_t, 8), rel=1e-10)
    # where scipy is finite the two agree
    q = np.array([4.0, 12.0, 25.0, 9.0])
    assert _pearson_combined(q, h) == pytest.approx(
        stats.combine_pvalues(stats.chi2.sf(q, h), method="pearson").pvalue, rel=1e-10)


def test_ljung_box_on_a_sparse_independent_layer_is_not_pinned_and_holds_its_level():
    """13 windows of 100 samples as the default digits run: near-silent nodes are excluded and counted."""
    rng = np.random.default_rng(21)
    n = 1300
    rate = np.concatenate([rng.uniform(0.0005, 0.01, 100), rng.uniform(0.05, 0.9, 400)])
    m = rng.random((n, rate.size)) < rate
    per_node, t = ljung_box(m, lags=10)
    count = m.sum(axis=0)
    excluded = np.minimum(count, n - count) ** 2 / n < 2
    assert t["ljung_box_n_excluded"] == excluded.sum() >= 90 and t["ljung_box_n_tested"] == (~excluded).sum()
    assert per_node["ljung_box_p"][excluded].isna().all()
    assert per_node["ljung_box_note"][excluded & (count > 0)].str.contains("too few spikes").all()
    assert per_node["ljung_box_note"][count == 0].str.contains("constant").all()
    all_p = stats.chi2.sf(per_node["ljung_box_stat"][count > 0], 10)
    with np.errstate(divide="ignore"):
        assert stats.combine_pvalues(all_p, method="pearson").pvalue == 1.0  # the old, pinned report
    assert 0.001 < t["ljung_box_combined_p"] < 0.999
    assert 0.02 < t["ljung_box_fraction_significant"] < 0.09
    assert t["ljung_box_fraction_significant_bh"] <= t["ljung_box_fraction_significant"]
    from statsmodels.stats.multitest import multipletests

    tested = per_node["ljung_box_p"].dropna()
    assert t["ljung_box_fraction_significant_bh"] == multipletests(tested, 0.05, method="fdr_bh")[0].mean()


def test_alpha_and_lags_are_validated(hetero_matrix):
    with pytest.raises(ValueError, match="lags must be a whole number"):
        ljung_box(hetero_matrix, lags=2.9)
    with pytest.raises(ValueError, match="alpha must be < 1"):
        ljung_box(hetero_matrix, alpha=1.5)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        ann2neo.analyze(hetero_matrix, diagnostics=True, alpha=0)
    with pytest.raises(TypeError, match="alpha must be a real number"):
        fano_factor_test([1.0], 10, alpha="0.05")
    with pytest.raises(TypeError, match="lags must be an integer"):
        ann2neo.analyze(hetero_matrix, lags="10")
    with pytest.raises(ValueError, match="alpha must be < 1"):
        adf_test(hetero_matrix, alpha=5)
    assert ljung_box(hetero_matrix, lags=3.0)[0].shape[0] == hetero_matrix.shape[1]  # a whole float is fine


@pytest.mark.parametrize("window, rate, low", [(100, 0.005, 0.02), (100, 0.99, 0.02), (10, 0.95, 0.02),
                                               (10, 0.02, 0.0)])
def test_bernoulli_fano_test_falls_back_to_the_exact_conditional_simulation(window, rate, low):
    """Where w·λ or w·(1-λ) is small the Gamma law is not valid; auto switches to the conditional simulation.

    That test is exact: its size is at most alpha (up to Monte-Carlo error).  At w = 10, λ = 0.02 most
    nodes have 1-4 spikes, the null has a handful of possible values and no test can reach alpha.
    """
    rng = np.random.default_rng(int(rate * 1000) + window)
    n_windows = 13
    m = rng.random((n_windows * window, 1500)) < rate
    t = ann2neo.node_statistics(m, window)
    args = dict(null="bernoulli", rate=t["firing_rate"], window=window, n_spikes=t["n_spikes_windowed"])
    auto = fano_factor_test(t["fano_factor"], n_windows, seed=1, n_surrogates=400, **args)
    gamma = fano_factor_test(t["fano_factor"], n_windows, method="gamma", **args)
    tested = auto["p_value"].notna()
    assert (auto["method"][tested] == "simulation").mean() > 0.9
    assert (auto["method"][~tested] == "").all() and (auto["note"][~tested] != "").all()
    size_auto = auto["significant"][tested].mean()
    assert gamma["significant"][tested].mean() < 0.036  # the measured defect: size 0-3.4 %
    assert low < size_auto < 0.05 + 3 * np.sqrt(0.05 * 0.95 / tested.sum())


def test_conditional_simulation_matches_exhaustive_enumeration():
    """The simulated null given K_w is the permutation distribution: compare with every placement."""
    import itertools

    from ann2neo.analysis.diagnostics import _conditional_fano_factors

    n_windows, window, k = 3, 4, 5
    exact = []
    for pos in itertools.combinations(range(12), k):
        c = np.bincount(np.array(pos) // window, minlength=n_windows)
        exact.append(c.var() / c.mean())
    sim = _conditional_fano_factors([k], n_windows, window, 200_000, np.random.default_rng(0))[0]
    values, counts = np.unique(np.round(exact, 12), return_counts=True)
    sim_values, sim_counts = np.unique(np.round(sim, 12), return_counts=True)
    np.testing.assert_array_equal(values, sim_values)
    np.testing.assert_allclose(sim_counts / sim.size, counts / counts.sum(), atol=0.005)


def test_bernoulli_fano_test_holds_its_level_and_poisson_does_not():
    """Independent binary nodes: ~alpha significant against Bernoulli, most 'below 1' against Poisson."""
    rng = np.random.default_rng(1)
    m = rng.random((10_000, 100)) < 0.4
    r = ann2neo.analyze(m, diagnostics=True, seed=2)
    assert r.tests["ff_fraction_significant_bernoulli"] < 0.15
    assert r.tests["ff_fraction_below_poisson"] > 0.8  # power at N = 100 windows, F ~ 0.6
    assert r.tests["ljung_box_fraction_significant"] < 0.15
    assert r.tests["ljung_box_combined_p"] > 0.001
    assert r.tests["adf_fraction_unit_root_not_rejected"] < 0.15
    assert r.tests["adf_fraction_nonstationary"] == r.tests["adf_fraction_unit_root_not_rejected"]  # old name
    assert r.tests["ff_n_tested"] == 100 and r.tests["ff_n_simulated_bernoulli"] == 0
    assert {"ff_p_poisson", "ff_p_bernoulli", "ljung_box_p", "adf_p"} <= set(r.nodes.columns)


def test_diagnostics_detect_structure():
    rng = np.random.default_rng(3)
    n = 5000
    bursty = np.repeat(rng.random(n // 50) < 0.3, 50)           # on/off in blocks of 50 samples
    drifting = rng.random(n) < np.linspace(0.05, 0.9, n)        # non-stationary rate
    m = np.column_stack([bursty, drifting, rng.random(n) < 0.3])
    per_node, combined = ljung_box(m, lags=5)
    assert per_node["ljung_box_p"][0] < 1e-6 and per_node["ljung_box_p"][1] < 1e-6
    assert combined["ljung_box_combined_p"] < 0.05
    ff = fano_factor_test(ann2neo.fano_factor(m, 100), n // 100, null="bernoulli",
                          rate=ann2neo.firing_rate(m), window=100, seed=0)
    assert ff["significant"][0] and ff["direction"][0] == "above"
    adf, summary = adf_test(m, window=100, on="cumulative")
    assert "cumulative" in summary["adf_series"]


def test_constant_and_short_series_give_nan_with_reason():
    m = np.zeros((300, 2), bool)
    m[:, 1] = True
    lb, comb = ljung_box(m)
    assert lb["ljung_box_p"].isna().all() and (lb["ljung_box_note"] != "").all()
    assert np.isnan(comb["ljung_box_combined_p"]) and comb["ljung_box_n_excluded"] == 2
    adf, _ = adf_test(np.random.default_rng(0).random((300, 2)) < 0.5, window=100)
    assert adf["adf_p"].isna().all() and adf["adf_note"].str.contains("too few windows").all()
    with pytest.warns(ann2neo.analysis.SmallSampleWarning, match="single window"):
        one_window = ann2neo.analyze(np.random.default_rng(0).random((150, 3)) < 0.3, window=150, diagnostics=True)
    assert np.isnan(one_window.tests["ff_fraction_significant_poisson"]) and one_window.tests["ff_n_windows"] == 1
    assert one_window.nodes["ff_p_bernoulli"].isna().all() and one_window.tests["ff_n_undefined"] == 3
    assert one_window.nodes["fano_factor"].isna().all()  # a variance from one count: undefined, not 0.0
    assert one_window.nodes["ff_note"].str.contains("one window").all()
    with pytest.warns(ann2neo.analysis.SmallSampleWarning):
        r = ann2neo.analyze(m, window=100, diagnostics=True)  # must not raise
    assert np.isnan(r.nodes.loc[0, "ff_p_poisson"])  # silent: undefined
    # always on: F = 0 is right (equal to Elephant) but it is the only value such a node can take,
    # so it is no evidence against any null: NaN with a reason, not p = 0
    assert np.isnan(r.nodes.loc[1, "ff_p_poisson"]) and np.isnan(r.nodes.loc[1, "ff_p_bernoulli"])
    assert "always on" in r.nodes.loc[1, "ff_note"] and r.nodes.loc[1, "fano_factor"] == 0


def test_an_always_on_network_is_not_100_percent_significant():
    rng = np.random.default_rng(8)
    m = rng.random((3000, 10)) < 0.3
    m[:, :4] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 30 windows, some nodes varying: nothing to flag
        r = ann2neo.analyze(m, diagnostics=True, seed=0)
    assert r.tests["ff_n_undefined"] == 4 and r.tests["ff_n_tested"] == 6
    assert r.tests["ff_fraction_significant_poisson"] == r.nodes["ff_significant_poisson"][4:].mean()
    with pytest.warns(ann2neo.analysis.SmallSampleWarning, match="all nodes always on"):
        on = ann2neo.analyze(np.ones((3000, 5), bool), diagnostics=True)
    assert np.isnan(on.tests["ff_fraction_significant_poisson"]) and on.tests["ff_n_undefined"] == 5
    assert np.isnan(on.tests["ljung_box_combined_p"]) and on.tests["ljung_box_n_excluded"] == 5


def test_ks_comparisons_are_bonferroni_corrected():
    rng = np.random.default_rng(4)
    rates = {"a": rng.uniform(0, 1, 100), "b": rng.uniform(0, 1, 100), "c": rng.uniform(0, 0.2, 100)}
    t = compare_firing_rates(rates)
    assert len(t) == 3
    raw = stats.ks_2samp(rates["a"], rates["c"]).pvalue
    row = t[(t.a == "a") & (t.b == "c")].iloc[0]
    assert row["p_bonferroni"] == pytest.approx(min(1, 3 * raw))
    assert bool(row["different"]) and not bool(t[(t.a == "a") & (t.b == "b")]["different"].iloc[0])


def test_surrogates_have_the_requested_rates():
    b = bernoulli_surrogates([0.1, 0.6], 50_000, n_surrogates=2, seed=0)
    assert b.shape == (2, 50_000, 2) and b.dtype == bool
    np.testing.assert_allclose(b.mean(axis=(0, 1)), [0.1, 0.6], atol=0.01)
    p = poisson_surrogates([0.2], 20_000, n_surrogates=1, seed=0)[0][0]
    assert p.units == ann2neo.sample.units and len(p) / 20_000 == pytest.approx(0.2, abs=0.01)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        bernoulli_surrogates([1.5], 10)


def test_figure2_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from ann2neo.plotting import plot_cumulative_counts

    m = np.random.default_rng(0).random((500, 6)) < 0.3
    ax = plot_cumulative_counts(m, n_surrogates=20, null="bernoulli")
    assert len(ax.lines) >= 6
    ax.figure.savefig(tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 1000


def test_poisson_surrogates_use_a_local_generator_and_follow_elephants_process():
    """Issue #7 D: seed= reseeded numpy's global generator.  Now: a local Generator only."""
    from elephant.spike_train_generation import StationaryPoissonProcess

    np.random.seed(123)
    before = np.random.get_state()[1].copy(), np.random.get_state()[2]
    a = poisson_surrogates([0.05, 0.3, 0.0], 5000, n_surrogates=3, seed=7)
    after = np.random.get_state()
    np.testing.assert_array_equal(before[0], after[1])
    assert before[1] == after[2]  # the global stream was not touched
    b = poisson_surrogates([0.05, 0.3, 0.0], 5000, n_surrogates=3, seed=7)
    for sa, sb in zip(a, b, strict=True):
        for ta, tb in zip(sa, sb, strict=True):
            np.testing.assert_array_equal(ta.magnitude, tb.magnitude)  # reproducible
    assert len(a[0][2]) == 0
    rng = np.random.default_rng(1)
    c, d = poisson_surrogates([0.3], 100, seed=rng), poisson_surrogates([0.3], 100, seed=rng)
    assert not np.array_equal(c[0][0].magnitude, d[0][0].magnitude)  # a Generator continues its stream
    # same law as Elephant's own process drawing from the global state: KS on the ISIs, counts
    ours = np.concatenate([np.diff(s[0].magnitude) for s in poisson_surrogates([0.2], 20_000, 5, seed=3)])
    np.random.seed(5)
    theirs = np.concatenate([np.diff(StationaryPoissonProcess(rate=0.2 / ann2neo.sample, t_start=0 * ann2neo.sample,
                                                              t_stop=20_000 * ann2neo.sample)
                                     .generate_spiketrain().magnitude) for _ in range(5)])
    assert stats.ks_2samp(ours, theirs).pvalue > 0.01
    assert stats.kstest(ours, stats.expon(scale=5).cdf).pvalue > 0.01
    counts = [len(t) for s in poisson_surrogates([0.02], 1000, 400, seed=6) for t in s]
    assert np.mean(counts) == pytest.approx(20, abs=4 * np.sqrt(20 / 400))
    assert np.var(counts) / np.mean(counts) == pytest.approx(1, abs=0.25)  # Poisson counts
    with pytest.raises(TypeError, match="seed"):
        poisson_surrogates([0.1], 100, seed=1.5)


def test_diagnostics_do_not_depend_on_ddof():
    """The tests take Elephant's ddof=0 Fano factor whatever the table reports."""
    m = np.random.default_rng(9).random((2500, 30)) < np.linspace(0.005, 0.9, 30)
    a = ann2neo.analyze(m, diagnostics=True, seed=3)
    b = ann2neo.analyze(m, diagnostics=True, seed=3, ddof=1)
    np.testing.assert_allclose(b.nodes["fano_factor"], a.nodes["fano_factor"] * 25 / 24, rtol=1e-12, equal_nan=True)
    for column in ("ff_p_poisson", "ff_p_bernoulli"):
        np.testing.assert_allclose(a.nodes[column], b.nodes[column], rtol=1e-9, equal_nan=True)
    assert a.tests["ff_n_simulated_bernoulli"] > 0  # the sparse nodes, simulated with the same seed


def test_one_diagnose_for_both_time_bases_with_one_schema():
    """One diagnose: a spike matrix and spike trains in seconds give the same keys and columns."""
    import neo
    import quantities as pq
    from statsmodels.stats.diagnostic import acorr_ljungbox

    from ann2neo.analysis.diagnostics import diagnose

    rng = np.random.default_rng(11)
    m = rng.random((3000, 6)) < 0.2
    trains = [neo.SpikeTrain(np.sort(rng.uniform(0, 30, rng.poisson(300))) * pq.s, t_stop=30 * pq.s)
              for _ in range(6)]
    a = ann2neo.analyze(m, 100, diagnostics=True, seed=0)
    b = ann2neo.analyze(trains, 500 * pq.ms, diagnostics=True)
    assert a.tests.keys() == b.tests.keys() and list(a.nodes.columns) == list(b.nodes.columns)
    assert (a.tests["ff_nulls"], b.tests["ff_nulls"]) == ("poisson, bernoulli", "poisson")
    assert b.nodes["ff_p_bernoulli"].isna().all() and np.isnan(b.tests["ff_fraction_significant_bernoulli"])
    # physical time: Ljung-Box on each train's window counts, lags in windows (statsmodels)
    counts = ann2neo.window_counts(trains, 500 * pq.ms)
    expected = [float(acorr_ljungbox(c.astype(float), lags=[10])["lb_pvalue"].iloc[0]) for c in counts.T]
    np.testing.assert_allclose(b.nodes["ljung_box_p"], expected, rtol=1e-10)
    # the matrix path is the function itself, called with the table's own window
    per_node, tests = diagnose(m, ann2neo.node_statistics(m, 100), seed=0)
    pd.testing.assert_frame_equal(per_node, a.nodes[per_node.columns])
