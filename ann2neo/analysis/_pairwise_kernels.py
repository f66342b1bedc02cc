"""Private numba kernels: all-pairs STTC counts, and the exact Gram matrix of binary spikes by popcount.

STTC: two sorted spike trains are merged with two pointers, O(n_i + n_j) per
pair, instead of Elephant's dense ``np.isclose`` matrix, O(n_i * n_j) per pair.

Gram: binary spikes packed 64 samples to a word; the co-activation count of
two units is the number of set bits of the AND of their words, an integer
(exact by construction) at 64 samples per instruction.
"""
from __future__ import annotations

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

from ._kernels import _jit


@_jit(nogil=True, parallel=True)
def _near_counts(times, offsets, dt):  # pragma: no cover - compiled
    """near[i, j] = number of spikes of unit i within |t_i - t_j| <= dt of some spike of unit j.

    ``times`` holds every unit's sorted spike times back to back; unit u owns
    ``times[offsets[u]:offsets[u + 1]]``.
    """
    n = offsets.size - 1
    near = np.zeros((n, n), np.int64)
    for i in numba.prange(n):
        a0, a1 = offsets[i], offsets[i + 1]
        for j in range(n):
            b0, b1 = offsets[j], offsets[j + 1]
            if b1 == b0:
                continue
            p = b0
            count = 0
            for k in range(a0, a1):
                t = times[k]
                while p < b1 and t - times[p] > dt:
                    p += 1
                if p < b1 and abs(times[p] - t) <= dt:
                    count += 1
            near[i, j] = count
    return near


@intrinsic
def _popcount(typingctx, x):  # pragma: no cover - compiled
    """LLVM's ctpop: the number of set bits of a uint64 (one POPCNT instruction)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@_jit(nogil=True, parallel=True)
def _gram_bits(bits, block):  # pragma: no cover - compiled
    """g[i, j] = number of bits set in both rows i and j of a (n, n_words) uint64 matrix (exact int64).

    Rows are taken ``block`` at a time, so a block of rows stays in cache while
    every later row streams past it once; blocks are dealt to threads from
    both ends of the triangle so that each thread gets a similar share.
    """
    n, n_words = bits.shape
    g = np.zeros((n, n), np.int64)
    n_blocks = (n + block - 1) // block
    for k in numba.prange(n_blocks):
        b = k // 2 if k % 2 == 0 else n_blocks - 1 - k // 2
        i0 = b * block
        i1 = min(n, i0 + block)
        for j in range(i0, n):
            bj = bits[j]                                      # 1-D views: LLVM vectorizes
            for i in range(i0, min(i1, j + 1)):
                bi = bits[i]
                acc = np.uint64(0)
                for w in range(n_words):
                    acc += _popcount(bi[w] & bj[w])
                g[i, j] = acc
                g[j, i] = acc
    return g


@_jit(nogil=True, parallel=True)
def _pack_columns(spikes):  # pragma: no cover - compiled
    """Pack each column of a C-ordered (n_rows, n_units) 0/1 uint8 matrix into uint64 words: (n_units, n_words).

    Bit ``r % 64`` of word ``r // 64`` of unit u is ``spikes[r, u]``; rows past the end are 0.
    """
    n_rows, n_units = spikes.shape
    n_words = (n_rows + 63) // 64
    bits = np.zeros((n_units, n_words), np.uint64)
    for w in numba.prange(n_words):
        acc = np.zeros(n_units, np.uint64)
        for r in range(w * 64, min(n_rows, w * 64 + 64)):
            shift = np.uint64(r - w * 64)
            for u in range(n_units):
                acc[u] |= np.uint64(spikes[r, u]) << shift
        bits[:, w] = acc
    return bits


@_jit(nogil=True, parallel=True)
def _cch_bits(bits, pad, max_lag, n_words):  # pragma: no cover - compiled
    """All-pairs cross-correlograms of binary trains packed 64 samples to a word, by popcount.

    ``bits`` is (n_units, n_words + 2 * pad) with ``pad`` zero words on each
    side (pad > max_lag / 64).  counts[i, j, max_lag + k] = sum_t x_i[t] x_j[t + k]:
    for k = 64 q + s (0 <= s < 64) the word of x_j aligned with word w of x_i
    is ``(B_j[w + q] >> s) | (B_j[w + q + 1] << (64 - s))``.
    """
    n = bits.shape[0]
    n_lags = 2 * max_lag + 1
    out = np.zeros((n, n, n_lags), np.int64)
    for m in numba.prange(n):
        i = m // 2 if m % 2 == 0 else n - 1 - m // 2          # long and short rows of the triangle alternate
        bi = bits[i, pad:pad + n_words]                       # 1-D views: LLVM vectorizes (4x the 2-D indexing)
        for j in range(i, n):
            for k in range(-max_lag, max_lag + 1):
                q = k // 64
                s = k - 64 * q
                base = pad + q
                bj0 = bits[j, base:base + n_words]
                acc = np.uint64(0)
                if s == 0:
                    for w in range(n_words):
                        acc += _popcount(bi[w] & bj0[w])
                else:
                    bj1 = bits[j, base + 1:base + 1 + n_words]
                    right = np.uint64(s)
                    left = np.uint64(64 - s)
                    for w in range(n_words):
                        acc += _popcount(bi[w] & ((bj0[w] >> right) | (bj1[w] << left)))
                out[i, j, k + max_lag] = acc
                out[j, i, max_lag - k] = acc
    return out
