"""Statistics in physical time: equal to Elephant on real recordings; exact finite-sample Poisson nulls."""
import warnings
import elephant.statistics as es
import neo
import numpy as np
import pytest
import quantities as pq
import scipy.io
from elephant.conversion import BinnedSpikeTrain

import ann2neo
from ann2neo.analysis import physical

@pytest.fixture
def hippocampus(real_neurons):
    units = scipy.io.loadmat(real_neurons / "all_unit.mat", squeeze_me=True)["unit_t"]
    return [neo.SpikeTrain(np.sort(u) * pq.s, t_start=0 * pq.s, t_stop=1000 * pq.s) for u in units]


@pytest.mark.parametrize("window", [100 * pq.ms, 1 * pq.s, 7.3 * pq.s])
def test_real_units_equal_elephant(hippocampus, window):
    trains = hippocampus
    t = physical.node_statistics(trains, window)
    assert list(t.columns[:4]) == ["firing_rate", "fano_factor", "cv_isi", "lv"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = BinnedSpikeTrain(trains, bin_size=window, t_start=0 * pq.s, t_stop=1000 * pq.s).to_array()
    ff = np.array([es.fanofactor([np.zeros(c) for c in row]) for row in counts])
    np.testing.assert_allclose(t["fano_factor"], ff, rtol=1e-12)
    np.testing.assert_allclose(t["firing_rate"], [float(es.mean_firing_rate(st).rescale(pq.Hz)) for st in trains],
                               rtol=1e-12)
    np.testing.assert_allclose(t["cv_isi"], [es.cv(es.isi(st)) for st in trains], rtol=1e-12)
    np.testing.assert_allclose(t["lv"], [es.lv(es.isi(st)) for st in trains], rtol=1e-12)
    assert t["n_spikes"].sum() == 35_112  # every spike kept, sub-millisecond ISIs included
    # the same trains in ms give the same numbers
    in_ms = [st.rescale(pq.ms) for st in trains]
    np.testing.assert_allclose(physical.node_statistics(in_ms, window.rescale(pq.ms))["fano_factor"], ff, rtol=1e-12)


def test_stn_neuron_rates_match_the_book(real_neurons):
    d = scipy.io.loadmat(real_neurons / "10_spikes-1.mat")
    trains = [neo.SpikeTrain(np.flatnonzero(row) * pq.ms, t_start=0 * pq.ms, t_stop=2000 * pq.ms)
              for row in d["train"]]
    rates = ann2neo.firing_rate(trains)  # one return type: a float64 ndarray, in Hz for physical time
    left = d["direction"].ravel() == 0
    assert rates[left].mean() == pytest.approx(58.66, abs=0.005)
    assert rates[~left].mean() == pytest.approx(35.26, abs=0.005)


@pytest.mark.parametrize("n_windows", [4, 13, 100])
def test_poisson_references_are_exact_at_finite_size(n_windows):
    """Stationary Poisson trains: dispersion and LV dispersion average 1 at any number of windows."""
    rng = np.random.default_rng(n_windows)
    w, trains = 0.1, []
    for rate in rng.uniform(20, 200, 20_000 if n_windows == 4 else 5000):  # Hz: 2-20 spikes per 100 ms window
        k = rng.poisson(rate * w * n_windows)
        trains.append(neo.SpikeTrain(np.sort(rng.uniform(0, w * n_windows, k)) * pq.s, t_stop=w * n_windows * pq.s))
    t = physical.node_statistics(trains, w * pq.s)
    # SE of the mean dispersion ~ sqrt(2 / (N - 1)) / sqrt(n_trains) <= 0.006
    assert t["dispersion"].mean() == pytest.approx(1.0, abs=0.02)
    assert t["lv_dispersion"].mean() == pytest.approx(1.0, abs=0.02)
    # the textbook references (F = 1) would be off by 1/N
    assert t["fano_factor"].mean() == pytest.approx((n_windows - 1) / n_windows, abs=0.02)


def test_units_are_checked():
    st = neo.SpikeTrain([0.1, 0.4, 0.5, 0.9] * pq.s, t_stop=1 * pq.s)
    with pytest.raises(ann2neo.UnitError, match="ambiguous"):
        physical.fano_factor([st], 100)
    with pytest.raises(ann2neo.UnitError, match="s or ms"):
        physical.fano_factor([st], 100 * ann2neo.sample)
    with pytest.raises(ValueError, match="longer than every"):
        physical.fano_factor([st], 2 * pq.s)
    ann_train = ann2neo.to_spiketrains(np.eye(4, 1, dtype=bool))[0]
    with pytest.raises(ann2neo.UnitError, match="mix"):
        physical.is_physical([st, ann_train])
    assert physical.is_physical(st) and not physical.is_physical([ann_train])
    assert not physical.is_physical(np.zeros((3, 2), bool))


def test_analyze_dispatches_on_physical_time_and_equals_elephant(hippocampus):
    trains = hippocampus
    result = ann2neo.analyze(trains, window=1 * pq.s, diagnostics=True)
    assert result.summary["rate_unit"] == "Hz" and result.summary["null"] == "poisson"
    rates = np.array([float(es.mean_firing_rate(st).rescale(pq.Hz)) for st in trains])
    assert result.summary["mfr"] == pytest.approx(rates.mean(), rel=1e-12)
    got = ann2neo.firing_rate(trains)
    assert type(got) is np.ndarray and got.dtype == np.float64  # the type of a matrix's rates, in Hz here
    np.testing.assert_allclose(got, rates, rtol=1e-12)
    np.testing.assert_allclose(ann2neo.cv_isi(trains), [es.cv(es.isi(st)) for st in trains], rtol=1e-12)
    np.testing.assert_allclose(ann2neo.lv(trains), [es.lv(es.isi(st)) for st in trains], rtol=1e-12)
    assert "mf_null" in result.summary and "mf_poisson" not in result.summary  # one schema, the null a value
    # hippocampal units are far from Poisson: bursts and place fields
    assert result.summary["mean_cv_dispersion"] > 2 and result.tests["ff_fraction_significant_poisson"] > 0.9
    assert result.tests["ljung_box_n_tested"] == 16 and 0 <= result.tests["ljung_box_combined_p"] <= 1
    assert result.to_dict()["window_s"] == 1.0
    with pytest.raises(ann2neo.UnitError, match="ambiguous"):
        ann2neo.analyze(trains, window=100)


def test_diagnostics_hold_their_level_on_poisson_trains():
    rng = np.random.default_rng(3)
    trains = [neo.SpikeTrain(np.sort(rng.uniform(0, 60, rng.poisson(600))) * pq.s, t_stop=60 * pq.s)
              for _ in range(300)]
    result = ann2neo.analyze(trains, window=500 * pq.ms, diagnostics=True)
    assert 0.02 < result.tests["ff_fraction_significant_poisson"] < 0.09
    assert result.tests["ljung_box_fraction_significant"] < 0.1
    assert result.summary["mean_dispersion"] == pytest.approx(1.0, abs=4 * result.summary["mean_dispersion_se"])
    assert result.summary["mean_cv_dispersion"] == pytest.approx(1.0, abs=4 * result.summary["mean_cv_dispersion_se"])
    assert result.summary["mean_lv_dispersion"] == pytest.approx(1.0, abs=4 * result.summary["mean_lv_dispersion_se"])


def test_ddof_one_in_physical_time():
    st = neo.SpikeTrain([0.05, 0.31, 0.32, 0.77, 1.4, 1.9, 2.2, 3.9] * pq.s, t_stop=4 * pq.s)
    counts = ann2neo.window_counts([st], 500 * pq.ms)[:, 0]
    assert ann2neo.fano_factor([st], 500 * pq.ms, ddof=1)[0] == pytest.approx(counts.var(ddof=1) / counts.mean())
    isis = np.diff(st.magnitude)
    assert ann2neo.cv_isi([st], ddof=1)[0] == pytest.approx(isis.std(ddof=1) / isis.mean())


def test_physical_adf_equals_statsmodels_per_train(hippocampus):
    from statsmodels.tsa.stattools import adfuller

    trains = hippocampus
    result = ann2neo.analyze(trains, window=5 * pq.s, diagnostics=True)
    counts = ann2neo.window_counts(trains, 5 * pq.s).T
    expected = [adfuller(c.astype(float), autolag="AIC")[1] for c in counts]
    np.testing.assert_allclose(result.nodes["adf_p"], expected, rtol=1e-7)
    assert result.tests["adf_n_tested"] == 16
