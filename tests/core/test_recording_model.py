"""The data model: Recording (units x trials x bins, one time base)."""
import neo
import numpy as np
import pandas as pd
import pytest
import quantities as pq
import scipy.io as sio

import ann2neo
from ann2neo import Recording, UnitError, sample


@pytest.fixture
def stn(real_neurons):
    d = sio.loadmat(real_neurons / "10_spikes-1.mat")
    return Recording.from_binned(d["train"], 1 * pq.ms, t_start=-1 * pq.s, time_unit=pq.s,
                                 trials={"direction": d["direction"].ravel()}, condition="direction",
                                 unit_names=["STN"])


def test_stn_trials_are_trials_of_one_unit_and_give_the_book_rates(stn):
    assert (stn.n_units, stn.n_trials, stn.n_bins) == (1, 50, 2000)
    counts = stn.trial_counts()[:, 0]
    assert counts.sum() == 4696
    rates = {d: (counts[stn.conditions() == d] / stn.duration[stn.conditions() == d]).mean() for d in (0, 1)}
    assert rates[0] == pytest.approx(58.66, abs=0.005) and rates[1] == pytest.approx(35.26, abs=0.005)
    ff = counts.var() / counts.mean()                   # across-trial Fano factor, ddof=0 (README of the data)
    assert ff == pytest.approx(6.574, abs=5e-4)
    groups = dict(stn.groupby())
    assert [g.n_trials for g in groups.values()] == [25, 25]


def test_counts_rebinned_equal_elephant_binned_spiketrain(stn):
    from elephant.conversion import BinnedSpikeTrain

    c = stn.counts(50 * pq.ms)                          # (50, 1, 40)
    block = stn.to_neo()
    for k in (0, 17, 49):
        st = block.segments[k].spiketrains[0]
        ref = BinnedSpikeTrain(st, bin_size=50 * pq.ms).to_array()[0]   # Elephant's edge tolerance, 1e-8
        np.testing.assert_array_equal(c[k, 0], ref)
    events = Recording.from_neo(block)                  # the same spikes as times
    np.testing.assert_array_equal(events.counts(50 * pq.ms), c)


def test_matrix_is_one_bin_trials_and_the_long_train_is_a_view():
    rng = np.random.default_rng(0)
    m = rng.random((30, 5)) < 0.4
    rec = Recording.from_matrix(m, labels=rng.integers(0, 3, 30), layer="hidden")
    assert rec.time_base == "sample" and rec.null == "bernoulli"
    assert np.shares_memory(rec.binned, m)
    np.testing.assert_array_equal(rec.trial_counts(), m.astype(int))
    long = rec.as_one_trial()
    assert (long.n_trials, long.n_bins) == (1, 30) and np.shares_memory(long.binned, m)
    for u in range(5):
        np.testing.assert_array_equal(long.spike_times(0, u), np.flatnonzero(m[:, u]))
    np.testing.assert_array_equal(rec.spike_matrix(), m)
    assert rec.units["name"].tolist()[:2] == ["hidden#0", "hidden#1"]
    # the long train equals ann2neo's own conversion of the matrix
    trains = ann2neo.to_spiketrains(m)
    np.testing.assert_array_equal(long.spike_times(0, 3), trains[3].magnitude)


def test_neo_round_trip_is_exact_for_trials_conditions_and_names(stn):
    block = stn.to_neo()
    assert len(block.segments) == 50 and len(block.groups) == 1
    assert block.segments[3].annotations["direction"] == int(stn.conditions()[3])
    assert block.groups[0].name == "STN" and len(block.groups[0].spiketrains) == 50
    back = Recording.from_neo(block)
    assert back.condition == "direction" and back.units["name"].tolist() == ["STN"]
    assert back.equals(stn)                              # same spikes, extents, trials
    assert not back.equals(stn.select(trials=np.arange(49)))


