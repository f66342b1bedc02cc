"""Property-based tests of the core invariants, on random shapes, dtypes and chunkings (hypothesis, issue 15).

Every property is checked against an independent reference: the matrix itself for round trips, the in-memory
kernel for chunked sums, and Python's exact int/float comparison for ``binarize``.  Examples are bounded
(``max_examples`` <= 60, fewer for the slow NWB and NIX writers) so the file runs in well under a minute.
"""
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import ann2neo  # noqa: E402

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def spike_matrices(draw, max_samples=60, max_nodes=12):
    """A bool matrix (n_samples, n_nodes) with a random layer shape, as a SpikeMatrix; densities from 0 to 1."""
    n_samples = draw(st.integers(1, max_samples))
    layer_shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    n_nodes = int(np.prod(layer_shape))
    if n_nodes > max_nodes:
        layer_shape = (draw(st.integers(1, max_nodes)),)
        n_nodes = layer_shape[0]
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    m = np.random.default_rng(seed).random((n_samples, n_nodes)) < density
    threshold = draw(st.sampled_from([None, 0.0, 0.25]))
    return ann2neo.SpikeMatrix(m, layer_shape=layer_shape, threshold=threshold, layer=draw(st.sampled_from(
        [None, "hidden", "conv/1"])))


@FAST
@given(m=spike_matrices(), dtype=st.sampled_from([np.float64, np.float32]))
def test_matrix_to_trains_to_matrix(m, dtype):
    trains = ann2neo.to_spiketrains(m, dtype=dtype)
    assert len(trains) == m.shape[1] and all(st_.dtype == dtype for st_ in trains)
    back = ann2neo.from_spiketrains(trains)
    np.testing.assert_array_equal(back, m)
    assert back.layer_shape == m.layer_shape and back.layer == m.layer and back.threshold == m.threshold
    # a subset of the nodes keeps its node identity
    cols = np.flatnonzero(np.arange(m.shape[1]) % 2 == 0)
    sub = ann2neo.from_spiketrains(ann2neo.to_spiketrains(m[:, cols]))
    np.testing.assert_array_equal(sub, m[:, cols])
    np.testing.assert_array_equal(sub.nodes, cols)


@SLOW
@given(m=spike_matrices(max_samples=30, max_nodes=6))
def test_matrix_to_nwb_to_matrix(m):
    pytest.importorskip("pynwb")
    from ann2neo.io.formats import read, read_block
    from ann2neo.io.nwb import read_nwb_matrices, write_nwb

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.nwb"
        write_nwb(path, {"seg": m})
        back = ann2neo.from_spiketrains(read_block(path).segments[0].spiketrains)
        np.testing.assert_array_equal(back, m)
        assert back.layer_shape == m.layer_shape
        np.testing.assert_array_equal(read_nwb_matrices(path)["seg"], m)
        np.testing.assert_array_equal(read(path).spike_matrix(), m)     # the Recording of the layer


@SLOW
@given(m=spike_matrices(max_samples=30, max_nodes=6))
def test_matrix_to_nix_to_matrix(m):
    pytest.importorskip("nixio")
    from ann2neo.io.formats import read, read_block
    from ann2neo.io.nix import write_nix

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.nix"
        write_nix(path, ann2neo.to_block([ann2neo.to_segment(m, name="seg")]))
        back = ann2neo.from_spiketrains(read_block(path).segments[0].spiketrains)
        np.testing.assert_array_equal(back, m)
        assert back.layer_shape == m.layer_shape
        np.testing.assert_array_equal(read(path).spike_matrix(), m)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=spike_matrices(max_samples=80, max_nodes=20), chunk=st.integers(1, 90), batches=st.integers(1, 5),
       known=st.booleans())
def test_matrix_to_zarr_store_to_matrix(m, chunk, batches, known):
    """Any chunk size and any batching; sample count known up front or not (arrays that grow)."""
    pytest.importorskip("zarr")
    pytest.importorskip("dask.array")
    from ann2neo.io.store import _StoreWriter, read_store

    n = m.shape[0]
    edges = np.linspace(0, n, batches + 1).astype(int)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.zarr"
        writer = _StoreWriter(path, ["layer"], [m.layer_shape], threshold=0.0, model_name="m",
                              n_samples=n if known else None, chunk_samples=chunk)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if b > a:
                writer.write(int(a), [np.packbits(np.asarray(m[a:b]), axis=1)])
        writer.close(n)
        back = read_store(path)["layer"]
        np.testing.assert_array_equal(back, m)
        assert back.layer_shape == m.layer_shape
        np.testing.assert_array_equal(read_store(path, lazy=True)["layer"].compute(), m)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=spike_matrices(max_samples=120, max_nodes=10), data=st.data())
