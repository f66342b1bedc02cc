"""Per-node sums of a spike matrix too large for memory, as a Dask computation.

The in-memory path (:func:`ann2neo.analysis._kernels.node_sums`) makes one
pass over the whole matrix.  Here the matrix is a chunked array (a
``dask.array``, a Zarr array, a ``np.load(..., mmap_mode="r")`` memmap) and
every chunk is reduced on its own, in parallel, to a small per-node state:

* the ISI state (:data:`~ann2neo.analysis._kernels.BLOCK_STATE`): spike
  count, first and last spike, first and last ISI inside the chunk, and the
  sums of ISIs, squared ISIs and LV terms inside it;
* the sums of window counts and of their squares over the Fano windows that
  lie wholly inside the chunk, and the partial counts of the (at most two)
  windows cut by the chunk's edges.

The chunk states are then merged in sample order: the ISI bridging two chunks
and the LV terms it forms with its neighbours are added
(:func:`~ann2neo.analysis._kernels.merge_block_states`), and the partial
windows are summed back into whole windows before they enter the Fano sums.
Every sum is of integers (exact in float64 below 2**53) except the LV sum,
whose terms are the same as the in-memory path's, added in another order
(equal to about 1e-15 relative).  So any chunking, aligned to the Fano
windows or not, gives the numbers of the in-memory path
(``tests/test_chunked.py``).

The chunks run on Dask's local threaded scheduler by default (the numba kernel
releases the GIL), or on a ``dask.distributed.Client`` passed as ``client``.
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_integer
from ._kernels import block_state, merge_block_states

__all__ = ["node_sums_chunked", "as_dask_array"]


def as_dask_array(spikes, chunks="auto"):
    """Wrap a chunked or memory-mapped spike matrix as a 2-D ``dask.array`` of bool, without reading it.

    Parameters
    ----------
    spikes : dask.array.Array, zarr.Array, numpy.memmap or ndarray, shape (n_samples, n_nodes)
        Boolean, or integer holding only 0 and 1 (checked chunk by chunk when
        the sums are computed).
    chunks : str or tuple, default "auto"
        Chunking for inputs that are not dask arrays yet (a Zarr array keeps
        its own chunks).

    Returns
    -------
    dask.array.Array

    Raises
    ------
    ValueError
        If the array is not 2-D, has no samples or nodes, or has chunks of
        unknown size (NaN, as after boolean indexing).
    TypeError
        If its dtype is not bool or integer.
    """
    import dask.array as da

    if not isinstance(spikes, da.Array):
        own = getattr(spikes, "chunks", None)
        spikes = da.from_array(spikes, chunks=own if own is not None and not isinstance(spikes, np.ndarray)
                               else chunks)
    if spikes.ndim != 2:
        raise ValueError(f"spikes must be a 2-D matrix (n_samples, n_nodes), got shape {spikes.shape}")
    if any(np.isnan(size) for size in spikes.shape):
        raise ValueError(f"spikes: a dask array with chunks of unknown size (shape {spikes.shape}, as after boolean "
                         f"indexing); every chunk's first sample must be known to join the chunks: call "
                         f"spikes.compute_chunk_sizes() first")
    if spikes.shape[0] == 0 or spikes.shape[1] == 0:
        raise ValueError(f"spikes hold no samples or no nodes (shape {spikes.shape})")
    if spikes.dtype.kind not in "biu":
        raise TypeError(f"spikes must be boolean (or 0/1 integers), got dtype {spikes.dtype}")
    return spikes


def _block_summary(block, offset, window, n_windows):
    """Reduce one block of rows (all of a chunk's nodes) to its ISI state and window sums."""
    block = np.asarray(block)
    if block.dtype != bool:
        if not ((block == 0) | (block == 1)).all():
            raise ValueError(f"spikes must be binary; the block starting at sample {offset} holds other values")
        block = block.astype(bool)
    state = block_state(block, offset)
    n, n_nodes = block.shape
    start, stop = offset, offset + n
    s1 = np.zeros(n_nodes)
    s2 = np.zeros(n_nodes)
    partial = {}
    lo = start
    if start % window:  # the block starts inside a window: its head is a partial window
        hi = min(stop, (start // window + 1) * window)
        partial[start // window] = block[:hi - start].sum(axis=0, dtype=np.int64)
        lo = hi
    n_full = (stop - lo) // window  # lo is now on a window boundary (or at stop)
    if n_full:
        counts = block[lo - start:lo - start + n_full * window].reshape(n_full, window, n_nodes)
        counts = counts.sum(axis=1, dtype=np.int64).astype(np.float64)
        s1 += counts.sum(axis=0)
        s2 += (counts ** 2).sum(axis=0)
        lo += n_full * window
    if lo < stop:  # the block ends inside a window: its tail is a partial window
        partial[lo // window] = partial.get(lo // window, 0) + block[lo - start:].sum(axis=0, dtype=np.int64)
    # Windows past the last complete one are dropped, as in the in-memory path.
    partial = {wid: c for wid, c in partial.items() if wid < n_windows}
    return state, s1, s2, partial


def node_sums_chunked(spikes, window, *, client=None, chunks="auto") -> dict:
    """Per-node sums of :func:`ann2neo.analysis._kernels.node_sums`, computed chunk by chunk with Dask.

    Parameters
    ----------
    spikes : dask.array.Array, zarr.Array, numpy.memmap or ndarray, shape (n_samples, n_nodes)
        Boolean spike matrix (rows: samples, columns: nodes), any chunking.
    window : int
        Fano-factor window in samples, ``1 <= window <= n_samples``.
    client : dask.distributed.Client, optional
        Run the chunks on this cluster; default Dask's local threaded scheduler.
    chunks : str or tuple, default "auto"
        Chunking for inputs that are not chunked already.

    Returns
    -------
    dict
        ``count``, ``isi_sum``, ``isi_sq_sum``, ``win_sum``, ``win_sq_sum``,
        ``lv_sum`` (float64 arrays of shape (n_nodes,)) and ``n_windows``
        (int), exactly as the in-memory kernel returns them.

    Raises
    ------
    ValueError
        For a window out of range or an array that is not 2-D and binary.
    TypeError
        For a dtype that is not bool or integer.

    Examples
    --------
    >>> import dask.array as da
    >>> m = da.from_array(np.eye(6, 2, dtype=bool), chunks=(4, 1))
    >>> node_sums_chunked(m, 3)["count"]
    array([1., 1.])
    """
    import dask

    array = as_dask_array(spikes, chunks)
    n_samples, n_nodes = array.shape
    window = check_integer(window, "window", min_value=1, max_value=n_samples)
    n_windows = n_samples // window
    row_offsets = np.concatenate([[0], np.cumsum(array.chunks[0])])
    col_offsets = np.concatenate([[0], np.cumsum(array.chunks[1])])
    blocks = array.to_delayed()
    summarize = dask.delayed(_block_summary, pure=True)
    tasks = [[summarize(blocks[i, j], int(row_offsets[i]), window, n_windows) for i in range(blocks.shape[0])]
             for j in range(blocks.shape[1])]
    flat = [t for column in tasks for t in column]
    results = client.gather(client.compute(flat)) if client is not None else dask.compute(*flat)
    out = {key: np.zeros(n_nodes) for key in ("count", "isi_sum", "isi_sq_sum", "win_sum", "win_sq_sum", "lv_sum")}
    k = 0
    for j in range(blocks.shape[1]):
        cols = slice(int(col_offsets[j]), int(col_offsets[j + 1]))
        state, partial = None, {}
        for _ in range(blocks.shape[0]):  # in sample order
            block, s1, s2, cut = results[k]
            k += 1
            state = block if state is None else merge_block_states(state, block)
            out["win_sum"][cols] += s1
            out["win_sq_sum"][cols] += s2
            for wid, counts in cut.items():
                partial[wid] = partial.get(wid, 0) + counts
        for counts in partial.values():  # now whole windows
            out["win_sum"][cols] += counts
            out["win_sq_sum"][cols] += counts.astype(np.float64) ** 2
        out["count"][cols] = state[0]
        out["isi_sum"][cols] = state[5]
        out["isi_sq_sum"][cols] = state[6]
        out["lv_sum"][cols] = state[7]
    out["n_windows"] = n_windows
    return out
