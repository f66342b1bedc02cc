"""ann2neo.read: real neurons as Recordings (trials, conditions, extents), checked against published values;
the round trip read -> write -> read; hostile .mat and NWB inputs (issue 15: W2, W4, W10, U2, U5)."""
import datetime
import warnings

import numpy as np
import pytest
import quantities as pq
import scipy.io

import ann2neo
from ann2neo.io.loaders import AmbiguousVariablesError

SUBJECT = {"subject_id": "s1", "species": "Rattus norvegicus", "sex": "U", "age": "P90D/"}


def _rates(rec):
    return rec.trial_counts() / rec.observed_duration()


def test_stn_matrix_is_fifty_trials_of_one_unit_with_direction(real_neurons):
    stn = ann2neo.read(real_neurons / "10_spikes-1.mat", bin_width=1 * pq.ms)
    assert (stn.n_units, stn.n_trials, stn.n_bins) == (1, 50, 2000)
    assert stn.units["name"].tolist() == ["train"] and stn.condition == "direction"
    assert stn.t_start[0] == -1.0 and stn.t_stop[0] == 1.0       # t (ms, step 1 against 1 ms bins) gives t_start
    rates = _rates(stn)[:, 0]
    d = stn.conditions()
    assert rates[d == 0].mean() == pytest.approx(58.66, abs=0.005)  # Kramer & Eden, ch. 10
    assert rates[d == 1].mean() == pytest.approx(35.26, abs=0.005)
    counts = stn.trial_counts()[:, 0]
    assert counts.sum() == 4696 and counts.var() / counts.mean() == pytest.approx(6.574, abs=5e-4)
    raw = scipy.io.loadmat(real_neurons / "10_spikes-1.mat")
    np.testing.assert_allclose(stn.spike_times(3, 0) * 1000, raw["t"].ravel()[np.flatnonzero(raw["train"][3])])
    same = ann2neo.read(real_neurons / "10_spikes-1.mat", time_unit="ms")   # the bin width from t's step
    assert same.bin_width == pytest.approx(0.001) and same.equals(stn)


def test_the_time_vector_gives_the_extent_of_spike_times(real_neurons):
    cell = ann2neo.read(real_neurons / "spikes-1.mat")                 # t and X are not spikes
    assert cell.units["name"].tolist() == ["spiketimes"]
    assert cell.duration[0] == pytest.approx(177.761)
    assert _rates(cell)[0, 0] == pytest.approx(220 / 177.761)           # 1.238 Hz, not 220 / 170.062
    assert _rates(cell)[0, 0] == pytest.approx(1.2376, abs=1e-4)


def test_lfp_trials_and_extent(real_neurons):
    with pytest.raises(ValueError, match=r"pass --bin-width 1ms \(bin_width=1 \* pq.ms in Python\)"):
        ann2neo.read(real_neurons / "spikes-LFP-1.mat")
    lfp = ann2neo.read(real_neurons / "spikes-LFP-1.mat", bin_width=1 * pq.ms)
    assert (lfp.n_units, lfp.n_trials) == (1, 100) and lfp.condition is None
    assert _rates(lfp).mean() == pytest.approx(88.76, abs=0.005)
    assert lfp.t_start[0] == pytest.approx(0.001)                       # t[0], in s (step 0.001 against 1 ms)


def test_hippocampal_units_need_t_stop_and_keep_every_spike(real_neurons):
    with pytest.raises(ValueError, match=r"does not say when the recording stopped; its last spike is at 998.176 s"):
        ann2neo.read(real_neurons / "all_unit.mat")
    rec = ann2neo.read(real_neurons / "all_unit.mat", t_stop=1000 * pq.s)
    assert rec.n_units == 16 and rec.n_trials == 1 and rec.trial_counts().sum() == 35112
    assert rec.units["name"].tolist()[:2] == ["unit_t[0]", "unit_t[1]"]
    raw = scipy.io.loadmat(real_neurons / "all_unit.mat", squeeze_me=True)["unit_t"]
    np.testing.assert_array_equal(rec.spike_times(0, 5), raw[5])


