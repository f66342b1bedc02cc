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
    with pytest.raises(UnitError, match="samples"):
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
    with pytest.raises(ValueError, match="threshold must be a number, got NaN"):
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


@pytest.mark.parametrize("make, error, message", [
    (lambda: [neo.SpikeTrain([1, 2] * pq.ms, t_stop=10 * pq.ms)], UnitError, "not in samples"),
    (lambda: [neo.SpikeTrain([1.5] * sample, t_stop=10 * sample)], ValueError, "integer sample grid"),
    (lambda: [neo.SpikeTrain([1] * sample, t_stop=10 * sample), neo.SpikeTrain([1] * sample, t_stop=11 * sample)],
     ValueError, "different t_stop"),
    (lambda: [neo.SpikeTrain([2, 2] * sample, t_stop=10 * sample)], ValueError, "two spikes on the same sample"),
    (lambda: [], ValueError, "no spike trains"),
])
def test_from_spiketrains_refuses_what_is_not_a_spike_matrix(make, error, message):
    with pytest.raises(error, match=message):
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


# --- bad input: a clear error, never a silent wrong result (issue #7 D) -------------------------------

@pytest.mark.parametrize("bad, error, message", [
    (np.array([[1 + 2j, 0.5]]), TypeError, "complex"),
    (np.array([[1, 2]], dtype="timedelta64[ms]"), TypeError, "real numbers"),
    (np.array([["a", "b"]]), TypeError, "real numbers"),
])
def test_binarize_refuses_activations_that_are_not_real_numbers(bad, error, message):
    with pytest.raises(error, match=message):
        ann2neo.binarize(bad)


def test_thresholding_is_exact_whatever_the_dtype():
    """activation > threshold on the exact values: float16, float32 and float64 copies agree."""
    rng = np.random.default_rng(11)
    values = np.concatenate([np.float16([0.30005, 0.2998, 0.3]), rng.normal(0.3, 0.01, 2000).astype(np.float16)])
    a16 = values.reshape(-1, 1)
    for threshold in (0.3, 0.1, 1 / 3, -0.25, 0.0):
        exact = a16.astype(np.float64) > threshold  # float16 values are exact in float64
        for dtype in (np.float16, np.float32, np.float64):
            np.testing.assert_array_equal(ann2neo.binarize(a16.astype(dtype), threshold), exact)
    assert ann2neo.binarize(np.float16([[0.30005]]), 0.3)[0, 0]  # 0.30005 > 0.3, also in float16
    ints = np.arange(-5, 6, dtype=np.int8).reshape(-1, 1)
    for threshold in (-0.5, 0.0, 2.7, -300.0, 300.0):
        np.testing.assert_array_equal(ann2neo.binarize(ints, threshold), ints.astype(float) > threshold)
    np.testing.assert_array_equal(ann2neo.binarize(np.array([[True], [False]]), 0.5), [[True], [False]])


def test_threshold_for_dtype_is_the_largest_value_not_above_the_threshold():
    from ann2neo.core.binarize import threshold_for_dtype

    for dtype in (np.float16, np.float32):
        for threshold in (0.3, 1e-8, -0.7, 123.456):
            t = threshold_for_dtype(threshold, dtype)
            assert t.dtype == dtype and float(t) <= threshold
            assert float(np.nextafter(t, dtype(np.inf))) > threshold


def test_analyze_input_kinds_get_clear_errors_or_work():
    import pandas as pd

    m = np.random.default_rng(0).random((300, 4)) < 0.3
    with pytest.raises(TypeError, match="DataFrame.*to_numpy"):
        ann2neo.analyze(pd.DataFrame(m))
    with pytest.raises(ValueError, match="empty list"):
        ann2neo.analyze([])
    with pytest.raises(ValueError, match="holds no spike trains"):
        ann2neo.analyze(neo.Segment(name="test"))
    with pytest.raises(TypeError, match="mapping of 1 layers"):
        ann2neo.analyze({"hidden": m})
    one = ann2neo.to_spiketrains(m)[2]
    single = ann2neo.analyze(one)  # a single SpikeTrain is one node
    assert single.summary["n_nodes"] == 1
    assert single.nodes["firing_rate"].iloc[0] == pytest.approx(m[:, 2].mean(), rel=1e-15)


