"""Chunked (Dask) per-node sums equal the in-memory kernel on any chunking."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from ann2neo.analysis._kernels import node_sums  # noqa: E402
from ann2neo.analysis.chunked import node_sums_chunked  # noqa: E402

KEYS = ("count", "isi_sum", "isi_sq_sum", "win_sum", "win_sq_sum")


@pytest.mark.parametrize("chunks", [(1050, 40), (37, 40), (100, 7), (1, 40), (333, 1), (101, 13), (999, 39)])
@pytest.mark.parametrize("window", [1, 7, 100, 1050])
def test_chunked_sums_equal_in_memory_sums(hetero_matrix, chunks, window):
    """Awkward chunkings: windows and ISIs that cross chunk edges, one-sample chunks, one-node chunks."""
    ref = node_sums(hetero_matrix, window)
    got = node_sums_chunked(da.from_array(hetero_matrix, chunks=chunks), window)
    assert got["n_windows"] == ref["n_windows"]
    for key in KEYS:  # sums of integers: exact
        np.testing.assert_array_equal(got[key], ref[key], err_msg=key)
    # LV sums add floating-point terms in another order: the README's bound, "equal within 1e-12"
    np.testing.assert_allclose(got["lv_sum"], ref["lv_sum"], rtol=1e-12, atol=0)


def test_chunked_sums_from_zarr_and_memmap(tmp_path, hetero_matrix):
    zarr = pytest.importorskip("zarr")
    z = zarr.open_array(str(tmp_path / "spikes.zarr"), mode="w", shape=hetero_matrix.shape, chunks=(64, 16),
                        dtype=bool)
    z[:] = hetero_matrix
    np.save(tmp_path / "spikes.npy", hetero_matrix)
    mm = np.load(tmp_path / "spikes.npy", mmap_mode="r")
    ref = node_sums(hetero_matrix, 100)
    for source in (z, mm):
        got = node_sums_chunked(source, 100, chunks=(128, 40))
        for key in KEYS:
            np.testing.assert_array_equal(got[key], ref[key])


def test_chunked_sums_refuse_bad_input():
    with pytest.raises(ValueError, match="binary"):
        node_sums_chunked(da.from_array(np.full((10, 2), 2, np.int8), chunks=5), 5)
    with pytest.raises(TypeError, match="dtype"):
        node_sums_chunked(da.zeros((10, 2), dtype=float, chunks=5), 5)
    with pytest.raises(ValueError, match="window"):
        node_sums_chunked(da.zeros((10, 2), dtype=bool, chunks=5), 11)
    with pytest.raises(ValueError, match="2-D"):
        node_sums_chunked(da.zeros(10, dtype=bool, chunks=5), 2)


def test_chunked_sums_on_a_distributed_client(hetero_matrix):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        got = node_sums_chunked(da.from_array(hetero_matrix, chunks=(211, 17)), 100, client=client)
    ref = node_sums(hetero_matrix, 100)
    for key in KEYS:
        np.testing.assert_array_equal(got[key], ref[key])


def test_analyze_a_chunked_recording_equals_the_in_memory_analysis(hetero_matrix, tmp_path):
    import ann2neo

    ref = ann2neo.analyze(hetero_matrix, window=100)
    lazy = da.from_array(hetero_matrix, chunks=(97, 11))
    got = ann2neo.analyze(lazy, window=100)
    assert list(got.nodes.columns) == list(ref.nodes.columns)
    for column in ref.nodes.columns:  # exact, except what is computed from the LV sums: within 1e-12 (README)
        if column in ("lv", "lv_dispersion"):
            np.testing.assert_allclose(got.nodes[column], ref.nodes[column], rtol=1e-12, atol=0, equal_nan=True)
        else:
            np.testing.assert_array_equal(got.nodes[column], ref.nodes[column], err_msg=column)
    assert got.summary.keys() == ref.summary.keys()
    for key, value in ref.summary.items():
        if isinstance(value, float):
            np.testing.assert_allclose(got.summary[key], value, rtol=1e-12, atol=0, equal_nan=True, err_msg=key)
        else:
            assert got.summary[key] == value, key
    assert got.summary["mfr"] == ref.summary["mfr"] and got.n_samples == 1050
    with pytest.raises(ValueError, match="diagnostics=True needs the spike matrix in memory"):
        ann2neo.analyze(lazy, diagnostics=True)
    # the streaming store of ann2neo.record, read lazily
    from ann2neo.io.store import _StoreWriter, read_store

    writer = _StoreWriter(tmp_path / "rec.zarr", ["h"], [(40,)], threshold=0.0, model_name="m",
                          n_samples=1050, chunk_samples=128)
    for start in range(0, 1050, 300):
        writer.write(start, [np.packbits(hetero_matrix[start:start + 300], axis=1)])
    writer.close(1050)
    stored = ann2neo.analyze(read_store(tmp_path / "rec.zarr", lazy=True)["h"], window=100)
    np.testing.assert_array_equal(stored.nodes["fano_factor"], ref.nodes["fano_factor"])


def test_dask_array_of_unknown_chunk_sizes_gets_a_clear_error(hetero_matrix):
    """U1: chunk sizes lost by boolean indexing gave "cannot convert float NaN to integer"."""
    import ann2neo

    a = da.from_array(hetero_matrix, chunks=(100, 40))
    unknown = a[a[:, 0] | True]
    with pytest.raises(ValueError, match=r"unknown size.*compute_chunk_sizes\(\)"):
        ann2neo.analyze(unknown, window=100)
    with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
        node_sums_chunked(unknown, 100)
    known = unknown.compute_chunk_sizes()  # what the message says to do works
    ref = node_sums(hetero_matrix, 100)
    np.testing.assert_array_equal(node_sums_chunked(known, 100)["count"], ref["count"])
