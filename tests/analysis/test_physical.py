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
    with pytest.raises(TypeError, match="ambiguous"):
        physical.fano_factor([st], 100)
    with pytest.raises(ann2neo.UnitError, match="physical time"):
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
    with pytest.raises(TypeError, match="ambiguous"):
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


# -- trials: a Recording of one neuron over 50 trials is one unit ------------------------------------------------------
@pytest.fixture
def stn(real_neurons):
    d = scipy.io.loadmat(real_neurons / "10_spikes-1.mat")
    rec = ann2neo.Recording.from_binned(d["train"], 1 * pq.ms, t_start=-1 * pq.s,
                                        trials={"direction": d["direction"].ravel()}, condition="direction")
    return rec, d


def test_stn_recording_is_one_unit_over_50_trials(stn):
    rec, d = stn
    result = ann2neo.analyze(rec)
    assert len(result.nodes) == 1 and result.summary["n_trials"] == 50
    t = result.trials
    assert t.units["n_trials"].iloc[0] == 50
    rates = t.conditions.set_index("direction")["rate"]
    assert rates[0] == pytest.approx(58.66, abs=0.005) and rates[1] == pytest.approx(35.26, abs=0.005)
    assert t.conditions["n_trials"].tolist() == [25, 25]
    # across-trial Fano factor of the 2 s counts: Elephant's fanofactor (ddof=0) of the trial trains
    trains = [neo.SpikeTrain(np.flatnonzero(row) * pq.ms, t_start=0 * pq.ms, t_stop=2000 * pq.ms)
              for row in d["train"]]
    assert t.units["fano_factor_trials"].iloc[0] == pytest.approx(es.fanofactor(trains), rel=1e-12)
    assert t.units["fano_factor_trials"].iloc[0] == pytest.approx(6.574, abs=5e-4)
    left = d["direction"].ravel() == 0
    assert t.conditions["fano_factor_trials"].iloc[0] == pytest.approx(
        es.fanofactor([st for st, keep in zip(trains, left, strict=True) if keep]), rel=1e-12)
    # standard error of the per-direction mean rate over trials
    per_trial = d["train"].sum(axis=1) / 2.0
    assert t.conditions["rate_se"].iloc[1] == pytest.approx(per_trial[~left].std(ddof=1) / 5, rel=1e-12)
    assert "fano_factor, dispersion" in result.views and "ISIs within trials" in " ".join(result.views.values())