@pytest.mark.parametrize("window", [10 / sample, 10 * sample ** 2])
def test_window_in_the_wrong_power_of_samples_is_refused(window):
    m = np.ones((100, 2), bool)
    with pytest.raises(UnitError, match="duration in samples"):
        ann2neo.fano_factor(m, window=window)
    assert ann2neo.as_samples(10 * sample) == 10.0


def test_to_segment_leaves_the_callers_trains_untouched():
    trains = ann2neo.to_spiketrains(np.eye(5, 3, dtype=bool), layer="h")
    own = neo.Segment(name="mine")
    own.spiketrains.append(trains[0])
    trains[0].segment = own
    before = [dict(st.annotations) for st in trains]
    seg = ann2neo.to_segment(trains, name="test", split="test")
    assert [dict(st.annotations) for st in trains] == before
    assert trains[0].segment is own and trains[1].segment is None
    assert all(st.segment is seg and st.annotations["split"] == "test" for st in seg.spiketrains)
    np.testing.assert_array_equal(ann2neo.as_spike_matrix(seg), np.eye(5, 3, dtype=bool))


def test_spike_matrix_keeps_node_identity_or_stops_being_one():
    act = np.random.default_rng(2).normal(size=(40, 2, 3))
    m = ann2neo.binarize(act, layer="conv")
    assert type(m.T) is np.ndarray and type(m.transpose()) is np.ndarray  # no stale layer_shape
    assert type(m.reshape(-1)) is np.ndarray and type(m[:, 4]) is np.ndarray and type(m[3]) is np.ndarray
    sub = m[:, [4, 1]]
    assert isinstance(sub, ann2neo.SpikeMatrix) and sub.layer_shape == (2, 3) and sub.nodes.tolist() == [4, 1]
    trains = ann2neo.to_spiketrains(sub)
    assert [st.annotations["node"] for st in trains] == [4, 1]
    assert trains[0].annotations["node_position"] == (1, 1)
    np.testing.assert_array_equal(trains[0].magnitude, np.flatnonzero(act[:, 1, 1] > 0))
    back = ann2neo.from_spiketrains(trains)
    assert back.nodes.tolist() == [4, 1] and back.layer_shape == (2, 3) and back.layer == "conv"
    assert m[:, 2:5].nodes.tolist() == [2, 3, 4] and m[10:20].nodes.tolist() == list(range(6))
    assert m[5:8, ::2][:, [1]].nodes.tolist() == [2]
    import pickle

    assert pickle.loads(pickle.dumps(sub)).nodes.tolist() == [4, 1]