def test_chunked_analysis_equals_in_memory(m, data):
    """node_statistics through a dask array of any chunking equals the numpy path within 1e-12."""
    da = pytest.importorskip("dask.array")
    n, k = m.shape
    row_chunk = data.draw(st.integers(1, n), label="row chunk")
    col_chunk = data.draw(st.integers(1, k), label="column chunk")
    window = data.draw(st.integers(1, n), label="window")
    ddof = data.draw(st.sampled_from([0, 1]), label="ddof")
    plain = np.asarray(m)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ann2neo.node_statistics(plain, window, ddof=ddof)
            got = ann2neo.node_statistics(da.from_array(plain, chunks=(row_chunk, col_chunk)), window, ddof=ddof)
    assert list(got.columns) == list(ref.columns)
    for col in ref.columns:
        if not pd.api.types.is_numeric_dtype(ref[col]):  # the note
            assert got[col].tolist() == ref[col].tolist(), col
        else:
            np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-12, atol=0,
                                       equal_nan=True, err_msg=col)


# --- binarize == the exact comparison ---------------------------------------------------------------------

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint64]
FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def _elements(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        near = [st.integers(max(info.min, c - 3), min(info.max, c + 3)) for c in (0, info.min, info.max, 2**53, 2**53)
                if info.min <= c <= info.max]  # 2**53 twice: where float64 stops holding every integer
        return st.one_of(st.integers(int(info.min), int(info.max)), *near)
    if dtype.kind == "f":
        return hnp.from_dtype(dtype, allow_nan=False, allow_infinity=False)
    return st.booleans()


@st.composite
def activations_and_threshold(draw):
    dtype = np.dtype(draw(st.sampled_from(INT_DTYPES + FLOAT_DTYPES + [np.bool_])))
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 5)))
    values = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    pick = draw(st.sampled_from(values.ravel().tolist()))  # thresholds at and around a value of the array
    exact = int(pick) if dtype.kind in "iub" else float(pick)
    form = draw(st.sampled_from(["same", "numpy", "float", "below", "above", "half", "any int", "any float"]))
    if form == "same":
        threshold = exact
    elif form == "numpy":  # a scalar of the array's own dtype (np.int64(2**53 + 1) ...)
        threshold = dtype.type(pick) if dtype.kind != "b" else np.int8(pick)
    elif form == "float":
        threshold = float(exact)
    elif form in ("below", "above"):
        threshold = float(np.nextafter(float(exact), -np.inf if form == "below" else np.inf))
    elif form == "half":
        threshold = exact + 0.5
    elif form == "any int":
        threshold = draw(st.integers(-(2**70), 2**70))
    else:
        threshold = draw(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
    return values, threshold


def _reference(values, threshold):
    """Python compares ints and floats exactly: the reference of ``activation > threshold``."""
    t = int(threshold) if isinstance(threshold, (int, np.integer)) else float(threshold)
    cast = int if values.dtype.kind in "iub" else float
    return np.array([[cast(x) > t for x in row] for row in values.tolist()], dtype=bool).reshape(values.shape)


@FAST
@given(case=activations_and_threshold())
@example(case=(np.array([[2**53 + 1]]), np.int64(2**53 + 1)))  # issue 15, W9: the threshold was rounded to 2**53
@example(case=(np.array([[2.0**53 + 2, 2.0**53 + 4]]), 2**53 + 3))  # an int threshold between two float64 values
def test_binarize_equals_the_exact_comparison_at_every_dtype(case):
    values, threshold = case
    np.testing.assert_array_equal(ann2neo.binarize(values, threshold), _reference(values, threshold))


@settings(max_examples=40, deadline=None)
@given(values=hnp.arrays(np.float32, (4, 3), elements=st.floats(-300, 300, width=32)),
       name=st.sampled_from(["bfloat16", "float8_e4m3fn", "float8_e5m2"]), data=st.data())
def test_binarize_equals_the_exact_comparison_for_ml_dtypes(values, name, data):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    cast = values.astype(getattr(ml_dtypes, name))
    finite = np.isfinite(cast.astype(np.float64))
    cast = np.where(finite, cast, np.zeros_like(cast))  # float8_e4m3fn has no inf: out-of-range values are NaN
    pick = float(data.draw(st.sampled_from(cast.astype(np.float64).ravel().tolist())))
    threshold = data.draw(st.sampled_from([pick, float(np.nextafter(pick, -np.inf)), float(np.nextafter(pick, np.inf)),
                                           pick + 0.01]))
    expected = cast.astype(np.float64) > threshold  # every value of these types is exact in float64
    np.testing.assert_array_equal(ann2neo.binarize(cast, threshold), expected)