def test_psth_per_condition_equals_elephant_time_histogram(stn):
    rec, d = stn
    t = ann2neo.analyze(rec, psth_bin=50 * pq.ms).trials
    left = d["direction"].ravel() == 0
    trains = [neo.SpikeTrain((np.flatnonzero(row) - 1000) * pq.ms, t_start=-1000 * pq.ms, t_stop=1000 * pq.ms)
              for row, keep in zip(d["train"], left, strict=True) if keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = es.time_histogram(trains, bin_size=50 * pq.ms, output="rate").rescale(pq.Hz).magnitude.ravel()
    got = t.psth[t.psth["direction"] == 0]
    np.testing.assert_allclose(got["rate"], ref, rtol=1e-12)
    assert got["bin_start"].iloc[0] == -1000.0 and len(got) == 40
    # the adapter's time_histogram of the same trials is Elephant's too (trials aligned at their start)
    np.testing.assert_allclose(ann2neo.time_histogram(rec.select(trials=left), 50 * pq.ms, output="rate")
                               .magnitude.ravel(), ref, rtol=1e-12)


def test_isis_are_pooled_within_trials_never_across(stn):
    rec, d = stn
    rows = d["train"][:3]
    sub = rec.select(trials=[0, 1, 2])
    isis = np.concatenate([np.diff(np.flatnonzero(r)) * 1e-3 for r in rows])
    got = ann2neo.isi(sub)[0]
    np.testing.assert_allclose(got, isis, rtol=1e-12)
    assert got.size == sum(np.count_nonzero(r) - 1 for r in rows)  # no ISI from one trial's end to the next
    assert ann2neo.cv_isi(sub)[0] == pytest.approx(isis.std() / isis.mean(), rel=1e-12)
    terms = np.concatenate([((i[:-1] - i[1:]) / (i[:-1] + i[1:])) ** 2
                            for i in (np.diff(np.flatnonzero(r)).astype(float) for r in rows)])
    assert ann2neo.lv(sub)[0] == pytest.approx(3 * terms.mean(), rel=1e-12)
    one = rec.select(trials=[0])  # one trial: Elephant's cv and lv of the train
    st = neo.SpikeTrain(np.flatnonzero(rows[0]) * pq.ms, t_stop=2000 * pq.ms)
    assert ann2neo.cv_isi(one)[0] == pytest.approx(float(es.cv(es.isi(st))), rel=1e-12)
    assert ann2neo.lv(one)[0] == pytest.approx(float(es.lv(es.isi(st))), rel=1e-12)
    assert ann2neo.firing_rate(one)[0] == pytest.approx(float(es.mean_firing_rate(st).rescale(pq.Hz)), rel=1e-12)


def test_obs_intervals_are_honoured_w2():
    """W2: a unit with 10 spikes observed for 1 s of a 10 s session fires at 10 Hz, not 1 Hz."""
    times = [[np.linspace(0.05, 0.95, 10), np.linspace(0.5, 9.5, 10)]]
    rec = ann2neo.Recording.from_spike_times(times, t_start=0 * pq.s, t_stop=10 * pq.s, unit_names=["brief", "all"],
                                             units={"obs_intervals": [np.array([[0.0, 1.0]]), None]})
    t = ann2neo.node_statistics(rec, 100 * pq.ms)
    assert t["firing_rate"].tolist() == [10.0, 1.0] and t["duration"].tolist() == [1.0, 10.0]
    assert t["n_windows"].tolist() == [10, 100]  # no empty windows outside the observation
    assert t["unit"].tolist() == ["brief", "all"]


def test_pooled_poisson_cv_null_is_exact():
    """E[CV² | k_s, L_s] of ISIs pooled within trials: the ratio has mean 1 for Poisson trials of unequal rates."""
    rng = np.random.default_rng(7)
    times, n_units = [], 4000
    for _ in range(3):  # 3 trials of 1 s, each unit at a rate drawn per trial
        times.append([np.sort(rng.uniform(0, 1, rng.poisson(rng.uniform(3, 15)))) + 0.0 for _ in range(n_units)])
    starts = np.arange(3) * 2.0
    times = [[t + s for t in trial] for trial, s in zip(times, starts, strict=True)]
    rec = ann2neo.Recording.from_spike_times(times, t_start=starts * pq.s, t_stop=(starts + 1) * pq.s)
    t = ann2neo.node_statistics(rec, 100 * pq.ms)
    ratio = t["cv_dispersion"].dropna()
    assert ratio.mean() == pytest.approx(1.0, abs=4 * ratio.std() / np.sqrt(ratio.size))
    assert t["lv_dispersion"].dropna().mean() == pytest.approx(1.0, abs=0.03)
    # the Fano null assumes one rate across trials: rates that change from trial to trial show as dispersion > 1
    assert t["dispersion"].dropna().mean() > 1.05


def test_ann_recording_uses_the_long_train_view_and_reports_rates_per_label(hetero_matrix):
    labels = np.arange(hetero_matrix.shape[0]) % 3
    rec = ann2neo.Recording.from_matrix(hetero_matrix, labels=labels, layer="hidden")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ann2neo.analysis.SmallSampleWarning)
        a, b = ann2neo.analyze(hetero_matrix), ann2neo.analyze(rec)
    cols = ["firing_rate", "fano_factor", "cv_isi", "lv", "dispersion", "cv_dispersion", "lv_dispersion"]
    np.testing.assert_array_equal(a.nodes[cols].to_numpy(), b.nodes[cols].to_numpy())
    assert b.nodes["unit"].iloc[0] == "hidden#0" and "long train" in " ".join(b.views.values())
    cond = b.trials.conditions
    got = cond[(cond["unit"] == "hidden#5") & (cond["label"] == 2)]["rate"].iloc[0]
    assert got == pytest.approx(hetero_matrix[labels == 2, 5].mean(), rel=1e-12)
    assert b.trials.trials is None and b.trials.psth is None  # no 1,050-row-per-unit table for one-bin trials
