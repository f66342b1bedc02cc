"""Sample unit, binarization and Neo conversion."""
import neo
import numpy as np
import pytest
import quantities as pq
from neo.test.tools import assert_neo_object_is_compliant

import ann2neo
from ann2neo import UnitError, sample


def test_sample_unit_is_a_registered_time_unit():
    from quantities.registry import unit_registry

    assert unit_registry["sample"] is sample
    assert (3 * sample).dimensionality.string == "sample"
    st = neo.SpikeTrain([0, 4] * sample, t_stop=10 * sample)
    assert ann2neo.as_samples(st.t_stop) == 10.0


@pytest.mark.parametrize("bad", [100 * pq.ms, 1 * pq.s, 2 * pq.Hz])
def test_seconds_based_quantities_are_refused(bad):
    with pytest.raises(UnitError, match="samples"):
        ann2neo.as_samples(bad, "window")
    with pytest.raises(UnitError):
        ann2neo.fano_factor(np.ones((200, 2), bool), window=bad)


def test_binarize_threshold_and_shape():
    act = np.array([[[0.0, 0.5], [-1.0, 2.0]], [[0.1, 0.0], [3.0, -0.2]]])  # (2, 2, 2)
    spikes = ann2neo.binarize(act, threshold=0.0, layer="conv")
    assert spikes.dtype == bool and spikes.shape == (2, 4)
    np.testing.assert_array_equal(spikes, act.reshape(2, 4) > 0)
    assert spikes.layer_shape == (2, 2) and spikes.threshold == 0.0 and spikes.layer == "conv"
    assert type(spikes.sum(axis=0)) is np.ndarray  # arithmetic gives plain arrays
    np.testing.assert_array_equal(ann2neo.binarize(act, threshold=0.4), act.reshape(2, 4) > 0.4)


@pytest.mark.parametrize("bad, message", [
    (np.array([[0.0, np.nan]]), "non-finite"),
    (np.array([[np.inf, 1.0]]), "non-finite"),
    (np.zeros(5), "shape"),
    (np.zeros((0, 3)), "no samples"),
    (np.zeros((4, 0)), "empty"),
])
def test_binarize_rejects_bad_input_without_touching_it(bad, message):
    before = bad.copy()
    with pytest.raises(ValueError, match=message):
        ann2neo.binarize(bad)
    np.testing.assert_array_equal(bad, before)


def test_binarize_rejects_bad_threshold():
    with pytest.raises(ValueError):
        ann2neo.binarize(np.zeros((2, 2)), threshold=float("nan"))


def _matrices():
    rng = np.random.default_rng(7)
    yield rng.random((1, 5)) < 0.5                      # n_samples = 1
    yield rng.random((37, 1)) < 0.3                     # one node
    m = rng.random((200, 9)) < rng.uniform(0, 1, 9)
    m[:, 0] = False; m[:, 1] = True; m[-1, 2] = True    # silent, always, last sample
    yield m
    yield np.zeros((10, 3), bool)                       # all silent
    yield np.ones((10, 3), bool)


@pytest.mark.parametrize("matrix", list(_matrices()))
def test_round_trip_is_exact(matrix):
    trains = ann2neo.to_spiketrains(matrix, layer="hidden", model="m")
    assert len(trains) == matrix.shape[1]
    for j, st in enumerate(trains):
        assert st.units == sample.units and st.t_start == 0 * sample
        assert st.t_stop == matrix.shape[0] * sample
        np.testing.assert_array_equal(st.magnitude, np.flatnonzero(matrix[:, j]))
        assert st.annotations["node"] == j and st.annotations["layer"] == "hidden"
        assert st.annotations["model"] == "m"
    back = ann2neo.from_spiketrains(trains)
    np.testing.assert_array_equal(back, matrix)
    assert back.layer == "hidden"


def test_layer_shape_travels_through_spike_trains():
    spikes = ann2neo.binarize(np.random.default_rng(0).normal(size=(30, 2, 3, 4)))
    trains = ann2neo.to_spiketrains(spikes)
    assert trains[5].annotations["node_position"] == (0, 1, 1)
    assert ann2neo.from_spiketrains(trains).layer_shape == (2, 3, 4)


def test_segment_and_block_are_neo_compliant(rng):
    train = ann2neo.binarize(rng.normal(size=(60, 4)), layer="hidden")
    test = ann2neo.binarize(rng.normal(size=(20, 4)), layer="hidden")
    block = ann2neo.to_block([ann2neo.to_segment(train, name="train", split="train"),
                              ann2neo.to_segment(test, name="test", split="test")], name="exp", model="mlp")
    assert_neo_object_is_compliant(block)
    assert [s.name for s in block.segments] == ["train", "test"]
    assert len(block.groups) == 4 and all(len(g.spiketrains) == 2 for g in block.groups)
    assert block.segments[1].spiketrains[0].annotations["split"] == "test"
    np.testing.assert_array_equal(ann2neo.from_spiketrains(block.segments[1].spiketrains), test)


@pytest.mark.parametrize("make, error", [
    (lambda: [neo.SpikeTrain([1, 2] * pq.ms, t_stop=10 * pq.ms)], UnitError),
    (lambda: [neo.SpikeTrain([1.5] * sample, t_stop=10 * sample)], ValueError),
    (lambda: [neo.SpikeTrain([1] * sample, t_stop=10 * sample), neo.SpikeTrain([1] * sample, t_stop=11 * sample)],
     ValueError),
    (lambda: [neo.SpikeTrain([2, 2] * sample, t_stop=10 * sample)], ValueError),
    (lambda: [], ValueError),
])
def test_from_spiketrains_refuses_what_is_not_a_spike_matrix(make, error):
    with pytest.raises(error):
        ann2neo.from_spiketrains(make())


def test_nix_round_trip_keeps_the_sample_unit(tmp_path, rng):
    pytest.importorskip("nixio")
    from neo.io import NixIO

    spikes = ann2neo.binarize(rng.normal(size=(50, 3)), layer="hidden")
    block = ann2neo.to_block([ann2neo.to_segment(spikes, name="train")])
    path = str(tmp_path / "rec.nix")
    with NixIO(path, "ow") as io:
        io.write_block(block)
    with NixIO(path, "ro") as io:
        back = io.read_block()
    assert back.segments[0].spiketrains[0].units == sample.units
    np.testing.assert_array_equal(ann2neo.from_spiketrains(back.segments[0].spiketrains), spikes)
