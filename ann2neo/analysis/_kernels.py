"""Private numba kernel: one pass over a spike matrix for all per-node sums.

Kept beside the public API in :mod:`ann2neo.analysis.statistics`; Elephant's
functions stay the reference and ``tests/test_statistics.py`` proves equality.

The kernel is branch-free in its inner loop (selects instead of ``if``), so
LLVM vectorizes it across nodes; spikes at rate 0.4 would otherwise cost a
mispredicted branch on most samples.  All sums of integers (counts, ISIs,
squared ISIs, window counts) are accumulated in float64 and are therefore
exact while they stay below 2**53 — guaranteed for recordings of up to
2**26 samples (squared ISIs sum to at most n_samples**2).
"""
from __future__ import annotations

import logging

import numba
import numpy as np

log = logging.getLogger(__name__)

#: Row order of the array returned by :func:`_node_sums`.
SUMS = ("count", "isi_sum", "isi_sq_sum", "win_sum", "win_sq_sum", "lv_sum")


def _jit(**options):
    """``numba.njit(cache=True, **options)``, falling back to no on-disk cache where none can be written.

    numba raises at decoration time ("no locator available") when neither the
    package folder nor a user cache folder is writable: a read-only install
    with an unwritable HOME.  Importing ann2neo must not fail there; the
    kernel is then compiled once per process instead.
    """
    def decorate(func):
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError as err:
            if "cannot cache" not in str(err):
                raise
            log.debug("numba cannot cache %s (%s); compiling without an on-disk cache", func.__name__, err)
            return numba.njit(cache=False, **options)(func)
    return decorate


@_jit(nogil=True, parallel=True)
def _node_sums(spikes, window, n_windows, n_chunks):  # pragma: no cover - compiled
    """Per-node sums over a C-ordered (n_samples, n_nodes) uint8 0/1 matrix.

    Returns a float64 array of shape (6, n_nodes) with the rows named in SUMS:
    spike count, sum of ISIs, sum of squared ISIs, sum and sum of squares of
    the spike counts in the ``n_windows`` complete windows of ``window``
    samples, and the sum over consecutive ISI pairs of
    ((I_i - I_{i+1}) / (I_i + I_{i+1}))**2 (the LV numerator).
    """
    n_samples, n_nodes = spikes.shape
    out = np.zeros((6, n_nodes), np.float64)
    windowed_end = n_windows * window
    chunk = (n_nodes + n_chunks - 1) // n_chunks
    for c in numba.prange(n_chunks):
        j0 = c * chunk
        j1 = min(n_nodes, j0 + chunk)
        width = j1 - j0
        if width <= 0:
            continue
        last = np.full(width, -1.0)  # sample of the last spike, -1 before the first
        prev = np.zeros(width)  # last ISI, 0 before the second spike
        cnt = np.zeros(width)
        cnt_at_window_start = np.zeros(width)
        s1 = np.zeros(width)
        s2 = np.zeros(width)
        lv = np.zeros(width)
        w1 = np.zeros(width)
        w2 = np.zeros(width)
        for t in range(n_samples):
            tf = float(t)
            row = spikes[t, j0:j1]
            for k in range(width):
                s = row[k] != 0
                lk = last[k]
                isi = tf - lk
                has_isi = s and (lk >= 0.0)
                p = prev[k]
                d = (p - isi) / (p + isi)  # p + isi >= 1: never divides by zero
                cnt[k] += 1.0 if s else 0.0
                s1[k] += isi if has_isi else 0.0
                s2[k] += isi * isi if has_isi else 0.0
                lv[k] += d * d if (has_isi and p > 0.0) else 0.0
                prev[k] = isi if has_isi else p
                last[k] = tf if s else lk
            if (t + 1) % window == 0 and t < windowed_end:
                for k in range(width):
                    w = cnt[k] - cnt_at_window_start[k]
                    w1[k] += w
                    w2[k] += w * w
                    cnt_at_window_start[k] = cnt[k]
        out[0, j0:j1] = cnt
        out[1, j0:j1] = s1
        out[2, j0:j1] = s2
        out[3, j0:j1] = w1
        out[4, j0:j1] = w2
        out[5, j0:j1] = lv
    return out