@pytest.mark.parametrize("fmt", ["nwb", "nix"])
@pytest.mark.parametrize("file, kwargs", [
    ("10_spikes-1.mat", {"bin_width": 1 * pq.ms}),
    pytest.param("spikes-LFP-1.mat", {"bin_width": 1 * pq.ms}, marks=pytest.mark.slow),  # NixIO: 36 s, 100 segments
    ("spikes-1.mat", {}),
    ("all_unit.mat", {"t_stop": 1000 * pq.s}),
])
def test_read_write_read_is_exact_for_every_real_recording(real_neurons, tmp_path, file, kwargs, fmt):
    rec = ann2neo.read(real_neurons / file, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # no subject / resolution given: not the point here
        ann2neo.write(tmp_path / f"r.{fmt}", rec)
    back = ann2neo.read(tmp_path / f"r.{fmt}")
    assert back.equals(rec) and back.units["name"].tolist() == rec.units["name"].tolist()
    assert back.is_binned == rec.is_binned and back.condition == rec.condition
    np.testing.assert_array_equal(back.trial_counts(), rec.trial_counts())


def test_ann_recording_with_labels_round_trips_in_nwb_and_nix(tmp_path, rng):
    m = ann2neo.binarize(rng.normal(size=(60, 9)), layer="hidden")
    rec = ann2neo.Recording.from_matrix(m, labels=rng.integers(0, 4, 60), layer="hidden")
    for fmt in ("nwb", "nix"):
        ann2neo.write(tmp_path / f"a.{fmt}", {"test": rec, "train": rec.select(units=[0, 1, 2])})
        with pytest.raises(ValueError, match=r"holds 2 recordings \(test, train\); pick one with name="):
            ann2neo.read(tmp_path / f"a.{fmt}")
        back = ann2neo.read(tmp_path / f"a.{fmt}", name="test")
        assert back.equals(rec) and back.condition == "label"
        assert ann2neo.read_all(tmp_path / f"a.{fmt}")["train"].units["name"].tolist() == ["hidden#0", "hidden#1",
                                                                                           "hidden#2"]


REAL = [("10_spikes-1.mat", {"bin_width": 1 * pq.ms}), ("spikes-LFP-1.mat", {"bin_width": 1 * pq.ms}),
        ("spikes-1.mat", {}), ("all_unit.mat", {"t_stop": 1000 * pq.s})]


@pytest.mark.parametrize("file, kwargs", REAL)
def test_real_recordings_written_back_are_nwbinspector_clean(real_neurons, tmp_path, file, kwargs):
    from nwbinspector import inspect_nwbfile

    rec = ann2neo.read(real_neurons / file, **kwargs)
    if file == "all_unit.mat":
        with pytest.warns(UserWarning, match="resolution of these spike times is unknown"):
            ann2neo.write_nwb(tmp_path / "x.nwb", rec, subject=SUBJECT)
        rec.annotations["resolution"] = 40e-6            # every spike time is a multiple of 40 us (data README)
    ann2neo.write_nwb(tmp_path / "r.nwb", rec, subject=SUBJECT)
    bad = [f"{m.importance.name}: {m.check_function_name}: {m.message}"
           for m in inspect_nwbfile(nwbfile_path=str(tmp_path / "r.nwb"))
           if m.importance.name in ("CRITICAL", "ERROR", "BEST_PRACTICE_VIOLATION")]
    assert bad == []
    assert ann2neo.read(tmp_path / "r.nwb").equals(rec)


def test_written_stn_file_is_plain_nwb(real_neurons, tmp_path):
    import pynwb

    rec = ann2neo.read(real_neurons / "10_spikes-1.mat", bin_width=1 * pq.ms)
    with pytest.warns(UserWarning, match="without subject="):
        ann2neo.write_nwb(tmp_path / "stn.nwb", rec)
    with pynwb.NWBHDF5IO(str(tmp_path / "stn.nwb"), "r") as io:   # trials laid out one after another, directions kept
        f = io.read()
        assert len(f.trials) == 50 and f.trials["direction"][:].tolist()[:3] == rec.conditions()[:3].tolist()
        assert f.trials["start_time"][:2].tolist() == [0.0, 2.0] and f.trials["time_offset"][1] == 3.0
        assert f.units["unit_name"][:] == ["train"] and len(f.units["spike_times"][0]) == 4696
        assert f.units.resolution == pytest.approx(0.001)


def _nwb(path, units, trials=None):
    import pynwb

    f = pynwb.NWBFile(session_description="s", identifier="i",
                      session_start_time=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    f.add_unit_column("quality", "sorting quality")
    for times, obs, quality in units:
        f.add_unit(spike_times=times, quality=quality, **({"obs_intervals": obs} if obs is not None else {}))
    if trials:
        f.add_trial_column("stim", "stimulus")
        for a, b, stim in trials:
            f.add_trial(start_time=a, stop_time=b, stim=stim)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(f)


def test_w2_nwb_obs_intervals_are_honoured(tmp_path):
    _nwb(tmp_path / "f.nwb", [(np.linspace(0.05, 0.95, 10), [[0.0, 1.0]], "good"),
                              (np.linspace(0.5, 9.5, 10), [[0.0, 10.0]], "mua")])
    rec = ann2neo.read(tmp_path / "f.nwb")
    assert rec.t_stop[0] == 10.0 and rec.units["quality"].tolist() == ["good", "mua"]
    np.testing.assert_allclose(_rates(rec)[0], [10.0, 1.0])      # 10 spikes in its 1 s observed: 10 Hz


def test_nwb_trials_table_cuts_spikes_into_trials_with_conditions(tmp_path):
    _nwb(tmp_path / "t.nwb", [([0.1, 0.2, 1.5, 2.5, 2.6, 2.7], None, "good")],
         trials=[(0.0, 1.0, "a"), (1.0, 2.0, "b"), (2.0, 3.0, "a")])
    rec = ann2neo.read(tmp_path / "t.nwb")
    assert rec.n_trials == 3 and rec.condition == "stim" and rec.trials["stim"].tolist() == ["a", "b", "a"]
    assert rec.trial_counts()[:, 0].tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="trials table gives each trial's extent"):
        ann2neo.read(tmp_path / "t.nwb", t_stop=5 * pq.s)
    _nwb(tmp_path / "n.nwb", [([0.1, 0.2], None, "good")])
    with pytest.raises(ValueError, match=r"last spike is at 0.2 s\); pass --t-stop"):
        ann2neo.read(tmp_path / "n.nwb")
    assert ann2neo.read(tmp_path / "n.nwb", t_stop=2 * pq.s).duration[0] == 2.0


def test_w4_nan_bins_are_refused(tmp_path):
    m = np.zeros((4, 10))
    m[1, 3] = np.nan
    m[0, 2] = 1
    scipy.io.savemat(tmp_path / "m.mat", {"spk": m})
    with pytest.raises(ValueError, match="1 NaN or Inf bins; a missing bin is not silence"):
        ann2neo.read(tmp_path / "m.mat", bin_width=1 * pq.ms)


def test_w10_a_variable_named_twice_is_refused(tmp_path):
    scipy.io.savemat(tmp_path / "v.mat", {"spk": np.array([[0.5, 1.5]])})
    with pytest.raises(ValueError, match="'spk' more than once"):
        ann2neo.read(tmp_path / "v.mat", variables=["spk", "spk"], t_stop=2 * pq.s)


def test_u2_infinite_times_are_refused(tmp_path):
    scipy.io.savemat(tmp_path / "i.mat", {"spk": np.array([[0.5, np.inf]])})
    with pytest.raises(ValueError, match="infinite spike time"):
        ann2neo.read(tmp_path / "i.mat", variables="spk", t_stop=2 * pq.s)
    scipy.io.savemat(tmp_path / "ok.mat", {"spk": np.array([[0.5, 1.5]])})
    with pytest.raises(ValueError, match="t_stop must be finite"):
        ann2neo.read(tmp_path / "ok.mat", t_stop=np.inf * pq.s)


def test_u5_spike_counts_get_a_message_that_says_what_is_expected(tmp_path):
    scipy.io.savemat(tmp_path / "c.mat", {"counts": np.array([[3, 0, 5, 2, 7, 1]])})
    with pytest.raises(AmbiguousVariablesError, match=r"counts \(1, 6\) uint8 \(unsorted vector of whole numbers: "
                                                      r"spike counts\?\).*|ann2neo reads spike times"):
        ann2neo.read(tmp_path / "c.mat")
    scipy.io.savemat(tmp_path / "c2.mat", {"counts": np.array([[3, 0, 5], [2, 7, 1]])})
    with pytest.raises(AmbiguousVariablesError, match=r"spike counts, not spike times.*0/1 trial x bin matrix"
                                                      r"|ann2neo reads spike times.*counts \(2, 3\)"):
        ann2neo.read(tmp_path / "c2.mat")
    binned = ann2neo.read(tmp_path / "c2.mat", variables="counts", bin_width=10 * pq.ms)  # named: counts per bin
    assert binned.trial_counts()[:, 0].tolist() == [8, 10] and binned.null == "poisson"


def test_two_variables_are_units_or_trials_of_one_neuron(tmp_path):
    scipy.io.savemat(tmp_path / "lh.mat", {"SpikesLow": np.array([[0.1, 0.5]]), "SpikesHigh": np.array([[0.2]])})
    with pytest.raises(AmbiguousVariablesError, match="SpikesLow, SpikesHigh.*variables_as='trials'"):
        ann2neo.read(tmp_path / "lh.mat", t_stop=1 * pq.s)
    units = ann2neo.read(tmp_path / "lh.mat", variables=["SpikesLow", "SpikesHigh"], t_stop=1 * pq.s)
    assert units.units["name"].tolist() == ["SpikesLow", "SpikesHigh"]
    one = ann2neo.read(tmp_path / "lh.mat", variables=["SpikesLow", "SpikesHigh"], t_stop=1 * pq.s,
                       variables_as="trials")
    assert (one.n_units, one.n_trials, one.condition) == (1, 2, "variable")
    assert one.trials["variable"].tolist() == ["SpikesLow", "SpikesHigh"]


def test_time_vector_unit_must_be_clear(tmp_path):
    scipy.io.savemat(tmp_path / "a.mat", {"spk": np.eye(3, 4, dtype=np.uint8), "t": np.array([[0, 2.5, 5, 7.5]])})
    with pytest.raises(ValueError, match=r"cannot tell the unit of 't'.*pass --time-unit ms"):
        ann2neo.read(tmp_path / "a.mat", bin_width=1 * pq.ms)


def test_options_that_do_not_apply_and_the_deprecated_loader(tmp_path, rng):
    np.save(tmp_path / "m.npy", rng.random((20, 3)) < 0.5)
    with pytest.raises(TypeError, match="bin_width does not apply"):
        ann2neo.read(tmp_path / "m.npy", bin_width=1 * pq.ms)
    assert ann2neo.read(tmp_path / "m.npy").n_trials == 20
    scipy.io.savemat(tmp_path / "v.mat", {"spk": np.array([[0.5, 1.5]])})
    with pytest.warns(DeprecationWarning, match="use ann2neo.read"):
        block = ann2neo.load_recording(tmp_path / "v.mat", t_stop=2 * pq.s, units=pq.ms)
    st = block.segments[0].spiketrains[0]
    np.testing.assert_allclose(st.magnitude, [0.5, 1.5])  # units: of the numbers and of the trains
    assert st.t_stop == 2000 * pq.ms
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ann2neo.UnitError):
            ann2neo.read(tmp_path / "v.mat", t_stop=2 * ann2neo.sample)


