"""The batched ADF route against statsmodels ``adfuller`` (the reference), node by node."""
import warnings
from fractions import Fraction

import numpy as np
import pytest
from statsmodels.tsa.adfvalues import mackinnonp
from statsmodels.tsa.stattools import adfuller

from ann2neo.analysis import _adf
from ann2neo.analysis._adf import adf_maxlag, adfuller_batch
from ann2neo.analysis.diagnostics import adf_test
from ann2neo.analysis.statistics import window_counts


def reference(series):
    """statsmodels adfuller(autolag="AIC", regression="c") per column: stat, p, used lag, nobs."""
    out = []
    for j in range(series.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning about result_object; rank warnings
            res = adfuller(series[:, j], autolag="AIC", regression="c")
        out.append(res[:4])
    stat, p, lag, nobs = (np.array(v) for v in zip(*out, strict=True))
    return stat, p, lag.astype(int), nobs.astype(int)


def edge_series(n, rng):
    """Columns: ordinary and edge series (near-constant, blips, trends, periodic, huge mean, walks)."""
    t = np.arange(n, dtype=float)
    cols = [
        rng.poisson(40, n), rng.binomial(100, 0.9, n), (rng.random(n) < 0.02) * 1.0,  # stationary; rare
        np.where(t == n // 2, 6.0, 5.0),             # near-constant: one blip in the middle
        np.where(t == 1, 1.0, 0.0),                  # one blip at the start: lag columns constant later
        np.where(t == n - 1, 1.0, 0.0),              # one blip at the end: statsmodels gives NaN
        3.0 * t,                                     # deterministic linear trend (perfect fit)
        0.01 * t**2,                                 # deterministic quadratic trend
        0.1 * t + rng.poisson(5, n),                 # trend + noise
        np.where(t < n // 2, 10.0, 20.0),            # one step
        np.cumsum(rng.normal(size=n)).round(),       # random walk (unit root)
        np.cumsum(rng.poisson(40, n)),               # cumulative counts
        1e6 + rng.poisson(3, n),                     # huge mean: ill-conditioned level column
        t % 2, t % 3,                                # periodic: perfect fits
        (rng.random(n) < 0.5) + 1000.0,              # two values far from 0
    ]
    ar = np.zeros(n)
    e = rng.normal(size=n)
    for i in range(2, n):
        ar[i] = 0.6 * ar[i - 1] - 0.3 * ar[i - 2] + e[i]  # AR(2): a lag order > 0
    cols.append(ar)
    return np.column_stack(cols).astype(float)


@pytest.mark.parametrize("n", [4, 5, 20, 37, 130, 600])
def test_batch_equals_adfuller_on_edge_series(n):
    rng = np.random.default_rng(n)
    series = edge_series(n, rng)
    series = series[:, ~(series == series[:1]).all(axis=0)]  # constant columns: adfuller refuses them
    stat, p, lag, nobs = reference(series)
    got = adfuller_batch(series)
    np.testing.assert_array_equal(got["usedlag"], lag)
    np.testing.assert_array_equal(got["nobs"], nobs)
    np.testing.assert_allclose(got["statistic"], stat, rtol=1e-10, atol=0, equal_nan=True)
    np.testing.assert_allclose(got["pvalue"], p, rtol=1e-9, atol=1e-300, equal_nan=True)
    if n >= 130:  # the ordinary columns went the batched way, not through the fallback
        assert got["batched"][[0, 1, 2, 8, 10, 11]].all()
        assert not got["batched"][[6, 7, 12]].any()  # perfect fits and the huge mean: fallback


def spike_counts(n_nodes=16):
    """Window counts of a heterogeneous network: 60,000 samples, windows of 100 (600 windows, maxlag 19)."""
    rng = np.random.default_rng(7)
    rates = rng.uniform(0.0, 1.0, n_nodes)
    rates[:3] = [0.002, 0.998, 0.4]
    m = rng.random((60_000, rates.size)) < rates
    counts = window_counts(m, 100).astype(float)
    counts[:, 3] = rng.poisson(np.linspace(20, 60, 600))  # drifting rate
    return counts[:, ~(counts == counts[:1]).all(axis=0)]


def test_batch_equals_adfuller_on_window_counts():
    counts = spike_counts()
    stat, p, lag, nobs = reference(counts)
    got = adfuller_batch(counts)
    assert adf_maxlag(600) == 19 and got["batched"].all()
    assert np.unique(lag).size > 2  # several chosen orders: the grouping of the refit is exercised
    np.testing.assert_array_equal(got["usedlag"], lag)
    np.testing.assert_array_equal(got["nobs"], nobs)
    np.testing.assert_allclose(got["statistic"], stat, rtol=1e-10, atol=0)
    np.testing.assert_allclose(got["pvalue"], [mackinnonp(s, regression="c", N=1) for s in stat], rtol=1e-9)
    np.testing.assert_allclose(got["pvalue"], p, rtol=1e-9, atol=1e-300)


def test_batch_equals_adfuller_on_sparse_nodes():
    """Nodes with 1-60 spikes in 60,000 samples: sparse lag columns, some designs singular (fallback)."""
    rng = np.random.default_rng(13)
    rates = np.repeat([1e-5, 2e-5, 5e-5, 3e-4, 1e-3], 6)
    counts = window_counts(rng.random((60_000, rates.size)) < rates, 100).astype(float)
    counts = counts[:, ~(counts == counts[:1]).all(axis=0)]
    stat, p, lag, nobs = reference(counts)
    got = adfuller_batch(counts)
    assert 0.5 < got["batched"].mean() < 1  # one node (one spike, in the last window): singular, NaN
    np.testing.assert_array_equal(got["usedlag"], lag)
    np.testing.assert_allclose(got["statistic"], stat, rtol=1e-10, atol=0, equal_nan=True)
    np.testing.assert_allclose(got["pvalue"], p, rtol=1e-9, atol=1e-300, equal_nan=True)


def _solve_exact(a, b):
    """Solve a x = b in rational arithmetic (Gauss-Jordan on Fractions)."""
    n = len(a)
    rows = [list(r) + [v] for r, v in zip(a, b, strict=True)]
    for i in range(n):
        pivot = next(r for r in range(i, n) if rows[r][i] != 0)
        rows[i], rows[pivot] = rows[pivot], rows[i]
        for r in range(n):
            if r != i and rows[r][i] != 0:
                f = rows[r][i] / rows[i][i]
                rows[r] = [u - f * v for u, v in zip(rows[r], rows[i], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def exact_adf_statistic(x, lag):
    """The ADF t-statistic of an integer series at a given lag order, in exact rational arithmetic."""
    n, dx = x.size, np.diff(x)
    m = n - 1 - lag
    design = np.column_stack([x[lag:n - 1]] + [dx[lag - i:n - 1 - i] for i in range(1, lag + 1)]
                             + [np.ones(m)]).astype(np.int64)
    y = dx[lag:].astype(np.int64)
    xtx = [[Fraction(int(v)) for v in row] for row in design.T @ design]
    xty = [Fraction(int(v)) for v in design.T @ y]
    beta = _solve_exact(xtx, xty)
    ssr = Fraction(int(y @ y)) - sum(u * v for u, v in zip(beta, xty, strict=True))
    inv00 = _solve_exact(xtx, [Fraction(1)] + [Fraction(0)] * (len(xty) - 1))[0]
    t2 = beta[0] ** 2 * (m - design.shape[1]) / (ssr * inv00)
    return float(np.sign(float(beta[0])) * np.sqrt(float(t2)))


def test_batch_on_cumulative_counts_is_exact():
    """Cumulative counts (levels up to ~6e4): statsmodels' pinv is off by up to ~1e-9, the QR route by ~1e-12.

    Exact rational arithmetic is the reference for the statistic; statsmodels for the lag choice.
    """
    series = np.cumsum(spike_counts(), axis=0)
    stat, p, lag, nobs = reference(series)
    got = adfuller_batch(series)
    assert got["batched"].all()
    np.testing.assert_array_equal(got["usedlag"], lag)
    np.testing.assert_array_equal(got["nobs"], nobs)
    np.testing.assert_allclose(got["statistic"], stat, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(got["pvalue"], p, rtol=1e-7, atol=1e-300)
    for j in range(series.shape[1]):
        exact = exact_adf_statistic(series[:, j], int(lag[j]))
        assert got["statistic"][j] == pytest.approx(exact, rel=1e-10, abs=1e-12)


def test_fallback_alone_gives_adfuller(monkeypatch):
    """With every node sent to statsmodels, and with no guard at all on ordinary nodes, the answers agree."""
    rng = np.random.default_rng(3)
    series = rng.poisson(30, size=(200, 6)).astype(float)
    series[:, 5] = np.cumsum(series[:, 5])
    stat, _, lag, _ = reference(series)
    monkeypatch.setattr(_adf, "AIC_TIE", np.inf)
    got = adfuller_batch(series)
    assert not got["batched"].any()
    np.testing.assert_array_equal(got["statistic"], stat)
    monkeypatch.setattr(_adf, "AIC_TIE", -np.inf)
    monkeypatch.setattr(_adf, "RANK_TOL", 0.0)
    monkeypatch.setattr(_adf, "FIT_TOL", 0.0)
    got = adfuller_batch(series)
    assert got["batched"].all()
    np.testing.assert_array_equal(got["usedlag"], lag)
    np.testing.assert_allclose(got["statistic"], stat, rtol=1e-10)


def test_chunking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(4)
    series = rng.poisson(30, size=(150, 9)).astype(float)
    whole = adfuller_batch(series)
    monkeypatch.setattr(_adf, "_CHUNK_BYTES", 1)  # one node per chunk
    one_by_one = adfuller_batch(series)
    for key in ("statistic", "pvalue", "usedlag"):
        np.testing.assert_allclose(one_by_one[key], whole[key], rtol=1e-13)


def test_batch_rejects_bad_input():
    with pytest.raises(ValueError, match="too short for the ADF regression: 3 values"):
        adfuller_batch(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match="constant column"):
        adfuller_batch(np.column_stack([np.arange(30.0), np.ones(30)]))
    with pytest.raises(ValueError, match="must be 2-D"):
        adfuller_batch(np.arange(30.0))


def test_maxlag_is_statsmodels_default():
    for n in (4, 5, 20, 37, 100, 600, 6000):
        x = np.random.default_rng(n).normal(size=n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = adfuller(x, autolag=None, regression="c")  # uses maxlag lags
        assert res[2] == adf_maxlag(n)


@pytest.mark.parametrize("on", ["windowed", "cumulative"])
def test_adf_test_p_values_are_adfuller_per_node(hetero_matrix, on):
    per_node, summary = adf_test(hetero_matrix, window=50, on=on)  # 21 windows
    counts = window_counts(hetero_matrix, 50).astype(float)
    series = counts if on == "windowed" else np.cumsum(counts, axis=0)
    constant = (series == series[:1]).all(axis=0)
    assert constant[0] and per_node["adf_note"][constant].str.startswith("constant").all()
    _, p, _, _ = reference(series[:, ~constant])
    np.testing.assert_allclose(per_node["adf_p"][~constant], p, rtol=1e-9, atol=1e-300)
    degenerate = np.flatnonzero(~constant)[np.isnan(p)]  # e.g. a single spike in the last window
    assert (per_node["adf_note"][degenerate] == "degenerate ADF regression (statsmodels adfuller gives NaN)").all()
    assert summary["adf_n_tested"] == int((~np.isnan(p)).sum()) > 30
    assert summary["adf_fraction_unit_root_not_rejected"] == pytest.approx(np.mean(p[~np.isnan(p)] >= 0.05))


def test_adf_test_short_and_degenerate_series():
    m = np.zeros((400, 3), bool)
    m[:, 0] = np.random.default_rng(0).random(400) < 0.5
    m[:, 1] = np.random.default_rng(1).random(400) < 0.5
    m[399, 2] = True  # one spike in the last window only: statsmodels' regression is degenerate (NaN)
    per_node, summary = adf_test(m[:300], window=100, min_length=1)  # 3 windows: no regression possible
    assert per_node["adf_p"].isna().all() and per_node["adf_note"].str.contains("ADF regression").all()
    assert summary["adf_n_tested"] == 0 and np.isnan(summary["adf_fraction_unit_root_not_rejected"])
    per_node, summary = adf_test(m, window=100, min_length=1)  # 4 windows: maxlag 0, one degree of freedom
    counts = window_counts(m, 100).astype(float)
    _, p, _, _ = reference(counts)
    np.testing.assert_allclose(per_node["adf_p"][:2], p[:2], rtol=1e-9)
    assert np.isnan(p[2]) and np.isnan(per_node["adf_p"][2])
    assert per_node["adf_note"][2] == "degenerate ADF regression (statsmodels adfuller gives NaN)"
    assert summary["adf_n_tested"] == 2
