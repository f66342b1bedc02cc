"""Exact finite-N Bernoulli null: exhaustive enumeration, simulation, and the long-recording limits."""
import itertools

import numpy as np
import pytest

import ann2neo
from ann2neo.analysis import (
    cv_dispersion,
    dispersion,
    expected_cv_isi_squared,
    expected_fano_factor,
    expected_lv,
    lv_dispersion,
)


def _all_subsets(n, k):
    """Every placement of k spikes in n samples: the conditional null, enumerated."""
    for pos in itertools.combinations(range(n), k):
        x = np.zeros(n, bool)
        x[list(pos)] = True
        yield np.array(pos), x


@pytest.mark.parametrize("n_windows, window, k", [(2, 3, 2), (3, 4, 5), (4, 3, 6), (3, 4, 11)])
def test_expected_fano_factor_equals_enumeration(n_windows, window, k):
    n = n_windows * window
    ff0, ff1 = [], []
    for _, x in _all_subsets(n, k):
        c = x.reshape(n_windows, window).sum(axis=1)
        ff0.append(c.var() / c.mean())
        ff1.append(c.var(ddof=1) / c.mean())
    assert expected_fano_factor(k, n_windows, window) == pytest.approx(np.mean(ff0), rel=1e-12)
    assert expected_fano_factor(k, n_windows, window, ddof=1) == pytest.approx(np.mean(ff1), rel=1e-12)


@pytest.mark.parametrize("n, k", [(6, 3), (9, 4), (12, 5), (12, 9), (5, 5)])
def test_expected_lv_and_cv_equal_enumeration(n, k):
    lvs, cv2_by_span = [], {}
    for pos, _ in _all_subsets(n, k):
        isi = np.diff(pos)
        a, b = isi[:-1], isi[1:]
        lvs.append(3 * np.mean(((a - b) / (a + b)) ** 2))
        cv2_by_span.setdefault(int(pos[-1] - pos[0]), []).append((isi.var() / isi.mean() ** 2,
                                                                   isi.var(ddof=1) / isi.mean() ** 2))
    assert expected_lv(k, n) == pytest.approx(np.mean(lvs), rel=1e-12, abs=1e-15)
    for span, values in cv2_by_span.items():
        values = np.array(values)
        assert expected_cv_isi_squared(k, span) == pytest.approx(values[:, 0].mean(), rel=1e-12, abs=1e-15)
        assert expected_cv_isi_squared(k, span, ddof=1) == pytest.approx(values[:, 1].mean(), rel=1e-12, abs=1e-15)


def test_long_recording_limits():
    """E[F | K] -> 1 - λ, E[CV² | K, L] -> 1 - λ (geometric ISIs), E[LV | K] -> LV of geometric ISIs."""
    n = 200_000
    for lam in (0.1, 0.5, 0.9):
        k = int(lam * n)
        assert expected_fano_factor(k, n // 100, 100) == pytest.approx(1 - lam, rel=1e-3)
        assert expected_cv_isi_squared(k, round((k - 1) / lam)) == pytest.approx(1 - lam, rel=1e-3)
        # independent reference: two i.i.d. geometric ISIs on {1, 2, ...}, summed directly
        i = np.arange(1, 4000)[:, None]
        j = np.arange(1, 4000)[None, :]
        pmf = lam * (1 - lam) ** (i - 1) * lam * (1 - lam) ** (j - 1)
        geometric_lv = 3 * np.sum(pmf * ((i - j) / (i + j)) ** 2)
        assert expected_lv(k, n) == pytest.approx(geometric_lv, rel=2e-3)
    # the numbers: LV of independent binary spiking is 0.83 at λ = 0.1 and 0.07 at λ = 0.9
    assert expected_lv(20_000, n) == pytest.approx(0.836, abs=0.005)
    assert expected_lv(180_000, n) == pytest.approx(0.068, abs=0.005)


@pytest.mark.parametrize("n_windows, n_nodes", [(4, 40_000), (13, 8_000), (100, 2_000), (600, 500)])
def test_dispersions_have_mean_one_for_independent_spiking(n_windows, n_nodes):
    """Done-when of issue #7 B: mean dispersion, CV dispersion, LV dispersion within 2 % of 1.

    Independent Bernoulli nodes with rates uniform on [0.02, 0.98], windows of 100 samples.
    """
    rng = np.random.default_rng(n_windows)
    rate = rng.uniform(0.02, 0.98, n_nodes)
    m = rng.random((n_windows * 100, n_nodes)) < rate
    t = ann2neo.node_statistics(m, 100)
    for column in ("dispersion", "cv_dispersion", "lv_dispersion"):
        values = t[column].dropna().to_numpy()
        assert values.size > 0.95 * n_nodes
        se = values.std() / np.sqrt(values.size)
        assert se < 0.005  # the test has the power to see a 2 % bias
        print(n_windows, column, values.mean(), se)
        assert abs(values.mean() - 1) < min(0.02, 4 * se), column
    # the naive ratio to the long-recording null is biased by (N - 1) / N at small N
    naive = (t["fano_factor"] / (1 - t["firing_rate"])).mean()
    assert naive == pytest.approx((n_windows - 1) / n_windows * (100 * n_windows) / (100 * n_windows - 1) * 1,
                                  abs=0.02)


def test_ratios_and_degenerate_nulls():
    assert dispersion(0.676692, 40, 4, 100) == pytest.approx(0.676692 / (0.9 * 300 / 399))
    assert np.isnan(dispersion(0.0, 400, 4, 100))  # always on: 0 / 0
    assert np.isnan(dispersion(0.0, 0, 4, 100))
    assert np.isnan(cv_dispersion(0.0, 5, 4))  # ISIs forced to 1
    assert np.isnan(expected_cv_isi_squared(2, 5)) and np.isnan(expected_lv(2, 10))  # one ISI
    assert np.isnan(lv_dispersion(0.0, 10, 10))
    np.testing.assert_array_equal(np.isnan(expected_lv([np.nan, 3, 0], 10)), [True, False, True])


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="n_spikes cannot exceed"):
        expected_fano_factor(401, 4, 100)
    with pytest.raises(ValueError, match="whole non-negative"):
        expected_lv(2.5, 10)
    with pytest.raises(ValueError, match="span"):
        expected_cv_isi_squared(5, 3)
    with pytest.raises(ValueError, match="ddof"):
        expected_fano_factor(4, 4, 100, ddof=2)
    with pytest.raises(TypeError, match="n_windows must be an integer"):
        expected_fano_factor(4, "4", 100)