def test_plain_neo_nix_in_seconds_and_ann_files(tmp_path, rng):
    import neo

    pytest.importorskip("nixio")
    block = neo.Block(name="b")
    for k in range(2):
        seg = neo.Segment(name=f"trial {k}", stim=k)
        seg.spiketrains.append(neo.SpikeTrain([1.0 + k, 2.0] * pq.s, t_stop=3 * pq.s, name="n1"))
        block.segments.append(seg)
    with neo.NixIO(str(tmp_path / "x.nix"), mode="ow") as io:
        io.write_block(block)
    rec = ann2neo.read(tmp_path / "x.nix")
    assert (rec.n_units, rec.n_trials) == (1, 2) and rec.trials["stim"].tolist() == [0, 1]
    np.testing.assert_array_equal(rec.spike_times(1, "n1"), [2.0, 2.0])
    with pytest.raises(FileNotFoundError, match="no such file"):
        ann2neo.read(tmp_path / "missing.mat")
    m = rng.random((40, 5)) < 0.3
    np.save(tmp_path / "layer.npy", m)
    layer = ann2neo.read(tmp_path / "layer.npy")
    assert layer.time_base == "sample" and np.array_equal(layer.spike_matrix(), m)
    assert ann2neo.io.file_format(tmp_path / "x.nix") == "nix"


def test_layer_recording_with_string_classes_and_extra_columns_round_trips(tmp_path, rng):
    m = rng.random((40, 6)) < 0.3
    rec = ann2neo.Recording.from_matrix(m, labels=np.array(["cat", "dog"])[rng.integers(0, 2, 40)],
                                        trials={"sample_index": np.arange(40)[::-1].copy(), "w": rng.random(40)},
                                        annotations={"split": "test"})
    rec.units["depth"] = np.arange(6) * 1.5
    for fmt in ("nwb", "nix"):
        ann2neo.write(tmp_path / f"s.{fmt}", {"test": rec})
        back = ann2neo.read(tmp_path / f"s.{fmt}")
        assert back.equals(rec) and back.condition == "label" and back.annotations["split"] == "test"
        assert list(back.trials.columns) == list(rec.trials.columns)
        assert list(back.units.columns) == list(rec.units.columns)
