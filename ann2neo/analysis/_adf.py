r"""Augmented Dickey-Fuller test of many series at once, equal to statsmodels ``adfuller``.

statsmodels' ``adfuller(x, autolag="AIC")`` (regression ``"c"``) fits, for one
series of ``n`` values with first differences :math:`\Delta x_t`,

.. math:: \Delta x_t = c + \gamma\, x_{t-1} + \sum_{j=1}^{L} \delta_j\, \Delta x_{t-j} + e_t

for every lag order :math:`L = 0, \dots, L_{max}`, with
:math:`L_{max} = \min(\lfloor n/2 \rfloor - 2,\ \lceil 12 (n/100)^{1/4} \rceil)`,
all on the **same** :math:`m = n - 1 - L_{max}` rows (so that the AICs are
comparable), picks the order :math:`\hat L` of smallest
:math:`\mathrm{AIC} = m \log(2\pi) + m \log(\mathrm{SSR}/m) + m + 2 (L + 2)`
(ties: the smaller order), refits that order on all its
:math:`n - 1 - \hat L` available rows and reports the t-statistic of
:math:`\gamma` with MacKinnon's p-value (``mackinnonp``).  One call costs
:math:`L_{max} + 2` separate OLS fits, ~0.1 s for n = 600.

Here the same numbers come from two batched QR decompositions (numpy's
stacked ``linalg.qr``; Householder, backward stable):

* **lag choice.** The regressions of every order are nested (their designs are
  the first :math:`L + 2` columns of ``[1, x_{t-1}, Δx_{t-1}, …, Δx_{t-L_max}]``),
  so one QR of the augmented matrix ``[design | Δx_t]`` gives all of their
  residual sums of squares: with :math:`R` its triangular factor and
  :math:`r` the last column, :math:`\mathrm{SSR}_L = \sum_{i \ge L+2} r_i^2`.
* **refit.** The nodes are grouped by their chosen order; one QR of
  ``[1, Δx_{t-1}, …, Δx_{t-\hat L}, x_{t-1} | Δx_t]`` per group, with the level
  placed last, gives :math:`\hat\gamma = r_k / R_{kk}`,
  :math:`\mathrm{se}(\hat\gamma) = s/|R_{kk}|`, hence
  :math:`t = \mathrm{sign}(R_{kk})\, r_k / s` with
  :math:`s^2 = r_{k+1}^2/(n - 1 - \hat L - k)` (:math:`k = \hat L + 2` regressors).

This equals statsmodels' pseudo-inverse OLS wherever the designs are well
conditioned and the choice of order is clear.  A node is handed to
statsmodels' own ``adfuller`` (the reference) instead where that cannot be
guaranteed: a design with a column nearly in the span of the previous ones
(:data:`RANK_TOL`: near-constant series, a level or lag column constant on the
rows used; statsmodels then uses a rank-deficient pseudo-inverse fit), a
near-perfect fit (residual sum of squares below :data:`FIT_TOL` of the
centred one: deterministic trends), or two orders whose AICs are within
:data:`AIC_TIE` of each other.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

#: A design column whose distance from the span of the previous columns is
#: below this fraction of its norm (``|R_jj| / ||column_j||``) sends the node
#: to statsmodels: the two least-squares routes may differ by ~cond·eps there.
RANK_TOL = 1e-5
#: Residual sum of squares below this fraction of the centred total sum of
#: squares of Δx (a near-perfect fit) sends the node to statsmodels.
FIT_TOL = 1e-8
#: Two lag orders with AICs closer than this send the node to statsmodels
#: (rounding could flip the choice; measured AIC agreement is ~1e-10).
AIC_TIE = 1e-6

#: Bytes of design matrices held at once (nodes are processed in chunks).
_CHUNK_BYTES = 32 * 2**20


def adf_maxlag(n_obs: int) -> int:
    """Return statsmodels' default ADF ``maxlag`` for regression "c": ``min(n//2 - 2, ceil(12 (n/100)^(1/4)))``.

    Negative when the series is too short for the regression (n < 4).
    """
    return min(n_obs // 2 - 2, int(np.ceil(12.0 * np.power(n_obs / 100.0, 1 / 4.0))))


def _chunks(n_nodes, bytes_per_node):
    size = max(1, int(_CHUNK_BYTES // max(bytes_per_node, 1)))
    return [slice(a, min(a + size, n_nodes)) for a in range(0, n_nodes, size)]


def _well_posed(r, n_cols):
    """Nodes whose first ``n_cols`` design columns are well conditioned (stacked R of [design | y])."""
    diag = np.abs(np.diagonal(r, axis1=1, axis2=2)[:, :n_cols])
    norms = np.sqrt(np.sum(r[:, :, :n_cols] ** 2, axis=1))  # column norms of the design: ||R e_j||
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.all(diag > RANK_TOL * norms, axis=1) & np.all(norms > 0, axis=1)


def _centred_ss(y):
    """Centred sum of squares of each row of ``y``; inf where the row is (nearly) constant.

    A (nearly) constant Δx is fitted perfectly by the constant alone: the inf
    makes those nodes fail every ``ssr > FIT_TOL * sst`` check.
    """
    sst = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
    return np.where(sst > FIT_TOL * np.sum(y * y, axis=1), sst, np.inf)


def _choose_lags(x, dx, maxlag):
    """AIC lag order of every node on the common sample; and whether the choice is safe.

    Parameters
    ----------
    x : ndarray, shape (n, k)
    dx : ndarray, shape (n - 1, k)
    maxlag : int

    Returns
    -------
    lag : ndarray of int, shape (k,)
    ok : ndarray of bool, shape (k,)
        False where the design is ill conditioned, the fit near perfect, or two AICs nearly tie.
    """
    n, k = x.shape
    m = n - 1 - maxlag
    p = maxlag + 2  # design columns: constant, level, maxlag lagged differences
    lag = np.zeros(k, dtype=np.int64)
    ok = np.zeros(k, dtype=bool)
    for sl in _chunks(k, m * (p + 1) * 8):
        c = sl.stop - sl.start
        a = np.empty((c, m, p + 1))
        a[:, :, 0] = 1.0
        a[:, :, 1] = x[maxlag:n - 1, sl].T
        for j in range(1, maxlag + 1):
            a[:, :, 1 + j] = dx[maxlag - j:n - 1 - j, sl].T
        y = dx[maxlag:, sl].T
        a[:, :, p] = y
        r = np.linalg.qr(a, mode="r")
        resid = r[:, :, p] ** 2  # (c, p + 1)
        ssr = np.cumsum(resid[:, ::-1], axis=1)[:, ::-1]  # ssr[:, q] = sum_{i >= q} r_i^2
        n_cols = np.arange(2, p + 1)  # models with 2 .. p columns
        ssr_models = ssr[:, 2:p + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            aic = m * np.log(2 * np.pi) + m * np.log(ssr_models / m) + m + 2.0 * n_cols
        best = np.argmin(aic, axis=1)  # first minimum: the smaller order, as statsmodels' min over (aic, lag)
        aic_best = aic[np.arange(c), best]
        others = aic.copy()
        others[np.arange(c), best] = np.inf
        with np.errstate(invalid="ignore"):  # -inf - -inf where a fit is perfect: not ok anyway
            gap = np.min(others, axis=1) - aic_best if aic.shape[1] > 1 else np.full(c, np.inf)
        fit_ok = ssr_models[np.arange(c), best] > FIT_TOL * _centred_ss(y)
        lag[sl] = best
        ok[sl] = _well_posed(r, p) & fit_ok & np.isfinite(aic).all(axis=1) & (gap > AIC_TIE)
    return lag, ok


def _refit(x, dx, lags, nodes):
    """t-statistic of the level in the ADF regression of order ``lags[j]`` on its full sample, per node.

    Returns
    -------
    stat : ndarray of float, shape (len(nodes),)
    ok : ndarray of bool, shape (len(nodes),)
    """
    n = x.shape[0]
    stat = np.full(nodes.size, np.nan)
    ok = np.zeros(nodes.size, dtype=bool)
    for order in np.unique(lags[nodes]):
        sel = np.flatnonzero(lags[nodes] == order)
        m = n - 1 - order
        kk = order + 2  # regressors: constant, order lagged differences, level (last)
        for sl in _chunks(sel.size, m * (kk + 1) * 8):
            idx = nodes[sel[sl]]
            c = idx.size
            a = np.empty((c, m, kk + 1))
            a[:, :, 0] = 1.0
            for j in range(1, order + 1):
                a[:, :, j] = dx[order - j:n - 1 - j, idx].T
            a[:, :, kk - 1] = x[order:n - 1, idx].T
            y = dx[order:, idx].T
            a[:, :, kk] = y
            r = np.linalg.qr(a, mode="r")
            r_kk = r[:, kk - 1, kk - 1]
            s = np.abs(r[:, kk, kk]) / np.sqrt(m - kk)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.sign(r_kk) * r[:, kk - 1, kk] / s
            good = _well_posed(r, kk) & (r[:, kk, kk] ** 2 > FIT_TOL * _centred_ss(y)) & np.isfinite(t)
            stat[sel[sl]] = t
            ok[sel[sl]] = good
    return stat, ok


def _one_blas_thread():
    """Context limiting BLAS/LAPACK to one thread (threadpoolctl, if installed).

    The QRs are of small matrices (~600 x 22): threads only add contention
    (measured 2x slower with 2 OpenBLAS threads on 2 cores).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn, not a hard dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def adfuller_statsmodels(series):
    """Run statsmodels ``adfuller(autolag="AIC")`` on each column: (statistic, p-value, used lag, nobs) arrays."""
    from statsmodels.tsa.stattools import adfuller

    k = series.shape[1]
    out = np.full((4, k), np.nan)
    for j in range(k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = adfuller(series[:, j], autolag="AIC", regression="c")
        out[:, j] = res[0], res[1], res[2], res[3]
    return out[0], out[1], out[2].astype(np.int64), out[3].astype(np.int64)


def adfuller_batch(series):
    r"""ADF test (regression "c", AIC lag choice) of every column, as statsmodels ``adfuller``.

    Parameters
    ----------
    series : ndarray of float, shape (n_obs, n_series)
        Finite, non-constant columns; ``n_obs >= 4`` (:func:`adf_maxlag` >= 0).

    Returns
    -------
    dict of ndarray, shape (n_series,)
        ``statistic`` (t of the lagged level), ``pvalue`` (MacKinnon, via
        statsmodels ``mackinnonp``), ``usedlag`` (int), ``nobs`` (int, rows of
        the final regression) and ``batched`` (bool: True where the batched route
        was used, False where the node went to statsmodels ``adfuller``).

    Raises
    ------
    ValueError
        If ``n_obs < 4`` (too short for the regression) or a column is constant.
    """
    from statsmodels.tsa.adfvalues import mackinnonp

    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"series must be 2-D (n_obs, n_series), got shape {x.shape}")
    n, k = x.shape
    maxlag = adf_maxlag(n)
    if maxlag < 0:
        raise ValueError(f"series too short for the ADF regression: {n} values, at least 4 needed")
    if k and (x == x[:1]).all(axis=0).any():
        raise ValueError("series has a constant column: the ADF test is undefined")
    dx = np.diff(x, axis=0)
    with _one_blas_thread():
        lag, ok = _choose_lags(x, dx, maxlag)
        nodes = np.flatnonzero(ok)
        t, ok_refit = _refit(x, dx, lag, nodes)
    stat = np.full(k, np.nan)
    stat[nodes] = t
    ok[nodes[~ok_refit]] = False
    fallback = np.flatnonzero(~ok)
    pvalue = np.array([mackinnonp(float(v), regression="c", N=1) if np.isfinite(v) else np.nan for v in stat])
    usedlag = lag.copy()
    if fallback.size:
        s, p, used, _ = adfuller_statsmodels(x[:, fallback])
        stat[fallback], pvalue[fallback], usedlag[fallback] = s, p, used
    return {"statistic": stat, "pvalue": pvalue, "usedlag": usedlag, "nobs": n - 1 - usedlag, "batched": ok}
