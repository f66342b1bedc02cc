r"""Discrete-time null model of a binarized node: the Bernoulli process, exact at finite length.

A thresholded node emits at most one spike per sample.  If its spikes are
independent with probability :math:`\lambda` per sample (its firing rate in
spikes/sample), it is a Bernoulli process, not a Poisson process.  In the
long-recording limit:

* the count in a window of :math:`w` samples is :math:`\mathrm{Binomial}(w, \lambda)`,
  so its **Fano factor is** :math:`1 - \lambda` for every window length
  (:func:`bernoulli_fano_factor`);
* the inter-spike intervals are geometric on :math:`\{1, 2, \dots\}`, so the
  **CV of the ISIs is** :math:`\sqrt{1 - \lambda}` (:func:`bernoulli_cv_isi`);
* the **LV** is :math:`3\,\mathrm{E}[((I_1-I_2)/(I_1+I_2))^2]` for two
  independent geometric ISIs: 0.83 at :math:`\lambda = 0.1`, 0.07 at
  :math:`\lambda = 0.9` — far from the Poisson value 1 (:func:`expected_lv`).

The Poisson values (Fano factor 1, CV 1, LV 1) are only the :math:`\lambda \to 0`
limit.  That is why, in arXiv:2308.00858 Table 5, mean Fano factors equal
``1 - MFR`` almost exactly (Dense-64 MNIST: MFR 0.62/0.03/0.12/0.45, MF
0.38/0.97/0.87/0.55): the binary arithmetic, not network structure, puts them there.

Exact null at finite length (the conditional, or permutation, null)
-------------------------------------------------------------------
:math:`\lambda` is unknown and estimated from the same recording, and the
recordings are short (the default digits run has 13 train windows and 4 test
windows).  With :math:`N` windows the ddof=0 Fano factor of independent counts
has expectation :math:`(N-1)/N` times the true one, so ``F / (1 - λ̂)`` has a
mean of about 0.75 at :math:`N = 4`.  ann2neo therefore conditions on the
node's spike count :math:`K`, a sufficient statistic for :math:`\lambda`:
given :math:`K` spikes in :math:`n` samples, i.i.d. Bernoulli spiking puts
them on a **uniformly random K-subset** of the samples, whatever
:math:`\lambda` is.  Every expectation below is exact under that null, and
each ratio ``statistic / E[statistic | K, ...]`` has conditional mean exactly
1 for every K, hence mean 1 at every N and every λ.

**Fano factor** (:func:`expected_fano_factor`).  Only the :math:`N` complete
windows count: span :math:`n_w = N w`, spikes in it :math:`K_w`.  Each window
count is Hypergeometric(:math:`n_w`, :math:`K_w`, :math:`w`) with variance
:math:`w\frac{K_w}{n_w}(1-\frac{K_w}{n_w})\frac{n_w-w}{n_w-1}`, and the mean of
the :math:`N` counts is exactly :math:`K_w/N`, so

.. math:: \mathrm{E}[F_{ddof=0} \mid K_w] = \frac{\mathrm{Var}(c_i)}{K_w/N}
          = \Bigl(1 - \frac{K_w}{n_w}\Bigr)\frac{n_w - w}{n_w - 1}
          = (1-\hat\lambda)\,\frac{(N-1)\,w}{Nw-1},

and ddof=1 multiplies it by :math:`N/(N-1)`.  (With :math:`w = 1` it is
:math:`1-\hat\lambda` exactly; as :math:`N \to \infty` it tends to
:math:`1-\lambda`.)  It is 0 for one window or an always-on span, and
undefined for a silent span: the ratio is then NaN.

**LV** (:func:`expected_lv`).  The :math:`K+1` zero-runs of a uniform K-subset
(before the first spike, between spikes, after the last) form a uniformly
random weak composition of :math:`M = n - K` into :math:`K+1` parts
(:math:`\binom{M+K}{K}` of them, one per subset), exchangeable, and the
interior ISIs are runs + 1.  Every consecutive ISI pair
:math:`(I_1, I_2) = (g_1+1, g_2+1)` has the law of the first two runs.  Their
sum :math:`S = g_1 + g_2` has
:math:`P(S=s) = (s+1)\binom{M-s+K-2}{K-2}\big/\binom{M+K}{K}`, and given
:math:`S = s`, :math:`g_1` is uniform on :math:`0..s`, so
:math:`\mathrm{E}[(I_1-I_2)^2 \mid s] = 4\,\mathrm{Var}(g_1) = s(s+2)/3` and
:math:`\mathrm{E}[((I_1-I_2)/(I_1+I_2))^2 \mid s] = s/(3(s+2))`.  Hence

.. math:: \mathrm{E}[LV \mid K] = \mathrm{E}\Bigl[\frac{S}{S+2}\Bigr]
          = \sum_{s=0}^{M} P(S=s)\,\frac{s}{s+2} \qquad (K \ge 3),

summed exactly with log-gamma binomials, once per distinct K.

**CV** (:func:`expected_cv_isi_squared`).  Conditioning also on the span
:math:`L` = last − first spike time, the :math:`k = K-1` ISIs sum to
:math:`L` and the ISIs minus 1 are a uniform weak composition of
:math:`m = L - k` into :math:`k` parts (Bose–Einstein, a Dirichlet-multinomial
with all :math:`\alpha = 1`), whose marginal variance is
:math:`m(k-1)(m+k)/(k^2(k+1))`.  The ISI mean is exactly :math:`L/k`, so for
the population (ddof=0) CV

.. math:: \mathrm{E}[CV^2 \mid K, L] = \frac{m\,(k-1)\,(m+k)}{k^2(k+1)}\Big/\frac{L^2}{k^2}
          = \frac{(L-k)(k-1)}{(k+1)\,L} \qquad (k \ge 2),

and ddof=1 multiplies it by :math:`k/(k-1)`.  (Check: :math:`k=2, L=4` has the
three ISI pairs (1,3), (2,2), (3,1), CV² = 1/4, 0, 1/4, mean 1/6.)
:math:`\mathrm{E}[CV]` itself has no closed form and
:math:`CV/\sqrt{\mathrm{E}[CV^2]}` is biased low by Jensen's inequality
(strongly with few ISIs), so ``cv_dispersion`` is the ratio of **squared** CVs,
:math:`CV^2/\mathrm{E}[CV^2 \mid K, L]`, whose mean is exactly 1 — a variance
ratio, like the Fano factor.

All formulas are checked by simulation in ``tests/test_nullmodel.py``.

The Poisson null of spike times in physical time, exact at finite size
------------------------------------------------------------------------
(Moved here from the former ``analysis/physical.py``: the two nulls live in
one module, and the time-base adapter picks the one of its time base.)
Conditioned on its spike count, a homogeneous Poisson process places its
spikes independently and uniformly, which gives references that hold at any
recording length:

* **Fano factor** (:func:`poisson_expected_fano_factor`).  With :math:`N`
  complete windows of length :math:`w` (within trials; the incomplete last
  window of each trial dropped) holding :math:`K` spikes, the window counts
  are Multinomial(:math:`K`; :math:`1/N, \dots, 1/N`): each has mean
  :math:`K/N` and variance :math:`K(1/N)(1 - 1/N)`, and the window mean is
  exactly :math:`K/N`, so :math:`\mathrm{E}[F \mid K] = (N-1)/N` for the
  population (ddof=0) variance, and exactly 1 for ddof=1.
* **CV** (:func:`poisson_expected_cv_isi_squared`).  Given :math:`k_s`
  ISIs spanning :math:`L_s` (first to last spike) in trial :math:`s`, the
  inner spikes are uniform on the span, so the ISIs are :math:`L_s` times a
  flat Dirichlet vector with :math:`\mathrm{E}[I^2] = 2L_s^2/(k_s(k_s+1))`.
  For the :math:`k = \sum_s k_s` ISIs pooled within trials, their sum
  :math:`L = \sum_s L_s` is fixed, and
  :math:`CV^2 = k\sum I^2 / L^2 - 1`, so

  .. math:: \mathrm{E}[CV^2 \mid \{k_s, L_s\}] = \frac{k}{L^2}\sum_s \frac{2 L_s^2}{k_s + 1} - 1,

  which is :math:`(k-1)/(k+1)` for one trial (tending to the textbook 1) and
  ddof=1 multiplies it by :math:`k/(k-1)`.
* **LV** (:func:`poisson_expected_lv`).  For two consecutive ISIs of a flat
  Dirichlet vector, :math:`I_1/(I_1+I_2)` is uniform on (0, 1), so each LV term
  :math:`3((I_1 - I_2)/(I_1 + I_2))^2` has mean exactly 1: :math:`\mathrm{E}[LV] = 1`
  for any number of pairs, pooled within trials or not.

References: Eden U.T., Kramer M.A. (2010) J Neurosci Methods 190:149;
Shinomoto S. et al. (2003) Neural Comput 15:2823; Daley D.J., Vere-Jones D.
(2003) *An Introduction to the Theory of Point Processes*, section 2.1.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from ..core.validation import check_integer, check_option

__all__ = ["bernoulli_fano_factor", "bernoulli_cv_isi", "bernoulli_fano_factor_variance", "expected_fano_factor",
           "expected_cv_isi_squared", "expected_lv", "dispersion", "cv_dispersion", "lv_dispersion",
           "poisson_expected_fano_factor", "poisson_expected_cv_isi_squared", "poisson_expected_lv"]


def check_rates(rate, allow_nan=True):
    """Validate firing rates of binarized nodes: spikes/sample in [0, 1].

    Parameters
    ----------
    rate : float or array_like
    allow_nan : bool, default True
        Let NaN through (it propagates to NaN results); False rejects it.

    Returns
    -------
    ndarray of float64, same shape as ``rate``

    Raises
    ------
    ValueError
        For a rate outside [0, 1], an infinite rate, or NaN when not allowed.
    """
    rate = np.asarray(rate, dtype=np.float64)
    bad = (rate < 0) | (rate > 1) | np.isinf(rate)
    if not allow_nan:
        bad |= np.isnan(rate)
    if np.any(bad):
        raise ValueError("firing rates of a binarized node are probabilities per sample, in [0, 1]; got "
                         f"{rate[bad].ravel()[:3].tolist()}")
    return rate


def _check_counts(counts, name, upper=None, upper_name=None):
    """Whole, non-negative spike counts (float array; NaN passes through), at most ``upper``."""
    arr = np.asarray(counts, dtype=np.float64)
    finite = arr[~np.isnan(arr)]
    if np.any(finite < 0) or np.any(finite != np.round(finite)) or np.any(np.isinf(finite)):
        raise ValueError(f"{name} must be whole non-negative numbers, got {finite[:3].tolist()}")
    if upper is not None and np.any(finite > upper):
        raise ValueError(f"{name} cannot exceed {upper_name}, got {finite[finite > upper][:3].tolist()}")
    return arr


def _check_ddof(ddof):
    return check_option(ddof, "ddof", (0, 1))


def bernoulli_fano_factor(rate):
    """Long-recording Fano factor of window counts of a Bernoulli process: ``1 - rate``.

    Use :func:`expected_fano_factor` for the exact value at a finite number of windows.

    Parameters
    ----------
    rate : float or ndarray
        Firing rate λ in spikes/sample, in [0, 1].

    Returns
    -------
    float or ndarray
        ``1 - λ`` (dimensionless), for any window length.

    Raises
    ------
    ValueError
        If a rate lies outside [0, 1].

    Examples
    --------
    >>> float(bernoulli_fano_factor(0.25))
    0.75
    """
    return 1.0 - check_rates(rate)


def bernoulli_cv_isi(rate):
    """Long-recording CV of the (geometric) ISIs of a Bernoulli process: ``sqrt(1 - rate)``.

    Use :func:`expected_cv_isi_squared` for the exact value in a finite recording.

    Parameters
    ----------
    rate : float or ndarray
        Firing rate λ in spikes/sample, in [0, 1].

    Returns
    -------
    float or ndarray

    Raises
    ------
    ValueError
        If a rate lies outside [0, 1].

    Examples
    --------
    >>> float(bernoulli_cv_isi(0.75))
    0.5
    """
    return np.sqrt(1.0 - check_rates(rate))


def expected_fano_factor(n_spikes, n_windows, window, *, ddof=0):
    r"""Exact expected Fano factor of i.i.d. binary spiking given the spike count in the windows.

    .. math:: \mathrm{E}[F \mid K_w] = \Bigl(1 - \frac{K_w}{Nw}\Bigr)\frac{Nw - w}{Nw - 1}
              \cdot \Bigl(\frac{N}{N-1}\Bigr)^{\mathrm{ddof}}

    (derivation in the module docstring: window counts given :math:`K_w` are
    hypergeometric).

    Parameters
    ----------
    n_spikes : int or array_like of int, shape (n_nodes,)
        :math:`K_w`, spikes of each node in the N complete windows (not in the
        dropped incomplete tail), ``0 <= K_w <= N * window``.
    n_windows : int
        N, number of complete windows (>= 1).
    window : int
        w, window length in samples (>= 1).
    ddof : {0, 1}, default 0
        0: population variance, as Elephant's ``fanofactor``; 1: sample variance.

    Returns
    -------
    ndarray of float64, same shape as ``n_spikes``
        Dimensionless.  0 where the null has no variance (one window, or
        ``K_w = N w``); NaN where ``K_w = 0`` (F is 0/0), ``n_spikes`` is NaN or
        (ddof=1) ``N = 1``.

    Raises
    ------
    ValueError
        For counts that are negative, not whole or above ``N * window``; a
        non-positive ``n_windows`` or ``window``; ``ddof`` not 0 or 1.
    TypeError
        For a non-integer ``n_windows`` or ``window``.

    Examples
    --------
    >>> round(float(expected_fano_factor(40, 4, 100)), 6)  # λ̂ = 0.1: 0.9 * 300/399
    0.676692
    """
    n_win = check_integer(n_windows, "n_windows", min_value=1)
    w = check_integer(window, "window", min_value=1)
    _check_ddof(ddof)
    n_w = n_win * w
    k = _check_counts(n_spikes, "n_spikes", n_w, f"the {n_w} samples of the windows")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (1.0 - k / n_w) * (n_w - w) / (n_w - 1) if n_w > 1 else np.zeros_like(k)
        if ddof == 1:
            out = out * (n_win / (n_win - 1) if n_win > 1 else np.nan)
    return np.where(k == 0, np.nan, out)


def expected_cv_isi_squared(n_spikes, span, *, ddof=0):
    r"""Exact expected squared CV of the ISIs of i.i.d. binary spiking given spike count and span.

    .. math:: \mathrm{E}[CV^2 \mid K, L] = \frac{(L-k)(k-1)}{(k+1)L}
              \cdot \Bigl(\frac{k}{k-1}\Bigr)^{\mathrm{ddof}}, \quad k = K - 1

    (derivation in the module docstring: given K and L, the ISIs minus 1 are a
    uniform composition of L - k into k parts).

    Parameters
    ----------
    n_spikes : int or array_like of int
        K, the node's spike count.
    span : int or array_like of int
        L, samples from the first to the last spike (the sum of the ISIs),
        ``L >= K - 1``.
    ddof : {0, 1}, default 0
        0: population standard deviation (as ``elephant.statistics.cv``).

    Returns
    -------
    ndarray of float64
        NaN where K < 3 (fewer than 2 ISIs: the CV is undefined); 0 where
        ``L = K - 1`` (all ISIs are forced to 1).

    Raises
    ------
    ValueError
        For counts or spans that are negative or not whole, a span shorter
        than K - 1, or ``ddof`` not 0 or 1.

    Examples
    --------
    >>> round(float(expected_cv_isi_squared(3, 4)), 6)  # ISIs (1,3), (2,2), (3,1)
    0.166667
    """
    _check_ddof(ddof)
    k_spk = _check_counts(n_spikes, "n_spikes")
    span = _check_counts(span, "span")
    k = k_spk - 1.0
    if np.any((k_spk >= 1) & (span < k)):
        raise ValueError("span (last minus first spike time) cannot be shorter than n_spikes - 1 samples")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (span - k) * (k - 1.0) / ((k + 1.0) * span)
        if ddof == 1:
            out = out * k / (k - 1.0)
    return np.where(k_spk >= 3, out, np.nan)


def _expected_lv_one(k, n):
    """E[S/(S+2)] for one spike count k >= 3 in n samples (module docstring)."""
    m = n - k
    if m == 0:
        return 0.0
    # P(S = s) is unimodal (a product of log-concave sequences) with a tail that
    # falls by about (K-2)/(M+K) per step; sum far enough that the last term is
    # below 1e-20 of the largest (the neglected tail is then < 1e-20 * n of it),
    # else over the whole support.
    cap = min(m, int(2.0 * m / (k + 1.0) + 60.0 * (m + k) / (k - 2.0)) + 60)
    while True:
        s = np.arange(cap + 1, dtype=np.float64)
        a = m - s + k - 2.0  # log C(a, k - 2), the compositions of the other runs
        log_p = np.log1p(s) + gammaln(a + 1.0) - gammaln(a - (k - 2.0) + 1.0)
        if cap == m or log_p[-1] - log_p.max() < -46.0:
            break
        cap = m
    p = np.exp(log_p - log_p.max())  # the C(M+K, K) normalisation is the sum, taken here
    return float(np.dot(p, s / (s + 2.0)) / p.sum())


def expected_lv(n_spikes, n_samples):
    r"""Exact expected LV of i.i.d. binary spiking given the node's spike count.

    .. math:: \mathrm{E}[LV \mid K] = \sum_{s=0}^{M} \frac{(s+1)\binom{M-s+K-2}{K-2}}{\binom{M+K}{K}}
              \frac{s}{s+2}, \qquad M = n - K

    (derivation in the module docstring).  Its long-recording limit is the LV
    of geometric ISIs: 0.836 at λ = 0.1, 0.068 at λ = 0.9, → 1 as λ → 0.

    Parameters
    ----------
    n_spikes : int or array_like of int
        K, the node's spike count in the whole recording.
    n_samples : int
        n, length of the recording in samples.

    Returns
    -------
    ndarray of float64
        NaN where K < 3 (fewer than 2 ISIs: the LV is undefined); 0 where
        K = n (all ISIs 1).

    Raises
    ------
    ValueError
        For counts that are negative, not whole or above ``n_samples``.

    Notes
    -----
    Computed once per distinct K, over the support of S up to where its
    terms fall below 1e-20 of the largest: O(min(n, n/K)) log-gamma terms.

    Examples
    --------
    >>> round(float(expected_lv(3, 4)), 6)  # subsets of 4 samples: ISIs (1,1), (1,2), (2,1), (1,1)
    0.166667
    """
    n = check_integer(n_samples, "n_samples", min_value=1)
    k = _check_counts(n_spikes, "n_spikes", n, f"n_samples ({n})")
    out = np.full(k.shape, np.nan)
    flat = k.reshape(-1)
    flat_out = out.reshape(-1)
    defined = ~np.isnan(flat) & (flat >= 3)
    values, inverse = np.unique(flat[defined], return_inverse=True)
    flat_out[defined] = np.array([_expected_lv_one(int(v), n) for v in values])[inverse]
    return out


def _ratio(value, expected):
    value = np.asarray(value, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, value / np.where(expected > 0, expected, 1.0), np.nan)


def dispersion(fano_factor, n_spikes, n_windows, window, *, ddof=0):
    """Fano factor relative to the exact Bernoulli null, ``F / E[F | K_w]``.

    Mean exactly 1 for independent spiking at any number of windows (module
    docstring); above 1 for bursty/clustered spiking, below 1 for regular.

    Parameters
    ----------
    fano_factor : float or array_like, shape (n_nodes,)
        Observed Fano factors computed with the same ``ddof``.
    n_spikes : int or array_like of int, shape (n_nodes,)
        Spikes in the N complete windows.
    n_windows : int
        N.
    window : int
        Window length in samples.
    ddof : {0, 1}, default 0

    Returns
    -------
    ndarray of float64
        NaN where the null has no variance (one window, silent or always-on
        windows) or the Fano factor is NaN.

    Raises
    ------
    ValueError
        As :func:`expected_fano_factor`.

    Examples
    --------
    >>> round(float(dispersion(0.676692, 40, 4, 100)), 4)
    1.0
    """
    return _ratio(fano_factor, expected_fano_factor(n_spikes, n_windows, window, ddof=ddof))


def cv_dispersion(cv_isi, n_spikes, span, *, ddof=0):
    """Squared CV of the ISIs relative to the exact Bernoulli null, ``CV² / E[CV² | K, L]``.

    A ratio of squared CVs (variances), so that its mean is exactly 1 for
    independent spiking; ``sqrt`` of it is the CV ratio, biased low by Jensen's
    inequality when there are few ISIs.

    Parameters
    ----------
    cv_isi : float or array_like
        Observed CVs computed with the same ``ddof``.
    n_spikes : int or array_like of int
        K.
    span : int or array_like of int
        L, last minus first spike time in samples.
    ddof : {0, 1}, default 0

    Returns
    -------
    ndarray of float64
        NaN where K < 3 or ``L = K - 1`` (the null CV is 0).

    Raises
    ------
    ValueError
        As :func:`expected_cv_isi_squared`.

    Examples
    --------
    >>> round(float(cv_dispersion(np.sqrt(1 / 6), 3, 4)), 6)
    1.0
    """
    return _ratio(np.asarray(cv_isi, dtype=np.float64) ** 2, expected_cv_isi_squared(n_spikes, span, ddof=ddof))


def lv_dispersion(lv, n_spikes, n_samples):
    """LV relative to the exact Bernoulli null, ``LV / E[LV | K]``; mean exactly 1 for independent spiking.

    Parameters
    ----------
    lv : float or array_like
        Observed LVs.
    n_spikes : int or array_like of int
        K, spikes in the whole recording.
    n_samples : int

    Returns
    -------
    ndarray of float64
        NaN where K < 3 or K = n.

    Raises
    ------
    ValueError
        As :func:`expected_lv`.

    Examples
    --------
    >>> round(float(lv_dispersion(1 / 6, 3, 4)), 6)
    1.0
    """
    return _ratio(lv, expected_lv(n_spikes, n_samples))


def bernoulli_fano_factor_variance(rate, window, n_windows):
    r"""Large-sample variance of the Fano factor of independent binary spiking.

    Window counts of an independent Bernoulli node are Binomial(w, λ); with
    :math:`q = 1 - λ` their central moments are :math:`\mu = wλ`,
    :math:`\sigma^2 = wλq`, :math:`\mu_3 = wλq(q - λ)`,
    :math:`\mu_4 = wλq(1 + 3(w-2)λq)`.  The delta method for
    :math:`F = S^2/\bar X` over N windows gives

    .. math:: \mathrm{Var}(F) \approx \frac{1}{N-1}\left[\frac{\mu_4-\sigma^4}{\mu^2}
              - \frac{2\sigma^2\mu_3}{\mu^3} + \frac{\sigma^6}{\mu^4}\right]
              = \frac{q\,(1 + (2w-3)\,q)}{w\,(N-1)},

    which tends to Eden & Kramer's Poisson value :math:`2/(N-1)` as
    :math:`w \to \infty,\ λ \to 0`.  (:math:`N-1` instead of :math:`N`,
    as Eden & Kramer, for the sample variance.)

    Parameters
    ----------
    rate : array_like of float
        λ in spikes/sample, in [0, 1].
    window : int
        w, window length in samples.
    n_windows : int
        N >= 2.

    Returns
    -------
    ndarray of float64, same shape as ``rate``

    Raises
    ------
    ValueError
        For a rate outside [0, 1], ``window < 1`` or ``n_windows < 2``.
    """
    q = 1.0 - check_rates(rate)
    w = check_integer(window, "window", min_value=1)
    n = check_integer(n_windows, "n_windows", min_value=2)
    return q * (1.0 + (2.0 * w - 3.0) * q) / (w * (n - 1))


def poisson_expected_fano_factor(n_windows, n_spikes_windowed, *, ddof=0):
    """Exact E[F | K] of a homogeneous Poisson process: ``(N - 1 + ddof) / N`` (module docstring).

    Parameters
    ----------
    n_windows : array_like of int
        N, complete windows of each unit.
    n_spikes_windowed : array_like of int
        K, spikes in them (NaN where K = 0: no Fano factor).
    ddof : {0, 1}, default 0

    Returns
    -------
    ndarray of float64
        NaN where N < 2 or K = 0.

    Examples
    --------
    >>> poisson_expected_fano_factor([4, 1], [10, 3]).tolist()
    [0.75, nan]
    """
    ddof = _check_ddof(ddof)
    n = np.asarray(n_windows, dtype=np.float64)
    k = np.asarray(n_spikes_windowed, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n >= 2) & (k > 0), (n - 1.0 + ddof) / n, np.nan)


def poisson_expected_cv_isi_squared(n_isi, span, sq_spans, *, ddof=0):
    r"""Exact E[CV² | {k_s, L_s}] of a Poisson process, ISIs pooled within trials (module docstring).

    Parameters
    ----------
    n_isi : array_like of int
        k, ISIs of each unit (within trials).
    span : array_like of float
        L, their sum.
    sq_spans : array_like of float
        :math:`\sum_s L_s^2 / (k_s + 1)` over the trials of each unit.
    ddof : {0, 1}, default 0

    Returns
    -------
    ndarray of float64
        NaN where k < 2.

    Examples
    --------
    >>> poisson_expected_cv_isi_squared([4], [2.0], [2.0 ** 2 / 5]).round(12).tolist()  # one trial: (k-1)/(k+1)
    [0.6]
    """
    ddof = _check_ddof(ddof)
    k = np.asarray(n_isi, dtype=np.float64)
    span = np.asarray(span, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = k * 2.0 * np.asarray(sq_spans, dtype=np.float64) / span ** 2 - 1.0
        if ddof:
            value = value * k / (k - 1.0)
        return np.where(k >= 2, value, np.nan)


def poisson_expected_lv(n_pairs):
    """Exact E[LV] of a Poisson process: 1 wherever one pair of consecutive ISIs exists, else NaN.

    Examples
    --------
    >>> poisson_expected_lv([0, 5]).tolist()
    [nan, 1.0]
    """
    return np.where(np.asarray(n_pairs) >= 1, 1.0, np.nan)
