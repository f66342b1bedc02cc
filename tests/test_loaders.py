"""load_recording: real neurons from MATLAB, NWB and Neo files, checked against published values."""
import os
from pathlib import Path

import neo
import numpy as np
import pytest
import quantities as pq

from ann2neo.io.loaders import AmbiguousVariablesError, load_recording

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ANN2NEO_REAL_NEURONS", REPO.parent / "shared" / "data" / "real_neurons"))
needs_data = pytest.mark.skipif(not (DATA / "10_spikes-1.mat").exists(),
                                reason=f"real-neuron data not found at {DATA} (set ANN2NEO_REAL_NEURONS)")


def _rates_hz(segments):
    import elephant.statistics as es

    return [float(es.mean_firing_rate(seg.spiketrains[0]).rescale(pq.Hz)) for seg in segments]


@needs_data
def test_stn_trial_matrix_rates_by_direction():
    import scipy.io

    block = load_recording(DATA / "10_spikes-1.mat", bin_width=1 * pq.ms, t_start=-1 * pq.s)
    assert len(block.segments) == 50 and block.segments[0].annotations["trial"] == 0
    left = [s for s in block.segments if s.annotations["direction"] == 0]
    right = [s for s in block.segments if s.annotations["direction"] == 1]
    assert len(left) == len(right) == 25
    assert np.mean(_rates_hz(left)) == pytest.approx(58.66, abs=0.005)   # Kramer & Eden, ch. 10
    assert np.mean(_rates_hz(right)) == pytest.approx(35.26, abs=0.005)
    st = block.segments[3].spiketrains[0]
    raw = scipy.io.loadmat(DATA / "10_spikes-1.mat")
    np.testing.assert_allclose(st.rescale(pq.ms).magnitude, raw["t"].ravel()[np.flatnonzero(raw["train"][3])])
    assert st.sampling_rate == 1000 * pq.Hz and st.t_start == -1 * pq.s and st.t_stop == 1 * pq.s
    assert sum(len(s.spiketrains[0]) for s in block.segments) == 4696


@needs_data
def test_spike_lfp_rate():
    block = load_recording(DATA / "spikes-LFP-1.mat", bin_width=1 * pq.ms)
    assert len(block.segments) == 100
    assert np.mean(_rates_hz(block.segments)) == pytest.approx(88.76, abs=0.005)


@needs_data
def test_hippocampal_units_keep_every_spike():
    import scipy.io

    block = load_recording(DATA / "all_unit.mat", t_stop=1000 * pq.s)
    trains = block.segments[0].spiketrains
    assert len(trains) == 16 and sum(len(st) for st in trains) == 35112
    raw = scipy.io.loadmat(DATA / "all_unit.mat", squeeze_me=True)["unit_t"]
    for st, ref in zip(trains, raw, strict=True):
        np.testing.assert_array_equal(st.rescale(pq.s).magnitude, np.sort(ref))
    ms = load_recording(DATA / "all_unit.mat", t_stop=1000 * pq.s, units=pq.s)
    assert ms.segments[0].spiketrains[0].units == pq.s


@needs_data
def test_ambiguous_variables_list_what_was_found():
    with pytest.raises(AmbiguousVariablesError, match=r"pass variables=.*t \(177761, 1\).*X .*spiketimes \(220, 1\)"):
        load_recording(DATA / "spikes-1.mat")
    st = load_recording(DATA / "spikes-1.mat", variables="spiketimes").segments[0].spiketrains[0]
    assert len(st) == 220 and float(st.t_stop) == pytest.approx(170.062)
    with pytest.raises(ValueError, match="pass bin_width="):
        load_recording(DATA / "spikes-LFP-1.mat")
    with pytest.raises(KeyError, match="no variable 'nope'"):
        load_recording(DATA / "spikes-1.mat", variables="nope")


def test_mat_cells_and_units(tmp_path):
    import scipy.io

    cells = np.empty((1, 2), dtype=object)
    cells[0, 0] = np.array([[1.5], [2.5], [300.0]])
    cells[0, 1] = np.array([[10.0]])
    scipy.io.savemat(tmp_path / "c.mat", {"spk": cells, "note": np.array([[1.0]])})
    block = load_recording(tmp_path / "c.mat", units=pq.ms, t_stop=1 * pq.s)
    a, b = block.segments[0].spiketrains
    np.testing.assert_array_equal(a.magnitude, [1.5, 2.5, 300.0])
    assert a.units == pq.ms and a.t_stop == 1000 * pq.ms and b.annotations["index"] == 1
    with pytest.raises(ValueError, match="outside"):
        load_recording(tmp_path / "c.mat", units=pq.ms, t_stop=0.2 * pq.s)


def test_any_nwb_units_table(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    import datetime

    f = pynwb.NWBFile(session_description="s", identifier="i",
                      session_start_time=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    f.add_unit_column("quality", "sorting quality")
    f.add_unit(spike_times=[0.1, 0.25, 3.0], obs_intervals=[[0.0, 5.0]], quality="good")
    f.add_unit(spike_times=[1.0], obs_intervals=[[0.0, 5.0]], quality="mua")
    with pynwb.NWBHDF5IO(str(tmp_path / "f.nwb"), "w") as io:
        io.write(f)
    trains = load_recording(tmp_path / "f.nwb").segments[0].spiketrains
    np.testing.assert_array_equal(trains[0].magnitude, [0.1, 0.25, 3.0])
    assert trains[0].t_stop == 5 * pq.s and trains[1].annotations["quality"] == "mua"


def test_neo_readable_file(tmp_path):
    pytest.importorskip("nixio")
    block = neo.Block()
    seg = neo.Segment()
    seg.spiketrains.append(neo.SpikeTrain([1.0, 2.0] * pq.s, t_stop=3 * pq.s))
    block.segments.append(seg)
    with neo.NixIO(str(tmp_path / "x.nix"), mode="ow") as io:
        io.write_block(block)
    back = load_recording(tmp_path / "x.nix", units=pq.ms)
    np.testing.assert_array_equal(back.segments[0].spiketrains[0].magnitude, [1000.0, 2000.0])
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_recording(tmp_path / "missing.mat")


def test_argument_kinds_and_units(tmp_path):
    import scipy.io

    import ann2neo

    scipy.io.savemat(tmp_path / "v.mat", {"spk": np.array([[0.5, 1.5]])})
    with pytest.raises(TypeError, match="units must be a quantities time unit"):
        load_recording(tmp_path / "v.mat", units="s")
    with pytest.raises(ann2neo.UnitError, match="units must be a physical time"):
        load_recording(tmp_path / "v.mat", units=pq.Hz)
    with pytest.raises(ann2neo.UnitError, match="t_stop must be a physical time"):
        load_recording(tmp_path / "v.mat", t_stop=3 * pq.Hz)
    with pytest.raises(TypeError, match="t_stop must be a quantities time"):
        load_recording(tmp_path / "v.mat", t_stop=3)
    with pytest.raises(TypeError, match="variables must be a variable name"):
        load_recording(tmp_path / "v.mat", variables=3)
    st = load_recording(tmp_path / "v.mat", t_stop=2 * pq.s).segments[0].spiketrains[0]
    np.testing.assert_array_equal(st.magnitude, [0.5, 1.5])