def test_import_works_where_numba_cannot_write_a_cache(tmp_path):
    """A read-only install with an unwritable HOME: numba has no cache locator; ann2neo must still import."""
    import subprocess
    import sys

    code = ("import numba.core.caching as c\n"
            "def deny(self):\n    raise OSError('read-only file system')\n"
            "c._CacheLocator.ensure_cache_path = deny\n"
            "import numpy as np, ann2neo\n"
            "m = np.zeros((200, 2), bool); m[::3, 0] = True; m[::7, 1] = True\n"
            "print(ann2neo.fano_factor(m, 100).round(6).tolist())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "HOME": str(tmp_path / "missing")})
    assert out.returncode == 0, out.stderr[-2000:]
    m = np.zeros((200, 2), bool); m[::3, 0] = True; m[::7, 1] = True
    assert out.stdout.strip() == str(ann2neo.fano_factor(m, 100).round(6).tolist())


# --- the validation module: one rule for which exception each case raises -------------------------------

def test_validation_checks_follow_one_rule():
    from ann2neo.core import validation as v

    assert v.check_integer(np.int64(8), "n") == 8 and v.check_integer(3.0, "n") == 3
    with pytest.raises(ValueError, match="whole number"):
        v.check_integer(2.9, "lags")
    for bad in ("8", True, None, 1j):
        with pytest.raises(TypeError, match="must be an integer"):
            v.check_integer(bad, "batch_size")
    with pytest.raises(ValueError, match=">= 1"):
        v.check_integer(0, "batch_size", min_value=1)
    for bad in (0, 1, -0.1, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            v.check_probability(bad)
    with pytest.raises(TypeError, match="alpha"):
        v.check_probability("0.05")
    with pytest.raises(ValueError, match="'a', 'b'"):
        v.check_option("c", "mode", ("a", "b"))
    g = np.random.default_rng(0)
    assert v.check_random_state(g) is g
    with pytest.raises(TypeError, match="seed"):
        v.check_random_state(1.5)
    with pytest.raises(ValueError, match="seed"):
        v.check_random_state(-1)
    state = np.random.get_state()[1].copy()
    v.check_random_state(5).random(3)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global state untouched
    with pytest.raises(TypeError, match="threshold"):
        ann2neo.binarize(np.zeros((2, 2)), threshold="0")
    with pytest.raises(ValueError, match="binary"):
        ann2neo.analyze(np.full((10, 2), 2))


def test_iter_spiketrains_and_float32_trains_equal_the_list():
    m = np.random.default_rng(4).random((3000, 2100)) < 0.2  # more nodes than one transposed block
    trains = ann2neo.to_spiketrains(m, layer="h")
    lazy = ann2neo.core.conversion.iter_spiketrains(m, layer="h")
    assert not isinstance(lazy, list)
    for a, b in zip(trains, lazy, strict=True):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
        assert a.annotations == b.annotations
    small = ann2neo.to_spiketrains(m, dtype=np.float32)
    assert small[5].dtype == np.float32
    np.testing.assert_array_equal(ann2neo.from_spiketrains(small), m)
    with pytest.raises(ValueError, match="2\\*\\*24"):
        ann2neo.to_spiketrains(np.zeros((2**24 + 1, 1), bool), dtype=np.float32)
    with pytest.raises(TypeError, match="float64 or float32"):
        ann2neo.to_spiketrains(m[:, :2], dtype=np.int64)


def test_a_segments_spiketrainlist_is_a_recording():
    m = np.random.default_rng(5).random((50, 3)) < 0.3
    seg = ann2neo.to_segment(m)
    np.testing.assert_array_equal(ann2neo.as_spike_matrix(seg.spiketrains), m)
    real = neo.Segment()
    real.spiketrains.append(neo.SpikeTrain([0.1, 0.5, 0.9] * pq.s, t_stop=1 * pq.s))
    assert ann2neo.firing_rate(real.spiketrains).tolist() == [3.0]  # Hz, a plain ndarray as for any input


def test_binarize_bfloat16_like_the_recorder():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = np.array([[0.2998, 0.30005, 0.3, 0.5, -1.0]], dtype=np.float32).astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(ann2neo.binarize(values, 0.3), values.astype(np.float64) > 0.3)


# --- hostile inputs (issue 15) ---

def test_masked_arrays_are_refused_unless_nothing_is_masked():
    """W6: numpy.ma's mask was dropped by np.asarray, so masked samples counted with their hidden values."""
    m = np.random.default_rng(3).random((400, 4)) < 0.3
    masked = np.ma.masked_array(m, mask=np.zeros_like(m))
    masked.mask[:100] = True
    with pytest.raises(TypeError, match=r"400 masked elements.*Fill them .*drop the masked samples"):
        ann2neo.analyze(masked)
    with pytest.raises(TypeError, match=r"activations: a masked array with 1 masked element;"):
        ann2neo.binarize(np.ma.masked_array([[1.0, -1.0]], mask=[[True, False]]))
    clear = np.ma.masked_array(m)  # nothing masked: the data as they are
    assert ann2neo.analyze(clear, window=20).summary["mfr"] == pytest.approx(m.mean(), rel=1e-12)
    np.testing.assert_array_equal(ann2neo.binarize(np.ma.masked_array([[1.0, -1.0]])), [[True, False]])


def test_integer_thresholds_are_compared_exactly():
    """W9: an int64 threshold above 2**53 was rounded to a float before the comparison."""
    big = 2**53 + 1
    assert not ann2neo.binarize(np.array([[big]]), np.int64(big))[0, 0]
    values = np.array([[big - 2, big - 1, big, big + 1, big + 2]], dtype=np.int64)
    for t in (big, np.int64(big), big + 1, np.uint64(big - 1)):
        expected = np.array([[int(v) > int(t) for v in values[0]]])  # Python ints: exact
        np.testing.assert_array_equal(ann2neo.binarize(values, t), expected)
    # a float64 activation and an int threshold between two floats: 2**53 + 3 lies between 2**53 + 2 and + 4
    floats = np.array([[2.0**53 + 2, 2.0**53 + 4]])
    np.testing.assert_array_equal(ann2neo.binarize(floats, 2**53 + 3), [[False, True]])
    u = np.array([[2**64 - 1, 2**64 - 2]], dtype=np.uint64)
    np.testing.assert_array_equal(ann2neo.binarize(u, np.uint64(2**64 - 2)), [[True, False]])


def test_xarray_dims_are_honoured_or_refused():
    """W11: a DataArray with dims ("node", "sample") was read as 4 samples of 500 nodes."""
    xr = pytest.importorskip("xarray")
    m = np.random.default_rng(5).random((500, 4)) < [0.1, 0.2, 0.5, 0.8]
    ref = ann2neo.analyze(m, window=50).nodes
    for dims, data in ((("node", "sample"), m.T), (("time", "unit"), m), (("neuron", "trial"), m.T),
                       (("Sample", "dim_1"), m), (("dim_0", "nodes"), m)):
        got = ann2neo.analyze(xr.DataArray(data, dims=dims), window=50).nodes
        np.testing.assert_array_equal(got["n_spikes"], ref["n_spikes"], err_msg=str(dims))
    for dims in (("dim_0", "dim_1"), ("time", "trial"), ("a", "b")):
        with pytest.raises(ValueError, match=r"cannot tell samples from nodes.*dims=\('sample', 'node'\)"):
            ann2neo.analyze(xr.DataArray(m, dims=dims))
    act = np.random.default_rng(6).normal(size=(3, 30, 2))  # (node-ish, sample, channel) activations
    spikes = ann2neo.binarize(xr.DataArray(act, dims=("x", "sample", "c")))
    assert spikes.layer_shape == (3, 2)
    np.testing.assert_array_equal(spikes, act.transpose(1, 0, 2).reshape(30, 6) > 0)


def test_ml_dtypes_are_real_numbers():
    """U3: a bfloat16 threshold was refused as "not a real number"; float8 activations likewise."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = np.array([[0.2998, 0.30005, 0.3, 0.5, -1.0, 0.25]])
    exact = values.astype(ml_dtypes.bfloat16).astype(np.float64) > float(ml_dtypes.bfloat16(0.3))
    np.testing.assert_array_equal(ann2neo.binarize(values.astype(ml_dtypes.bfloat16), ml_dtypes.bfloat16(0.3)),
                                  exact)
    for name in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz"):
        dtype = getattr(ml_dtypes, name)
        f8 = values.astype(dtype)
        for t in (0.3, -0.5, ml_dtypes.bfloat16(0.25), dtype(0.5)):
            np.testing.assert_array_equal(ann2neo.binarize(f8, t), f8.astype(np.float64) > float(t), err_msg=name)
    assert ann2neo.binarize(np.array([[3, -2]], dtype=ml_dtypes.int4), 0).tolist() == [[True, False]]
    spikes = np.array([[1, 0], [0, 1]], dtype=ml_dtypes.bfloat16)  # 0/1 in bfloat16 is a spike matrix
    assert ann2neo.analyze(spikes, window=1).summary["n_nodes"] == 2


# ----------------------------------------------------------------- order of the samples (runs test)
def _runs(seq):
    return 1 + sum(a != b for a, b in zip(seq[1:], seq[:-1], strict=True))


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 1, 2, 2, 3], ["a", "b", "b", "c", "c", "c", "a"], [1, 1, 2, 2]])
def test_runs_test_moments_equal_enumeration(labels):
    import itertools

    from ann2neo.core.order import runs_test

    runs = np.array([_runs(p) for p in set(itertools.permutations(labels))], dtype=float)  # uniform over orders
    r = runs_test(labels)
    assert r.expected == pytest.approx(runs.mean(), abs=1e-12)
    assert r.variance == pytest.approx(runs.var(), abs=1e-12)
    assert r.n_runs == _runs(list(labels))


def test_runs_test_equals_statsmodels_for_two_categories():
    from statsmodels.sandbox.stats.runs import runstest_1samp

    from ann2neo.core.order import runs_test

    x = np.random.default_rng(5).integers(0, 2, 300)
    z, p = runstest_1samp(x, cutoff=0.5, correction=False)
    r = runs_test(x)
    assert r.z == pytest.approx(z, abs=1e-12) and r.p_two_sided == pytest.approx(p, abs=1e-12)


def test_order_warning_on_sorted_and_blocked_labels_not_on_shuffled():
    from ann2neo.core.order import check_order

    labels = np.repeat(np.arange(10), 100)
    with pytest.warns(ann2neo.OrderWarning, match="Fano factor in windows.*Ljung-Box"):
        check_order(labels)
    blocked = np.tile(np.repeat(np.arange(10), 5), 20)  # runs of 5
    with pytest.warns(ann2neo.OrderWarning):
        check_order(blocked)
    one_hot = np.eye(10)[labels]
    with pytest.warns(ann2neo.OrderWarning):
        check_order(one_hot)
    with warnings_as_errors():
        assert check_order(np.random.default_rng(0).permutation(labels)).p_fewer > 1e-3
        assert check_order(None) is None
        check_order(np.zeros(50))  # one category: no order to test
    with pytest.raises(ValueError, match="one label per sample"):
        check_order(np.zeros((3, 2, 2)))


def warnings_as_errors():
    import warnings

    class _Ctx(warnings.catch_warnings):
        def __enter__(self):
            super().__enter__()
            warnings.simplefilter("error", ann2neo.OrderWarning)

    return _Ctx()


def test_analyze_checks_labels():
    m = np.random.default_rng(0).random((2000, 5)) < 0.3
    with pytest.warns(ann2neo.OrderWarning):
        ann2neo.analyze(m, labels=np.repeat(np.arange(4), 500))
    with pytest.raises(ValueError, match="labels has 10 entries"):
        ann2neo.analyze(m, labels=np.zeros(10))


# ----------------------------------------------------------------- per-unit thresholds
def test_unit_thresholds_rules_against_numpy():
    rng = np.random.default_rng(1)
    act = rng.normal(size=(400, 3, 2))
    flat = act.reshape(400, -1)
    np.testing.assert_array_equal(ann2neo.unit_thresholds(act, "median"), np.median(flat, axis=0))
    np.testing.assert_array_equal(ann2neo.unit_thresholds(act, ("quantile", 0.9)), np.quantile(flat, 0.9, axis=0))
    relu = np.maximum(flat, 0)
    relu[:, 0] = 0.0  # a silent unit: its maximum is 0, it never spikes
    t = ann2neo.unit_thresholds(relu, ("fraction_of_max", 0.5))
    assert t[0] == np.inf
    np.testing.assert_array_equal(t[1:], 0.5 * relu.max(axis=0)[1:])
    np.testing.assert_array_equal(ann2neo.unit_thresholds(act, 0.25), np.full(6, 0.25))
    m = ann2neo.binarize(act, ("quantile", 0.9))
    np.testing.assert_array_equal(m.mean(axis=0), np.full(6, 0.1))  # distinct values: exactly 40 of 400 above
    np.testing.assert_array_equal(m, flat > np.quantile(flat, 0.9, axis=0))


@pytest.mark.parametrize("rule, error", [("q0.9", TypeError), (("quantile", 1.5), ValueError),
                                         (("mean", 0.5), TypeError), ([0.1, 0.2], TypeError),
                                         (("quantile", 0.5, 1), TypeError)])
def test_bad_threshold_rules_are_refused(rule, error):
    with pytest.raises(error, match="quantile|threshold"):
        ann2neo.unit_thresholds(np.zeros((4, 2)), rule)


def test_per_unit_threshold_is_exact_in_every_dtype_and_follows_columns():
    from ann2neo.core.binarize import threshold_for_dtype

    t = np.array([0.3, -0.1, np.inf, 2.5])
    for dtype in (np.float16, np.float32, np.float64):
        t_d = threshold_for_dtype(t, dtype)
        for j in (0, 1, 3):  # elementwise equal to the scalar rule
            assert t_d[j] == threshold_for_dtype(float(t[j]), dtype)
        assert t_d[2] == np.inf
    np.testing.assert_array_equal(threshold_for_dtype(t, np.int8), [0, -1, 127, 2])
    np.testing.assert_array_equal(threshold_for_dtype(np.array([-1e9]), np.int8), [-np.inf])
    m = ann2neo.binarize(np.array([[0.3, 0.0, 5.0, 3.0], [0.31, -0.2, 1e30, 2.0]], np.float32), t)
    # float32(0.3) = 0.30000001 > 0.3: a spike; 1e30 > inf: never
    np.testing.assert_array_equal(m, [[True, True, False, True], [True, False, False, False]])
    sub = m[:, [3, 0]]
    np.testing.assert_array_equal(sub.threshold, [2.5, 0.3])
    np.testing.assert_array_equal(sub.nodes, [3, 0])
    import pickle

    back = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(back.threshold, t)
    with pytest.raises(ValueError, match="one value per node"):
        ann2neo.SpikeMatrix(np.zeros((2, 3), bool), threshold=[0.0, 1.0])


def test_per_unit_threshold_travels_through_neo_and_nwb(tmp_path):
    t = np.array([0.0, 0.5, np.inf])
    m = ann2neo.SpikeMatrix(np.random.default_rng(0).random((100, 3)) < 0.3, threshold=t, layer="h")
    trains = ann2neo.to_spiketrains(m)
    assert [st.annotations["threshold"] for st in trains] == [0.0, 0.5, np.inf]
    np.testing.assert_array_equal(ann2neo.from_spiketrains(trains).threshold, t)
    path = tmp_path / "t.nwb"
    ann2neo.write_nwb(path, m)
    (back,) = ann2neo.read_nwb_matrices(path).values()
    np.testing.assert_array_equal(back.threshold, t)
    np.testing.assert_array_equal(back, m)


def test_spike_matrices_pickled_before_threshold_rule_still_load():
    m = ann2neo.SpikeMatrix(np.eye(3, dtype=bool), layer="h", threshold=0.5)
    state = m.__reduce__()[2]
    old = np.ndarray.__new__(ann2neo.SpikeMatrix, (0,), bool)
    old.__setstate__(state[:-1])  # the 0.1 layout: no threshold_rule
    assert old.layer == "h" and old.threshold == 0.5 and old.threshold_rule is None
    np.testing.assert_array_equal(old, m)
