"""Pairwise timing of spikes for trials with time bins: cross-correlograms, STTC, synchrony.

Lags and windows are times in the recording's time base, checked against it:
``dt=5 * pq.ms`` on a network layer (time base :data:`ann2neo.sample`) raises
:class:`ann2neo.UnitError` — Elephant would silently take it as 5 s, since
quantities defines a sample as one second.  A plain number is in the
recording's time unit.

Network layers: a layer recorded on n samples is n trials of one bin, and lags
never cross trials, so these functions refuse it; pass
``rec.as_one_trial()`` (the samples in input order as one spike train, the
paper's view) or the spike matrix itself.  Under a shuffled input order the
correlogram at non-zero lags measures the order, not the network.

**All-pairs cross-correlograms** (:func:`cross_correlograms`) of binary
trains (a layer, or bins holding at most one spike) are counted exactly on
the trains packed 64 bins to a 64-bit word: the co-activations at lag
``64 q + s`` are the set bits of one train's words AND the other's words moved
by ``q`` words and ``s`` bits (numba, popcount), 64 bins per instruction.
Spike counts above 1 are computed in
the frequency domain with the sum over time taken *before* the inverse
transform: the trains are cut into segments of ``M`` bins, each unit's
segments and its segments extended by ``max_lag`` bins on both sides are
Fourier transformed once (length ``N = M + 2 max_lag``), and for every
frequency the cross-spectra of all pairs summed over segments are one complex
matrix product.  One inverse transform per pair then gives its ``2 max_lag +
1`` lags.  The cost is about ``4 n_units**2 T (1 + 2 max_lag / M)`` flops
against ``2 n_units**2 T (2 max_lag + 1)`` for one lagged product per lag.
The counts are integers and are rounded; the rounding is checked (a
deviation above 0.25 raises rather than returning a wrong count).

References
----------
Perkel, Gerstein & Moore (1967), Biophys J 7:419-440 (cross-correlogram);
Cutts & Eglen (2014), J Neurosci 34:14288-14303 (STTC); Grün, Abeles & Diesmann
(2008), and Elephant's ``statistics.Complexity`` (population complexity).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.recording import Recording
from ..core.validation import check_integer
from ._trials import bins_of

__all__ = ["CrossCorrelograms", "cross_correlograms", "Sttc", "sttc", "Synchrony", "synchrony"]


def _as_recording(data, what):
    if isinstance(data, Recording):
        return data
    if isinstance(data, (str, bytes, dict)) or not hasattr(data, "__array__") and not isinstance(data, (list, tuple)):
        raise TypeError(f"{what} takes an ann2neo.Recording or a (n_samples, n_units) spike matrix, "
                        f"got {type(data).__name__}")
    return Recording.from_matrix(data).as_one_trial()


def _trial_bins(rec, bin_width, what):
    """Counts (n_trials, n_units, n_bins) and the bin width (time unit) of a recording with time bins."""
    if bin_width is None:
        if not rec.is_binned:
            raise ValueError(f"{what} of spike times needs bin_width (a time, e.g. 1 * pq.ms)")
        width = rec.bin_width
    else:
        width = bins_of(bin_width, rec, "bin_width", whole=False)
        if not width > 0:
            raise ValueError(f"bin_width must be positive, got {bin_width}")
    counts = rec.counts(bin_width)
    if counts.shape[2] == 1 and counts.shape[0] > 1:
        raise ValueError(f"{what} needs trials with time bins, but each of these {counts.shape[0]} trials is one bin "
                         "(a network layer's samples): pass rec.as_one_trial() to treat the samples in input order "
                         "as time")
    return counts, width


def _lag_bins(value, rec, width, name):
    span = bins_of(value, rec, name, whole=False)
    n = span / width
    if abs(n - round(n)) > 1e-9:
        raise ValueError(f"{name} = {value} is not a whole number of bins of {width:g} {rec.unit_name}")
    return int(round(n))


@dataclass
class CrossCorrelograms:
    """Cross-correlograms of all pairs of units.

    Attributes
    ----------
    counts : ndarray of int64 (n_units, n_units, 2 * max_lag + 1)
        ``counts[i, j, max_lag + k]`` = number of pairs of a spike of unit i in
        bin t and of unit j in bin t + k (summed over trials; products of
        counts for bins holding several spikes) — Elephant's
        ``cross_correlation_histogram(binned_i, binned_j)``.
    lags : ndarray of int64 (2 * max_lag + 1,)
        In bins.
    lag_times : ndarray of float64
        ``lags * bin_width`` in ``time_unit``.
    bin_width : float
    time_unit : str
    units : list of str
    n_bins : int
        Bins per trial.
    """

    counts: np.ndarray
    lags: np.ndarray
    lag_times: np.ndarray
    bin_width: float
    time_unit: str
    units: list
    n_bins: int


def _threads():
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _one_blas_thread():
    """A context limiting BLAS to one thread (threadpoolctl, when installed), else a no-op.

    Many small batched products with a multi-threaded BLAS thrash on a busy
    machine (12 s instead of 0.5 s for 513 products of 128 x 65 x 128 on two
    loaded cores); one BLAS thread per Python worker thread does not.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _split(n, parts):
    edges = np.linspace(0, n, min(parts, n) + 1).astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _cch_fft(x, max_lag, block):
    """All-pairs lagged products sum_t x_i[t] x_j[t + k], k = -max_lag..max_lag, of rows of x (n, T)."""
    from concurrent.futures import ThreadPoolExecutor
    from itertools import repeat

    n, T = x.shape
    L = max_lag
    n_lags = 2 * L + 1
    N = 1 << int(np.ceil(np.log2(max(4 * n_lags, 64))))
    N = max(min(N, 1 << int(np.ceil(np.log2(T + 2 * L)))), 1 << int(np.ceil(np.log2(n_lags + 1))))
    M = N - 2 * L
    n_seg = -(-T // M)
    xp = np.zeros((n, n_seg * M + 2 * L), dtype=np.float64)
    xp[:, L:L + T] = x
    a = np.fft.rfft(xp[:, L:L + n_seg * M].reshape(n, n_seg, M), n=N, axis=2)        # (n, seg, K)
    e = np.lib.stride_tricks.sliding_window_view(xp, N, axis=1)[:, ::M][:, :n_seg]   # (n, seg, N)
    e = np.fft.rfft(e, axis=2)
    a = np.ascontiguousarray(np.conj(a).transpose(2, 0, 1))                          # (K, n, seg)
    e = np.ascontiguousarray(e.transpose(2, 1, 0))                                   # (K, seg, n)
    K = a.shape[0]
    out = np.empty((n, n, n_lags), dtype=np.int64)
    worst = [0.0]
    workers = _threads()

    def spectra(sl, s, i, j):
        np.matmul(a[sl, i], e[sl, :, j], out=s[sl])

    def lags(rows, s, blk):
        cc = np.fft.irfft(s[:, rows], n=N, axis=0)[:n_lags]                            # lags -L..L
        rounded = np.rint(cc)
        worst.append(float(np.abs(cc - rounded).max(initial=0)))
        blk[rows] = rounded.astype(np.int64).transpose(1, 2, 0)

    with _one_blas_thread(), ThreadPoolExecutor(workers) as pool:
        for i0 in range(0, n, block):
            for j0 in range(i0, n, block):
                i, j = slice(i0, min(i0 + block, n)), slice(j0, min(j0 + block, n))
                s = np.empty((K, i.stop - i.start, j.stop - j.start), dtype=np.complex128)
                list(pool.map(spectra, _split(K, workers), repeat(s), repeat(i), repeat(j)))
                blk = np.empty((s.shape[1], s.shape[2], n_lags), dtype=np.int64)
                list(pool.map(lags, _split(s.shape[1], workers), repeat(s), repeat(blk)))
                out[i, j] = blk
                if j0 != i0:
                    out[j, i] = blk.transpose(1, 0, 2)[:, :, ::-1]
    if max(worst) > 0.25:
        raise FloatingPointError(f"cross-correlogram counts deviate by {max(worst):.3g} from integers: the float64 "
                                 "transforms lost precision (counts too large); use fewer bins per block")
    return out


def _cch_binary(x, max_lag):
    """All-pairs lagged co-activation counts of binary rows x (n, T) by packed bits and popcount (exact)."""
    from ._pairwise_kernels import _cch_bits
    from .population import _pack_bits

    bits = _pack_bits(x.T)                                     # (n, n_words)
    pad = max_lag // 64 + 2
    padded = np.zeros((bits.shape[0], bits.shape[1] + 2 * pad), np.uint64)
    padded[:, pad:pad + bits.shape[1]] = bits
    return _cch_bits(padded, pad, max_lag, bits.shape[1])


def cross_correlograms(data, max_lag, *, bin_width=None, block=128) -> CrossCorrelograms:
    """All-pairs cross-correlograms at lags ``-max_lag`` to ``max_lag``, equal to Elephant's per pair.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_samples, n_units)
        Trials with time bins (or spike times with ``bin_width``); a spike
        matrix is one trial with the samples as time.
    max_lag : float or quantity
        Largest lag, a whole number of bins, in the recording's time base
        (``5 * pq.ms`` on sample-unit data raises UnitError).
    bin_width : float or quantity, optional
        Default: the recording's own bins.
    block : int, default 128
        For spike counts above 1 (the frequency-domain route): units per block
        of pairs (memory: about ``16 (N/2) block**2`` bytes per block, N the
        transform length, plus the output).

    Returns
    -------
    CrossCorrelograms
        The output holds ``n_units**2 (2 max_lag + 1)`` int64 counts (4,096
        units at +-50 lags: 13.6 GB; select units first).

    Raises
    ------
    ann2neo.UnitError
        For ``max_lag`` or ``bin_width`` in the wrong time base.
    ValueError
        For a lag that is not a whole number of bins, or one-bin trials.

    Notes
    -----
    ``counts[i, j]`` equals ``elephant.spike_train_correlation.cross_correlation_histogram(
    BinnedSpikeTrain(train_i), BinnedSpikeTrain(train_j), window=[-max_lag, max_lag])[0]``
    (counts; no border correction, no kernel) summed over trials; lags never
    cross from one trial into the next.  On binary data (a layer as one
    trial) ``counts[i, j, max_lag]`` is the number of samples in which both
    units spiked.

    Examples
    --------
    >>> m = np.zeros((10, 2), bool); m[[2, 5], 0] = True; m[[3, 6], 1] = True
    >>> c = cross_correlograms(m, 2)
    >>> c.lags.tolist(), c.counts[0, 1].tolist()
    ([-2, -1, 0, 1, 2], [1, 0, 0, 2, 0])
    """
    rec = _as_recording(data, "cross_correlograms")
    block = check_integer(block, "block", min_value=1)
    counts, width = _trial_bins(rec, bin_width, "cross_correlograms")
    L = _lag_bins(max_lag, rec, width, "max_lag")
    n_trials, n_units, n_bins = counts.shape
    if n_trials > 1 and L > 0:        # zeros between trials keep lags inside each trial
        x = np.concatenate([counts, np.zeros((n_trials, n_units, L), counts.dtype)], axis=2)
        x = x.transpose(1, 0, 2).reshape(n_units, -1)
    else:
        x = counts.transpose(1, 0, 2).reshape(n_units, -1)
    if x.dtype == bool or x.max(initial=0) <= 1:
        out = _cch_binary(x, L)
    else:
        out = _cch_fft(x, L, block)
    lags = np.arange(-L, L + 1)
    return CrossCorrelograms(out, lags, lags * width, width, rec.unit_name, rec.units["name"].tolist(), n_bins)


# -- STTC ---------------------------------------------------------------------------------------------------------
@dataclass
class Sttc:
    """Spike time tiling coefficients of all pairs.

    Attributes
    ----------
    matrix : ndarray of float64 (n_units, n_units)
        Mean over trials (NaN-ignoring) of ``per_trial``.
    per_trial : ndarray of float64 (n_trials, n_units, n_units)
        NaN where either train of the trial is empty.
    tiling : ndarray of float64 (n_trials, n_units)
        T: the fraction of the trial within ``dt`` of the unit's spikes.
    dt : float
        In ``time_unit``.
    time_unit : str
    units : list of str
    notes : list of str
    """

    matrix: np.ndarray
    per_trial: np.ndarray
    tiling: np.ndarray
    dt: float
    time_unit: str
    units: list
    notes: list = field(default_factory=list)


def _tiling(t, t_start, t_stop, dt):
    """Elephant's run_t: fraction of [t_start, t_stop] within dt of a spike of sorted times t."""
    if t.size == 0:
        return 0.0
    d = np.diff(t)
    covered = np.minimum(d, 2 * dt).sum()
    covered += min(t[0] - t_start, dt) + min(t_stop - t[-1], dt)
    return covered / (t_stop - t_start)


def sttc(data, dt) -> Sttc:
    r"""Spike time tiling coefficient of all pairs (Cutts & Eglen 2014), per trial and averaged.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_samples, n_units)
        Trials (spike times, or time bins: a spike at its bin's start) or a
        spike matrix as one trial.
    dt : float or quantity
        Synchrony window, > 0, in the recording's time base (``5 * pq.ms`` on
        sample-unit data raises UnitError: Elephant would take it as 5 s).

    Returns
    -------
    Sttc

    Raises
    ------
    ann2neo.UnitError
        For ``dt`` in the wrong time base.
    ValueError
        For ``dt <= 0``, or one-bin trials (use ``as_one_trial()``).

    Notes
    -----
    :math:`STTC = \frac12 \left(\frac{P_A - T_B}{1 - P_A T_B} + \frac{P_B -
    T_A}{1 - P_B T_A}\right)`, with :math:`T_A` the fraction of the trial
    within ``dt`` of A's spikes and :math:`P_A` the fraction of A's spikes
    within ``dt`` of a spike of B, with Elephant's values where a denominator
    vanishes.  Equal to ``elephant.spike_train_correlation.
    spike_time_tiling_coefficient`` per pair, except that a spike counts as
    near when :math:`|t_A - t_B| \le dt`: Elephant 1.2 uses ``np.isclose(...,
    atol=dt)``, which also accepts :math:`|t_A - t_B| \le dt + 10^{-5} |t_B|`
    (an extra 1 ms at t = 100 s).  Unit pairs with T near 1 (``dt`` wide for
    their rate: at 0.8 spikes per sample and dt = 5 samples T = 1) saturate
    towards 1 whatever their timing; they are listed in ``notes``.  O(n_A +
    n_B) per pair (Elephant: O(n_A n_B)).

    Examples
    --------
    >>> m = np.zeros((20, 2), bool); m[[2, 10], 0] = True; m[[3, 11], 1] = True
    >>> round(float(sttc(m, 1).matrix[0, 1]), 4)
    1.0
    """
    from ._pairwise_kernels import _near_counts

    rec = _as_recording(data, "sttc")
    if rec.is_binned and rec.n_bins == 1 and rec.n_trials > 1:
        raise ValueError("sttc needs trials with time, but each trial is one bin (a network layer's samples): "
                         "pass rec.as_one_trial() to treat the samples in input order as time")
    width = bins_of(dt, rec, "dt", whole=False)
    if not width > 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    n_trials, n_units = rec.n_trials, rec.n_units
    per_trial = np.full((n_trials, n_units, n_units), np.nan)
    tiling = np.zeros((n_trials, n_units))
    for k in range(n_trials):
        trains = [np.asarray(rec.spike_times(k, u), dtype=np.float64) for u in range(n_units)]
        n = np.array([t.size for t in trains])
        offsets = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
        times = np.concatenate(trains) if n.sum() else np.zeros(0)
        T = np.array([_tiling(t, rec.t_start[k], rec.t_stop[k], width) for t in trains])
        tiling[k] = T
        near = _near_counts(times, offsets, width)
        with np.errstate(invalid="ignore", divide="ignore"):
            P = near / n[:, None]                                    # P[i, j]: i's spikes near j
            PA, PB = P.T, P                                          # Elephant: A = j, B = i
            TA, TB = T[None, :], T[:, None]
            x1, x2 = PA * TB, PB * TA
            full = 0.5 * (PA - TB) / (1 - x1) + 0.5 * (PB - TA) / (1 - x2)
            half1 = 0.5 + 0.5 * (PB - TA) / (1 - x2)                 # PA * TB == 1
            half2 = 0.5 + 0.5 * (PA - TB) / (1 - x1)                 # PB * TA == 1
        value = np.where((x1 == 1) & (x2 == 1), 1.0, np.where(x1 == 1, half1, np.where(x2 == 1, half2, full)))
        empty = (n[:, None] == 0) | (n[None, :] == 0)
        per_trial[k] = np.where(empty, np.nan, value)
    notes = []
    saturated = (tiling > 0.9).any(axis=0)
    if saturated.any():
        names = rec.units["name"].to_numpy()[saturated]
        notes.append(f"{int(saturated.sum())} units tile more than 90% of a trial at dt={width:g} "
                     f"{rec.unit_name} (e.g. {list(names[:3])}): their STTC saturates towards 1 whatever the timing; "
                     "use a smaller dt")
    if np.isnan(per_trial).any():
        notes.append("pairs with an empty train in a trial have STTC undefined there (NaN)")
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            matrix = np.nanmean(per_trial, axis=0)
    return Sttc(matrix, per_trial, tiling, width, rec.unit_name, rec.units["name"].tolist(), notes)


# -- synchrony ------------------------------------------------------------------------------------------------------
@dataclass
class Synchrony:
    """Population complexity: how many units spike together in a bin, against independent units.

    Attributes
    ----------
    histogram : ndarray of int64 (n_units + 1,)
        Bins (over all trials) in which exactly k units spiked, k = 0..n_units.
    pdf : ndarray of float64 (n_units + 1,)
        ``histogram`` normalized: Elephant's ``Complexity(...).pdf()``.
    independent : ndarray of float64 (n_units + 1,)
        The complexity distribution if units spiked independently with their
        observed probabilities of being active in a bin (Poisson-binomial).
    mean, independent_mean : float
        Mean complexity, observed and under independence.
    bin_width : float
    time_unit : str
    """

    histogram: np.ndarray
    pdf: np.ndarray
    independent: np.ndarray
    mean: float
    independent_mean: float
    bin_width: float
    time_unit: str


def synchrony(data, bin_width=None) -> Synchrony:
    """The complexity distribution of the population (units active per bin) with its independence control.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_samples, n_units)
        Trials with time bins, or a spike matrix.  One-bin trials (a layer
        recorded on samples) are fine here: each sample is one bin.
    bin_width : float or quantity, optional
        In the recording's time base; default its own bins.

    Returns
    -------
    Synchrony

    Raises
    ------
    ann2neo.UnitError
        For ``bin_width`` in the wrong time base.

    Notes
    -----
    Equal to ``elephant.statistics.Complexity(trains, bin_size=bin_width,
    binary=True, spread=0)`` (its ``complexity_histogram`` and ``pdf()``),
    pooled over trials.  Excess probability in the upper tail over
    ``independent`` is synchrony beyond the units' rates.  On binary
    one-sample trials the complexity of a sample is the number of active
    units, so ``mean`` is the summed spike probability and restates the rates;
    only the shape against ``independent`` tells co-activation.

    Examples
    --------
    >>> m = np.array([[1, 1], [0, 0], [1, 1], [0, 0]], bool)
    >>> s = synchrony(m)
    >>> s.histogram.tolist(), s.independent.tolist()
    ([2, 0, 2], [0.25, 0.5, 0.25])
    """
    rec = data if isinstance(data, Recording) else _as_recording(data, "synchrony")
    if bin_width is None:
        if not rec.is_binned:
            raise ValueError("synchrony of spike times needs bin_width (a time, e.g. 5 * pq.ms)")
        width = rec.bin_width
    else:
        width = bins_of(bin_width, rec, "bin_width", whole=False)
    counts = rec.counts(bin_width)
    active = counts.transpose(0, 2, 1).reshape(-1, rec.n_units) > 0
    k = active.sum(axis=1)
    hist = np.bincount(k, minlength=rec.n_units + 1).astype(np.int64)
    total = hist.sum()
    pdf = hist / total if total else np.full(hist.shape, np.nan)
    p = active.mean(axis=0) if active.shape[0] else np.zeros(rec.n_units)
    indep = np.zeros(rec.n_units + 1)
    indep[0] = 1.0
    for q in p:                         # Poisson-binomial by convolution, one unit at a time
        indep[1:] = indep[1:] * (1 - q) + indep[:-1] * q
        indep[0] *= 1 - q
    ks = np.arange(rec.n_units + 1)
    return Synchrony(hist, pdf, indep, float((pdf * ks).sum()), float(p.sum()), width, rec.unit_name)
