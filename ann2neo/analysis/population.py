"""Population statistics: total, signal and noise correlations, dimensionality, linear decoding.

All pairs at once, in bounded memory.  The covariance of spike counts is
computed from an **exact integer** Gram matrix.  Binary spikes (a layer) are
packed 64 samples to a 64-bit word and each pair's co-activations counted by
popcount (numba): integers, exact by construction.  Spike counts: the trials are cut into blocks
of rows small enough that every partial sum of products fits the 24-bit
mantissa of float32 (``rows x max_count**2 < 2**24``), each block's Gram matrix
is a single-precision BLAS product (``ssyrk``: one triangle, half the work of a
general product), and the blocks are summed in int64.  Every term of the sums
is a product of non-negative integers, so every partial sum BLAS forms — in any
order, with or without fused multiply-add — is an integer no larger than the
block's total and is represented exactly: the Gram matrix is exact, and so is
the scatter ``N * G - s s^T`` (int64).  Only the final division to correlations
rounds (float64).  Working memory is one float32 block (``block_rows x
n_units``) beside the ``n_units**2`` outputs: 4,096 units x 60,000 samples take
about 0.6 GB.

References
----------
Cohen & Kohn (2011), Nat Neurosci 14:811-819 (signal and noise correlations);
Gao, Trautmann, Yu et al. (2017), bioRxiv 214262, and Recanatesi et al. (2022),
Patterns 3:100555 (participation ratio); Ojala & Garriga (2010), JMLR 11:1833-1863
(label-permutation test of a classifier, as in
``sklearn.model_selection.permutation_test_score``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.recording import Recording
from ..core.validation import check_integer, check_option, check_random_state, check_real
from ._trials import responses

__all__ = ["Correlations", "correlations", "ParticipationRatio", "participation_ratio", "Decoding", "decode",
           "gram"]

_F32_EXACT = 2 ** 24
#: Below this many rows x units², ``gram(method="auto")`` uses BLAS rather than the popcount kernel.
_SMALL_GRAM = 2 ** 30


def _pack_bits(x):
    """Binary rows (n_rows, n_units) packed per unit into uint64 words (n_units, ceil(n_rows / 64)), bit r % 64."""
    n, u = x.shape
    n_words = -(-n // 64)
    packed = np.zeros((n_words * 8, u), np.uint8)
    step = 8 * 8192                                   # rows per chunk: bounded temporaries
    for r0 in range(0, n, step):
        chunk = np.ascontiguousarray(x[r0:r0 + step]).astype(np.uint8, copy=False)
        m = chunk.shape[0]
        full = m // 8 * 8
        by = packed[r0 // 8:(r0 + full) // 8]
        rows = chunk[:full].reshape(full // 8, 8, u)
        for k in range(8):
            by |= rows[:, k, :] << k
        for k in range(m - full):                     # the last incomplete byte
            packed[(r0 + full) // 8] |= chunk[full + k] << k
    return np.ascontiguousarray(packed.T).view(np.uint64)


def gram(x, *, block_rows=None, method="auto"):
    """Exact ``X^T X`` (int64) and column sums of a non-negative integer matrix.

    Parameters
    ----------
    x : ndarray (n_rows, n_units) of bool or non-negative integers
    block_rows : int, optional
        Rows per float32 product; default the largest that keeps every sum
        below 2**24 (at most 8,192, to bound memory).
    method : {"auto", "bits", "blas"}
        ``"bits"`` (binary data only; the default for it): the rows packed 64
        to a word and co-activations counted by popcount (numba), 7 times
        faster than the float32 product at 4,096 units.  ``"blas"``: the
        float32 (float64 for counts above 4,096) BLAS route in row blocks.
        ``"auto"`` takes ``"bits"`` for binary data of at least
        ``2**30`` rows x units², else ``"blas"`` (on a layer's small
        matrices one BLAS call is faster than starting numba's thread pool).

    Returns
    -------
    g : ndarray of int64 (n_units, n_units)
    s : ndarray of int64 (n_units,)

    Raises
    ------
    ValueError
        For ``method="bits"`` on non-binary data.

    Examples
    --------
    >>> g, s = gram(np.array([[1, 2], [0, 3]]))
    >>> g.tolist(), s.tolist()
    ([[1, 2], [2, 13]], [1, 5])
    """
    from scipy.linalg.blas import dsyrk, ssyrk

    method = check_option(method, "method", ("auto", "bits", "blas"))
    x = np.asarray(x)
    n_rows, n_units = x.shape
    top = int(x.max(initial=0))
    s = x.sum(axis=0, dtype=np.int64)
    g = np.zeros((n_units, n_units), dtype=np.int64)
    if top == 0 or n_rows == 0:
        return g, s
    if method == "bits" and top > 1:
        raise ValueError(f"method='bits' needs binary data, got counts up to {top}")
    small = n_rows * n_units * n_units < _SMALL_GRAM  # one BLAS call beats starting numba's thread pool
    if method == "bits" or (method == "auto" and top == 1 and not small):
        from ._pairwise_kernels import _gram_bits

        return _gram_bits(_pack_bits(x), 32), s
    exact_rows = (_F32_EXACT - 1) // (top * top)
    if exact_rows >= 1:
        syrk, dtype = ssyrk, np.float32
        rows = min(exact_rows, 8192) if block_rows is None else min(block_rows, exact_rows)
    else:  # counts above 4,096: float64 (exact below 2**53 per block)
        syrk, dtype = dsyrk, np.float64
        rows = max(1, min(8192, (2 ** 53 - 1) // (top * top))) if block_rows is None else block_rows
    for r0 in range(0, n_rows, rows):
        blk = np.asarray(x[r0:r0 + rows], dtype=dtype)       # (b, n) C-order == (n, b) Fortran-order
        upper = syrk(1.0, blk.T, trans=0, lower=0)            # blk^T blk, upper triangle
        g += np.triu(upper).astype(np.int64)
    g = np.triu(g) + np.triu(g, 1).T
    return g, s


def _scatter(x, index=None, n_conditions=0):
    """Scatter ``sum (x - mean)(x - mean)^T`` of the rows, or of the residuals from each condition's mean.

    Returns (scatter float64, N * scatter as exact int64 or None): the second
    is given for the total scatter of integer rows.
    """
    n = x.shape[0]
    if x.dtype == bool or x.dtype.kind in "iu":
        g, s = gram(x)
        if index is None:
            c = n * g - np.outer(s, s)                          # exact int64: N * scatter
            return c.astype(np.float64) / n, c
        scatter = g.astype(np.float64)
        for c in range(n_conditions):
            rows = index == c
            sc = x[rows].sum(axis=0, dtype=np.int64).astype(np.float64)
            if rows.any():
                scatter -= np.outer(sc, sc) / rows.sum()
        return scatter, None
    xf = x.astype(np.float64)
    if index is None:
        xc = xf - xf.mean(axis=0)
    else:
        xc = xf.copy()
        for c in range(n_conditions):
            xc[index == c] -= xf[index == c].mean(axis=0)
    return xc.T @ xc, None


@dataclass
class Correlations:
    """Pairwise correlation coefficients of all units, as a matrix and as a distribution.

    Attributes
    ----------
    matrix : ndarray of float64 (n_units, n_units)
        Pearson coefficients; 1 on the diagonal; NaN rows/columns for units
        without variance (see ``undefined``).
    kind : {"total", "signal", "noise"}
    units : list of str
    values : ndarray of float64 (n_pairs,)
        The upper triangle without NaN: the distribution over pairs.
    mean, sd : float
        Of ``values`` (sd with ddof=1).
    n_observations : int
        Trials (x bins) for total and noise; conditions (x bins) for signal.
    undefined : list of str
        Units with zero variance in this kind (e.g. silent in every trial):
        their correlations are undefined (NaN).
    notes : list of str
    """

    matrix: np.ndarray
    kind: str
    units: list
    values: np.ndarray
    mean: float
    sd: float
    n_observations: int
    undefined: list
    notes: list = field(default_factory=list)


def _observations(data, labels, condition, bin_width, what):
    """Response rows (n_obs, n_units), their condition index, conditions, unit names, and the Responses."""
    r = responses(data, labels, condition=condition, what=what)
    if bin_width is None:
        r.need_finite(what)
        return np.asarray(r.values), r.index, r
    if not isinstance(data, Recording):
        raise ValueError("bin_width needs a Recording; a (n_trials, n_units) matrix is one bin per trial")
    counts = data.counts(bin_width)                                       # (trials, units, bins)
    n_bins = counts.shape[2]
    x = counts.transpose(0, 2, 1).reshape(-1, r.n_units)                  # rows: (trial, bin)
    index = None if r.index is None else np.repeat(r.index * n_bins, n_bins) + np.tile(np.arange(n_bins),
                                                                                         r.n_trials)
    return x, index, r


def _corr_from_cov(cov):
    d = np.diag(cov).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), np.nan)
        out = cov * scale[:, None] * scale[None, :]
    out = np.clip(out, -1.0, 1.0)
    np.fill_diagonal(out, np.where(d > 0, 1.0, np.nan))
    return out, d > 0


def correlations(data, labels=None, *, kind="total", condition=None, bin_width=None) -> Correlations:
    """Total, signal or noise correlations of all pairs of units.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_trials, n_units)
        For a network layer: the (n_samples, n_nodes) spike matrix, or its
        Recording (trials = samples).
    labels : array_like (n_trials,), optional
        The condition of each trial (needed for signal and noise); default:
        the Recording's condition.
    kind : {"total", "signal", "noise"}, default "total"
        ``"total"``: correlation of the responses over trials.  ``"noise"``:
        of the residuals after removing each condition's mean (trial-to-trial
        co-variation at a fixed stimulus).  ``"signal"``: of the tuning
        curves, the mean response per condition (each condition weighted
        equally).
    condition : str, optional
        A column of the Recording's trials table to condition on.
    bin_width : float or quantity, optional
        For a Recording with time bins: correlate spike counts in bins of this
        width (rows = trial x bin) instead of whole-trial counts; noise then
        removes the condition's PSTH, signal correlates PSTHs.

    Returns
    -------
    Correlations

    Raises
    ------
    ValueError
        For an unknown kind, signal/noise without labels, or units not
        observed in every trial.

    See Also
    --------
    ann2neo.trial_surrogates : The controls (``method="within"`` destroys noise correlations).

    Notes
    -----
    The total correlation of a spike matrix equals
    ``elephant.spike_train_correlation.correlation_coefficient`` of its
    BinnedSpikeTrain at the same bins (one sample for a layer) to 1e-12: the
    covariance is computed exactly in integers (see the module notes).  A
    unit without variance has undefined correlations (NaN, listed in
    ``undefined``), where Elephant also gives NaN and warns.  Signal
    correlations from few conditions are coarse (with 2 conditions every
    signal correlation is +1 or -1) and biased away from 0 by the noise in
    the condition means when trials per condition are few.  On binary
    one-sample trials the total correlation is the phi coefficient of two
    units' spike/no-spike over the samples.

    Examples
    --------
    >>> x = np.array([[1, 1, 0], [0, 0, 0], [1, 1, 1], [0, 0, 1]])
    >>> correlations(x).matrix[0]
    array([1., 1., 0.])
    """
    kind = check_option(kind, "kind", ("total", "signal", "noise"))
    x, index, r = _observations(data, labels, condition, bin_width, f"{kind} correlations")
    notes = []
    if kind != "total":
        r.need_labels(f"{kind} correlations", min_conditions=2)
        n_groups = len(r.conditions) * (1 if bin_width is None else x.shape[0] // r.n_trials)
    if kind == "total":
        scatter, exact = _scatter(x)
        cov = exact if exact is not None else scatter
        n_obs = x.shape[0]
    elif kind == "noise":
        cov, _ = _scatter(x, index, n_groups)
        n_obs = x.shape[0]
    else:
        means = np.stack([x[index == g].mean(axis=0) if (index == g).any() else np.full(r.n_units, np.nan)
                          for g in range(n_groups)])
        means = means[np.isfinite(means).all(axis=1)]
        cov, _ = _scatter(means)
        n_obs = means.shape[0]
        if len(r.conditions) < 3:
            notes.append(f"signal correlations from {len(r.conditions)} conditions: each is +1, -1 or undefined")
    matrix, ok = _corr_from_cov(cov)
    undefined = [r.units[u] for u in np.flatnonzero(~ok)]
    if undefined:
        notes.append(f"{len(undefined)} units have no {kind} variance (e.g. silent, or the same response in "
                     "every trial): their correlations are undefined (NaN)")
    iu = np.triu_indices(r.n_units, 1)
    values = matrix[iu]
    values = values[np.isfinite(values)]
    mean = float(values.mean()) if values.size else np.nan
    sd = float(values.std(ddof=1)) if values.size > 1 else np.nan
    return Correlations(matrix, kind, r.units, values, mean, sd, int(n_obs), undefined, notes)


# -- dimensionality ------------------------------------------------------------------------------------------------
@dataclass
class ParticipationRatio:
    r"""Participation ratio of a covariance matrix, with its shuffle control.

    Attributes
    ----------
    value : float
        :math:`(\sum_i \lambda_i)^2 / \sum_i \lambda_i^2` over the eigenvalues of the covariance.
    kind : {"total", "signal", "noise"}
    shuffled : ndarray of float64 (n_shuffles,)
        The same statistic after permuting each unit's trials independently (see ``shuffle``).
    shuffle : {"all", "within"}
    independent : float
        The limit of the ``"all"`` shuffle with unlimited trials: the ratio of the
        diagonal of the covariance, :math:`(\sum \sigma_i^2)^2 / \sum \sigma_i^4`.
    n_components : int or None
        Principal components needed for ``variance`` of the variance (with ``components=True``).
    variance : float
    eigenvalues : ndarray or None
        Descending (with ``components=True``).
    n_units, n_observations : int
    notes : list of str
    """

    value: float
    kind: str
    shuffled: np.ndarray
    shuffle: str
    independent: float
    n_components: int | None
    variance: float
    eigenvalues: np.ndarray | None
    n_units: int
    n_observations: int
    notes: list = field(default_factory=list)


def _pr(cov):
    tr = float(np.trace(cov))
    fro = float((cov.astype(np.float64) ** 2).sum())
    return tr * tr / fro if fro > 0 else np.nan


def _cov(x, kind, index, n_groups):
    if kind == "total":
        return _scatter(x)[0]
    if kind == "noise":
        return _scatter(x, index, n_groups)[0]
    means = np.stack([x[index == g].mean(axis=0) for g in range(n_groups) if (index == g).any()])
    return _scatter(means)[0]


def participation_ratio(data, labels=None, *, kind="total", condition=None, n_shuffles=5, shuffle="all",
                        components=False, variance=0.9, seed=None) -> ParticipationRatio:
    r"""Dimensionality of the population response: the participation ratio of its covariance.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_trials, n_units)
    labels : array_like (n_trials,), optional
        The condition of each trial, as in :func:`correlations` (needed for
        kind signal/noise and ``shuffle="within"``).
    kind : {"total", "signal", "noise"}, default "total"
        Covariance of the responses, of the condition means, or of the residuals.
    condition : str, optional
        A column of the Recording's trials table, as in :func:`correlations`.
    n_shuffles : int, default 5
        Shuffle controls computed (0 for none).
    shuffle : {"all", "within"}, default "all"
        ``"all"``: each unit's trials permuted independently over all trials
        (independent units with the same rates: the ceiling set by the rates).
        ``"within"``: permuted within each condition (keeps the tuning, removes
        noise correlations).
    components : bool, default False
        Also compute the eigenvalues (O(n_units**3)) and the number of
        components reaching ``variance``.
    variance : float, default 0.9
    seed : None, int or numpy.random.Generator

    Returns
    -------
    ParticipationRatio

    Raises
    ------
    ValueError
        For unknown options, or labels missing where needed.

    Notes
    -----
    :math:`PR = (\mathrm{tr}\,C)^2 / \mathrm{tr}(C^2) = (\sum \lambda)^2 /
    \sum \lambda^2`, computed from the trace and the Frobenius norm without
    an eigendecomposition; 1 when one direction holds all the variance,
    ``n_units`` for equal independent variances.  The sample PR is biased
    downwards when trials are not many more than units (the sample
    eigenvalues spread out): compare conditions at equal numbers of trials
    and units, and against the shuffle.  On binary one-sample trials the
    covariance is that of the spike/no-spike patterns, and the
    ``independent`` value is fixed by the rates alone:
    :math:`(\sum p_i (1 - p_i))^2 / \sum p_i^2 (1 - p_i)^2`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.normal(size=(2000, 1))
    >>> x = rng.poisson(np.exp(latent @ np.ones((1, 20)) * 0.8))
    >>> pr = participation_ratio(x, n_shuffles=2, seed=0)
    >>> round(pr.value, 1), bool(pr.shuffled.min() > 19)
    (3.2, True)
    """
    kind = check_option(kind, "kind", ("total", "signal", "noise"))
    shuffle = check_option(shuffle, "shuffle", ("all", "within"))
    n_shuffles = check_integer(n_shuffles, "n_shuffles", min_value=0)
    variance = check_real(variance, "variance", min_value=0, max_value=1, include_min=False)
    rng = check_random_state(seed)
    r = responses(data, labels, condition=condition, what="participation_ratio")
    r.need_finite("the participation ratio")
    x = np.asarray(r.values)
    if x.dtype.kind in "iu" and x.max(initial=0) < 256:
        x = x.astype(np.uint8)
    n_groups = 0
    if kind != "total" or shuffle == "within":
        r.need_labels(f"the participation ratio ({kind}, shuffle={shuffle})", min_conditions=2)
        n_groups = len(r.conditions)
    cov = _cov(x, kind, r.index, n_groups)
    notes = []
    if r.n_trials < 10 * r.n_units:
        notes.append(f"{r.n_trials} trials for {r.n_units} units: the sample participation ratio is biased "
                     "downwards (below ~10 trials per unit); compare at equal sizes and against the shuffle")
    d = np.diag(cov)
    independent = float(d.sum() ** 2 / (d ** 2).sum()) if (d ** 2).sum() > 0 else np.nan
    shuffled = np.empty(n_shuffles)
    groups = [np.arange(r.n_trials)] if shuffle == "all" else [np.flatnonzero(r.index == c)
                                                               for c in range(len(r.conditions))]
    for s in range(n_shuffles):
        xs = np.empty_like(x)
        for rows in groups:  # each unit's (column's) trials permuted independently, in one call per group
            xs[rows] = rng.permuted(x[rows], axis=0)
        shuffled[s] = _pr(_cov(xs, kind, r.index, n_groups))
    eig, n_comp = None, None
    if components:
        eig = np.clip(np.linalg.eigvalsh(cov)[::-1], 0, None)
        frac = np.cumsum(eig) / eig.sum()
        n_comp = int(np.searchsorted(frac, variance - 1e-12) + 1)
    n_obs = r.n_trials if kind != "signal" else n_groups
    return ParticipationRatio(_pr(cov), kind, shuffled, shuffle, independent, n_comp, variance, eig, r.n_units,
                              n_obs, notes)


# -- decoding --------------------------------------------------------------------------------------------------------
@dataclass
class Decoding:
    """Cross-validated decoding accuracy of the condition from the population response.

    Attributes
    ----------
    accuracy : float
        Mean accuracy over the stratified folds.
    fold_accuracy : ndarray of float64 (n_splits,)
    chance : float
        Accuracy of always guessing the most frequent condition.
    shuffled : ndarray of float64 (n_shuffles,)
        Mean accuracy with the condition labels permuted (same folds, same decoder).
    p_value : float
        ``(1 + #(shuffled >= accuracy)) / (1 + n_shuffles)`` (NaN without shuffles).
    n_splits : int
    conditions : ndarray
    estimator : str
    """

    accuracy: float
    fold_accuracy: np.ndarray
    chance: float
    shuffled: np.ndarray
    p_value: float
    n_splits: int
    conditions: np.ndarray
    estimator: str


def decode(data, labels=None, *, condition=None, estimator=None, n_splits=5, n_shuffles=20, seed=0) -> Decoding:
    """Cross-validated linear decoding of the condition from the population, with chance and a label shuffle.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_trials, n_units)
    labels : array_like (n_trials,), optional
        The condition of each trial, as in :func:`correlations`; at least two
        conditions, each with at least ``n_splits`` trials.
    condition : str, optional
        A column of the Recording's trials table, as in :func:`correlations`.
    estimator : scikit-learn classifier, optional
        Default: ``RidgeClassifier(alpha=1.0)`` (linear, one closed-form
        solve per fold; silent, collinear and class-constant units are
        harmless, where LDA fails on a zero within-class covariance).
    n_splits : int, default 5
        Folds of ``sklearn.model_selection.StratifiedKFold(shuffle=True)``.
    n_shuffles : int, default 20
        Label permutations for the control and the p-value (0 for none).
    seed : int, default 0
        Seeds the folds and the permutations.

    Returns
    -------
    Decoding

    Raises
    ------
    ImportError
        Without scikit-learn (``pip install scikit-learn``).
    ValueError
        With fewer than two conditions or fewer than ``n_splits`` trials in one.

    Notes
    -----
    The label-shuffle p-value is the test of Ojala & Garriga (2010), as in
    ``sklearn.model_selection.permutation_test_score``.  On binary one-sample
    trials the decoder reads one sample's population spike pattern.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lab = np.repeat([0, 1, 2], 40)
    >>> x = rng.poisson(1 + 3 * (np.arange(6)[None, :] % 3 == lab[:, None]))
    >>> d = decode(x, lab, n_shuffles=5)
    >>> bool(d.accuracy > 0.8), round(d.chance, 3)
    (True, 0.333)
    """
    try:
        from sklearn.base import clone
        from sklearn.linear_model import RidgeClassifier
        from sklearn.model_selection import StratifiedKFold, cross_val_score
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("decode needs scikit-learn: pip install scikit-learn") from err
    n_splits = check_integer(n_splits, "n_splits", min_value=2)
    n_shuffles = check_integer(n_shuffles, "n_shuffles", min_value=0)
    seed = check_integer(seed, "seed", min_value=0)
    r = responses(data, labels, condition=condition, what="decode")
    r.need_labels("decoding", min_conditions=2)
    r.need_finite("decoding")
    counts = np.bincount(r.index, minlength=len(r.conditions))
    if counts.min() < n_splits:
        c = r.conditions[np.argmin(counts)]
        raise ValueError(f"condition {c!r} has {counts.min()} trials, fewer than n_splits={n_splits}: "
                         "lower n_splits or drop that condition")
    est = RidgeClassifier(alpha=1.0) if estimator is None else estimator
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    x = np.asarray(r.values, dtype=np.float64)
    folds = cross_val_score(clone(est), x, r.index, cv=cv, scoring="accuracy")
    rng = np.random.default_rng(seed)
    shuffled = np.array([cross_val_score(clone(est), x, rng.permutation(r.index), cv=cv,
                                         scoring="accuracy").mean() for _ in range(n_shuffles)])
    accuracy = float(folds.mean())
    p = float((1 + (shuffled >= accuracy).sum()) / (1 + n_shuffles)) if n_shuffles else np.nan
    return Decoding(accuracy, folds, float(counts.max() / counts.sum()), shuffled, p, n_splits, r.conditions,
                    repr(est))