def node_sums(spikes: np.ndarray, window: int) -> dict:
    """Run the kernel on a validated boolean matrix; returns named per-node sums.

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_samples, n_nodes)
    window : int
        Window length in samples, ``1 <= window <= n_samples``.

    Returns
    -------
    dict
        Keys of :data:`SUMS` (float64 arrays of shape (n_nodes,)) and
        ``n_windows`` (int).
    """
    data = np.ascontiguousarray(spikes).view(np.uint8)
    n_windows = spikes.shape[0] // window
    # Chunks of >= 64 nodes keep each thread on whole cache lines.
    n_chunks = max(1, min(spikes.shape[1] // 64, numba.get_num_threads()))
    sums = _node_sums(data, np.int64(window), np.int64(n_windows), np.int64(n_chunks))
    result = dict(zip(SUMS, sums, strict=True))
    result["n_windows"] = n_windows
    return result


# _block_state repeats _node_sums' inner loop with two more per-element states (first spike,
# first ISI) that stitching blocks needs.  One kernel serving both (with an offset and partial
# windows) gave identical sums but took 1.7-2x the time of _node_sums on the in-memory hot path
# (60,000 x 512: 0.036-0.049 s against 0.015-0.025 s), so the two stay separate.

#: Row order of the array returned by :func:`_block_state` (per node, one block of samples).
BLOCK_STATE = ("count", "first", "last", "first_isi", "last_isi", "isi_sum", "isi_sq_sum", "lv_sum")


@_jit(nogil=True, parallel=True)
def _block_state(spikes, offset, n_chunks):  # pragma: no cover - compiled
    """ISI state of every node over one block of rows of a (n_samples, n_nodes) uint8 0/1 matrix.

    ``offset`` is the global index of the block's first sample.  Returns a
    float64 array (8, n_nodes) with the rows named in BLOCK_STATE: spike count,
    global index of the first and last spike (-1 without spikes), the first and
    the last ISI inside the block (0 with fewer than 2 spikes), and the sums of
    ISIs, squared ISIs and LV terms inside the block.  Branch-free over nodes
    and parallel over node chunks, as :func:`_node_sums`, whose sums it equals
    on the same rows; blocks are stitched by :func:`merge_block_states`.
    """
    n_samples, n_nodes = spikes.shape
    out = np.zeros((8, n_nodes), np.float64)
    chunk = (n_nodes + n_chunks - 1) // n_chunks
    for c in numba.prange(n_chunks):
        j0 = c * chunk
        j1 = min(n_nodes, j0 + chunk)
        width = j1 - j0
        if width <= 0:
            continue
        first = np.full(width, -1.0)
        last = np.full(width, -1.0)
        first_isi = np.zeros(width)
        prev = np.zeros(width)
        cnt = np.zeros(width)
        s1 = np.zeros(width)
        s2 = np.zeros(width)
        lv = np.zeros(width)
        for t in range(n_samples):
            tf = float(t + offset)
            row = spikes[t, j0:j1]
            for k in range(width):
                s = row[k] != 0
                lk = last[k]
                isi = tf - lk
                has_isi = s and (lk >= 0.0)
                p = prev[k]
                d = (p - isi) / (p + isi)  # p + isi >= 1 wherever it is used
                cnt[k] += 1.0 if s else 0.0
                s1[k] += isi if has_isi else 0.0
                s2[k] += isi * isi if has_isi else 0.0
                lv[k] += d * d if (has_isi and p > 0.0) else 0.0
                first_isi[k] = isi if (has_isi and p == 0.0) else first_isi[k]
                prev[k] = isi if has_isi else p
                first[k] = tf if (s and lk < 0.0) else first[k]
                last[k] = tf if s else lk
        out[0, j0:j1] = cnt
        out[1, j0:j1] = first
        out[2, j0:j1] = last
        out[3, j0:j1] = first_isi
        out[4, j0:j1] = prev
        out[5, j0:j1] = s1
        out[6, j0:j1] = s2
        out[7, j0:j1] = lv
    return out


def block_state(spikes: np.ndarray, offset: int) -> np.ndarray:
    """Run :func:`_block_state` on a boolean block; see :data:`BLOCK_STATE`."""
    n_chunks = max(1, min(spikes.shape[1] // 64, numba.get_num_threads()))
    return _block_state(np.ascontiguousarray(spikes).view(np.uint8), np.int64(offset), np.int64(n_chunks))


def merge_block_states(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine the states of two adjacent blocks (``a`` before ``b``) into the state of both, exactly.

    The ISI that bridges the blocks (first spike of ``b`` minus last spike of
    ``a``) and the LV terms it forms with its neighbours are the only terms
    neither block saw.  The operation is associative, so blocks may be merged
    in any grouping.
    """
    a_has, b_has = a[0] > 0, b[0] > 0
    both = a_has & b_has
    bridge = np.where(both, b[1] - a[2], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.where(both & (a[4] > 0), ((a[4] - bridge) / (a[4] + bridge)) ** 2, 0.0)
        right = np.where(both & (b[3] > 0), ((bridge - b[3]) / (bridge + b[3])) ** 2, 0.0)
    out = np.empty_like(a)
    out[0] = a[0] + b[0]
    out[1] = np.where(a_has, a[1], b[1])
    out[2] = np.where(b_has, b[2], a[2])
    out[3] = np.where(a[0] >= 2, a[3], np.where(both, bridge, b[3]))
    out[4] = np.where(b[0] >= 2, b[4], np.where(both, bridge, a[4]))
    out[5] = a[5] + b[5] + bridge
    out[6] = a[6] + b[6] + bridge * bridge
    out[7] = a[7] + b[7] + left + right
    return out
