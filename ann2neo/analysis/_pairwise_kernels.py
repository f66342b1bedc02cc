"""Private numba kernel for all-pairs STTC: the fraction of one train's spikes near another's.

Two sorted spike trains are merged with two pointers, O(n_i + n_j) per pair,
instead of Elephant's dense ``np.isclose`` matrix, O(n_i * n_j) per pair.
"""
from __future__ import annotations

import numba
import numpy as np

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