def test_spike_times_need_an_extent_and_honour_obs_intervals():
    with pytest.raises(TypeError, match="t_start and t_stop are required"):
        Recording(time_unit=pq.s, t_start=None, t_stop=None, spike_times=[[np.array([0.1])]])
    times = [np.linspace(0.05, 0.95, 10), np.linspace(0.5, 9.5, 10)]
    rec = Recording.from_spike_times(times, t_start=0 * pq.s, t_stop=10 * pq.s, unit_names=["a", "b"],
                                     units={"obs_intervals": [[[0.0, 1.0]], None]})
    rate = rec.trial_counts() / rec.observed_duration()
    np.testing.assert_allclose(rate[0], [10.0, 1.0])     # unit a observed 1 s of 10: 10 Hz, not 1 Hz


@pytest.mark.parametrize("times, message", [
    ([0.1, np.nan, 0.5], "finite"),
    ([0.5, 0.1], "not sorted"),
    ([0.5, 12.0], "outside the trial"),
])
def test_bad_spike_times_are_refused(times, message):
    with pytest.raises(ValueError, match=message):
        Recording.from_spike_times([np.array(times)], t_start=0 * pq.s, t_stop=10 * pq.s)


def test_time_base_is_checked():
    with pytest.raises(UnitError, match="not in samples"):
        Recording.from_spike_times([np.array([1.0])], t_start=0 * sample, t_stop=5 * pq.s)
    with pytest.raises(UnitError, match="a sample has no duration"):
        Recording.from_binned(np.zeros((2, 4), bool), 1 * pq.ms, t_start=3 * sample)
    with pytest.raises(ValueError, match="do not tile"):
        Recording(time_unit=pq.s, t_start=[0.0], t_stop=[1.0], binned=np.zeros((1, 1, 3), bool), bin_width=0.5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        Recording.from_binned(np.array([[0.0, np.nan, 1.0]]), 1 * pq.ms)
    with pytest.raises(ValueError, match="unique"):
        Recording.from_matrix(np.zeros((3, 2), bool), unit_names=["x", "x"])


def test_as_time_and_parse_duration():
    assert ann2neo.core.as_time(5 * pq.ms, "w", unit=pq.s) == 0.005 * pq.s
    with pytest.raises(UnitError):
        ann2neo.core.as_time(5 * sample, "t_start")
    with pytest.raises(TypeError, match="'500ms' on the command line"):
        ann2neo.core.as_time(5.0, "t_start")
    assert ann2neo.core.parse_duration("2 s") == 2 * pq.s
    with pytest.raises(ValueError):
        ann2neo.core.parse_duration("inf s")


def test_select_and_repr():
    rec = Recording.from_matrix(np.ones((4, 3), bool), labels=[1, 0, 1, 0])
    assert repr(rec) == "Recording(3 units x 4 trials x 1 bin of 1 sample; condition 'label': 0 (2), 1 (2))"
    sub = rec.select(trials=rec.conditions() == 1, units=["node 2"])
    assert (sub.n_trials, sub.n_units) == (2, 1) and isinstance(sub.trials, pd.DataFrame)
    assert isinstance(rec.to_neo(), neo.Block)


def test_a_sequence_layer_is_units_x_trials_x_positions():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    n_tokens, n_features = 7, 5
    model = keras.Sequential([keras.Input((n_tokens,), dtype="int32"), keras.layers.Embedding(20, 8),
                              keras.layers.Dense(n_features, activation="relu", name="ff"),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    tokens = np.random.default_rng(0).integers(0, 20, (30, n_tokens)).astype("int32")
    m = ann2neo.record(model, tokens, layers="ff")["ff"]
    assert m.layer_shape == (n_tokens, n_features)
    rec = Recording.from_sequence(m, labels=np.arange(30) % 3)
    assert (rec.n_trials, rec.n_units, rec.n_bins) == (30, n_features, n_tokens)
    cube = np.asarray(m).reshape(30, n_tokens, n_features)
    np.testing.assert_array_equal(rec.binned, cube.transpose(0, 2, 1))       # [trial, unit, position]
    np.testing.assert_array_equal(rec.trial_counts(), cube.sum(axis=1))
    long = rec.as_one_trial()                                                # the sequences in input order
    np.testing.assert_array_equal(long.spike_times(0, 2), np.flatnonzero(cube[:, :, 2].ravel()))
    with pytest.raises(ValueError, match="time_axis"):
        Recording.from_sequence(m, time_axis=2)
    with pytest.raises(ValueError, match="whole layer"):
        Recording.from_sequence(m[:, :3])
