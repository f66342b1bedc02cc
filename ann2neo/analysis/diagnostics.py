"""Poisson-model diagnostics of arXiv:2308.00858 section 3.3.1-3.3.2.

* Fano factor test (Eden & Kramer 2010, J Neurosci Methods 190:149): under a
  Poisson process the Fano factor of N window counts is approximately
  Gamma(shape=(N-1)/2, scale=2/(N-1)); the same test against the Bernoulli
  null of binary trains, by a moment-matched Gamma law where it holds its
  level (:data:`GAMMA_MIN_COUNT`), and elsewhere by the exact conditional
  simulation given the node's spike count (multivariate-hypergeometric window
  counts: a permutation test).
* Independence: Ljung-Box test per node (equal to statsmodels ``acorr_ljungbox``,
  computed for all nodes at once from exact autocorrelations) on the nodes with
  enough spikes for its chi-squared law (:data:`LJUNG_BOX_MIN_PAIRS`), p-values
  combined over nodes with Pearson's method (the paper's; computed stably) and
  the fraction of nodes significant after Benjamini-Hochberg.
* Stationarity: Augmented Dickey-Fuller test per node (statsmodels ``adfuller``)
  on the **windowed spike counts** by default (the cumulative count is a random
  walk with drift by construction, so ``on="cumulative"`` tests a different
  question and is offered only for comparison with other work).  Its summary is
  the fraction of nodes whose unit root was *not rejected* — absence of
  evidence of stationarity, not evidence of non-stationarity.
* Kolmogorov-Smirnov comparison of firing-rate distributions with Bonferroni
  correction (paper Table 2).

Constant series (silent nodes, nodes spiking on every sample or in every
sample of the windows) are degenerate for every test: they get NaN p-values
with the reason in a ``*_note`` column, never an exception, are left out of
every "fraction significant" and are counted.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..core.conversion import as_spike_matrix
from ..core.defaults import ALPHA, LAGS, MIN_ADF_WINDOWS
from ..core.validation import check_integer, check_option, check_probability, check_random_state, check_real
from ._timebase import as_view
from .nullmodel import bernoulli_fano_factor, bernoulli_fano_factor_variance, check_rates, expected_fano_factor

__all__ = ["fano_factor_test", "autocorrelation", "ljung_box", "adf_test", "compare_firing_rates", "diagnose",
           "GAMMA_MIN_COUNT", "LJUNG_BOX_MIN_PAIRS"]

#: The moment-matched Gamma test against the Bernoulli null is used where the
#: expected spikes and non-spikes per window are both at least these:
#: ``w * λ̂ >= 3`` and ``w * (1 - λ̂) >= 5``.  Measured size at α = 0.05 there:
#: 3.3-6.7 % (N = 4, 13, 20, 100, 600; w = 10, 100); outside it, 0-3 % (the
#: test goes blind), so those nodes get the conditional simulation.
GAMMA_MIN_COUNT = (3.0, 5.0)

#: Ljung-Box is applied to a node only when ``min(K, n - K)**2 / n`` (the expected
#: number of spike pairs, or silence pairs, at each lag) is at least this.  Below
#: it the chi-squared law fails: measured size at α = 0.05 of 5-36 % and p ≈ 1
#: for most nodes (which pins Pearson's combination to 1); at 2 or more, 4.9-6.3 %
#: (n = 400 ... 60,000 samples, 10 lags).
LJUNG_BOX_MIN_PAIRS = 2.0


def _two_sided(cdf, sf):
    return np.minimum(1.0, 2.0 * np.minimum(cdf, sf))


def _fraction(flags):
    """Fraction of True in ``flags`` (over the nodes where a test is defined); NaN if there are none."""
    flags = np.asarray(flags, dtype=bool)
    return float(flags.mean()) if flags.size else float("nan")


def _conditional_fano_factors(n_spikes, n_windows, window, n_surrogates, rng):
    """Fano factors (ddof=0) of window counts drawn given each node's windowed spike count.

    Under i.i.d. Bernoulli spiking the K_w spikes of the windows sit on a
    uniform random K_w-subset of the N*w samples, so the window counts are
    multivariate hypergeometric; they are drawn window by window
    (``Generator.hypergeometric``), for all nodes and surrogates at once.

    Returns
    -------
    ndarray of float64, shape (n_nodes, n_surrogates)
    """
    k = np.repeat(np.asarray(n_spikes, dtype=np.int64)[:, None], n_surrogates, axis=1)
    remaining, left = k.copy(), n_windows * window
    s2 = np.zeros(k.shape, dtype=np.float64)
    for _ in range(n_windows - 1):
        c = rng.hypergeometric(window, left - window, remaining)
        s2 += c.astype(np.float64) ** 2
        remaining -= c
        left -= window
    s2 += remaining.astype(np.float64) ** 2
    kf = k.astype(np.float64)
    return (n_windows * s2 - kf * kf) / (n_windows * kf)


def fano_factor_test(fano_factor, n_windows, *, null="poisson", rate=None, window=None, n_spikes=None,
                     method="auto", n_surrogates=1000, alpha=0.05, seed=None) -> pd.DataFrame:
    r"""Two-sided test of each node's Fano factor against a null process.

    The Fano factors are those of :func:`ann2neo.fano_factor` (population
    variance, ddof=0, as Elephant), so the statistic tested is the
    sample-variance Fano factor :math:`F' = F\,N/(N-1)`.

    * ``null="poisson"`` (Eden & Kramer 2010, J Neurosci Methods 190:149; paper
      section 3.3.1): :math:`F' \sim \Gamma((N-1)/2,\ 2/(N-1))`, mean 1.
    * ``null="bernoulli"``, ``method="gamma"``: the Gamma law with the
      Bernoulli null's mean — the exact conditional mean E[F' | K_w] when
      ``n_spikes`` is given (:func:`ann2neo.analysis.expected_fano_factor`),
      else :math:`1 - λ` — and variance :func:`bernoulli_fano_factor_variance`
      (moment matching, as Eden & Kramer do for Poisson).  It holds its level
      only where ``w λ̂ >= 3`` and ``w (1 - λ̂) >= 5`` (:data:`GAMMA_MIN_COUNT`).
    * ``null="bernoulli"``, ``method="simulation"``: with ``n_spikes`` the
      exact conditional (permutation) null: ``n_surrogates`` sets of window
      counts drawn given K_w (multivariate hypergeometric), valid at any N and
      λ, with the two-sided p-value ``(1 + #{|F* - μ| >= |F - μ|}) / (n_surrogates + 1)``
      about the exact null mean μ = E[F | K_w] (size at most alpha up to
      Monte-Carlo error; with very few spikes the null has few possible values
      and no test reaches alpha: measured 0.9 % at w = 10, λ = 0.02, N = 13);
      without ``n_spikes``, Binomial(window, λ) counts at the given λ (exact only
      for a known λ) and the doubled rank
      ``2 min(1 + #{F* <= F}, 1 + #{F* >= F}) / (n_surrogates + 1)``.
    * ``null="bernoulli"``, ``method="auto"`` (default): the Gamma test inside
      its validity region, the simulation outside it; the ``method`` column says
      which was used on each node.

    Nodes whose counts are constant by construction (no spike in the windows,
    or a spike on every sample of them) have no test under either null: NaN
    p-value, a reason in ``note``.  (An always-on node's F = 0 is right, but
    0 is the only value it can take, so it is no evidence against any null.)

    Parameters
    ----------
    fano_factor : array_like of float, shape (n_nodes,)
        Observed Fano factors (NaN allowed: NaN p-value).
    n_windows : int
        Number N of windows each Fano factor was computed from (>= 2).
    null : {"poisson", "bernoulli"}
    rate : array_like of float, shape (n_nodes,), optional
        Firing rates λ in spikes/sample; needed for ``null="bernoulli"``
        unless ``n_spikes`` is given.
    window : int, optional
        Window length w in samples; required for ``null="bernoulli"`` and to
        recognise always-on nodes.
    n_spikes : array_like of int, shape (n_nodes,), optional
        K_w, each node's spikes in the N complete windows
        (``node_statistics(...)["n_spikes_windowed"]``): makes the Bernoulli
        null conditional (exact at finite N, λ estimated from the recording).
    method : {"auto", "gamma", "simulation"}, default "auto"
        How the Bernoulli null distribution is obtained (ignored for Poisson).
    n_surrogates : int, default 1000
    alpha : float, default 0.05
        Level, 0 < alpha < 1.
    seed : None, int or numpy.random.Generator, optional
        Seed of the simulation (a local generator; numpy's global state is untouched).

    Returns
    -------
    pandas.DataFrame, one row per node
        ``p_value`` (float), ``significant`` (bool, p < alpha), ``direction``
        ("below"/"above" the null's median, or its exact mean for the
        conditional simulation; "" where undefined), ``method``
        ("gamma", "simulation", or "" where undefined), ``note`` (why the test
        is undefined, "" otherwise).

    Raises
    ------
    ValueError
        If ``n_windows < 2``, an unknown ``null`` or ``method``, ``alpha`` outside
        (0, 1), or missing ``rate``/``n_spikes``/``window`` for the Bernoulli null.

    Examples
    --------
    >>> t = fano_factor_test([0.5, 1.0], 600)
    >>> t["significant"].tolist(), t["direction"].tolist()
    ([True, False], ['below', 'above'])
    """
    ff = np.asarray(fano_factor, dtype=float)
    n = check_integer(n_windows, "n_windows")
    if n < 2:
        raise ValueError(f"the Fano factor test needs at least 2 windows, got n_windows = {n}")
    check_option(method, "method", ("auto", "gamma", "simulation"))
    check_option(null, "null", ("poisson", "bernoulli"))
    alpha = check_probability(alpha, "alpha")
    n_surrogates = check_integer(n_surrogates, "n_surrogates", min_value=1)
    w = None if window is None else check_integer(window, "window", min_value=1)
    k_w = None if n_spikes is None else np.asarray(n_spikes, dtype=float)
    if null == "bernoulli" and (w is None or (rate is None and k_w is None)):
        raise ValueError("the Bernoulli null needs the window length and the nodes' rate or windowed spike count "
                         "(n_spikes)")
    if k_w is not None:
        lam = k_w / (n * w) if w is not None else None
    else:
        lam = None if rate is None else check_rates(rate)
    note = np.where(np.isnan(ff), "no Fano factor", "").astype(object)
    if lam is not None:
        note[~np.isnan(ff) & (lam >= 1)] = "constant counts (always on): test undefined"
    defined = note == ""
    p = np.full(ff.shape, np.nan)
    below = np.zeros(ff.shape, bool)
    used = np.full(ff.shape, "", dtype=object)
    statistic = ff * n / (n - 1)
    if null == "poisson":
        dist = stats.gamma(a=(n - 1) / 2.0, scale=2.0 / (n - 1))
        p[defined] = _two_sided(dist.cdf(statistic[defined]), dist.sf(statistic[defined]))
        below[defined] = statistic[defined] < dist.median()
        used[defined] = "gamma"
    else:
        counts_ok = (w * lam >= GAMMA_MIN_COUNT[0]) & (w * (1 - lam) >= GAMMA_MIN_COUNT[1])
        use_gamma = defined & (counts_ok if method == "auto" else np.full(ff.shape, method == "gamma"))
        use_sim = defined & ~use_gamma
        if use_gamma.any():
            if k_w is not None:
                mean = expected_fano_factor(k_w[use_gamma], n, w, ddof=1)
            else:
                mean = bernoulli_fano_factor(lam[use_gamma])
            var = bernoulli_fano_factor_variance(lam[use_gamma], w, n)
            with np.errstate(invalid="ignore", divide="ignore"):
                dist = stats.gamma(a=mean**2 / var, scale=var / mean)
                x = statistic[use_gamma]
                p[use_gamma] = _two_sided(dist.cdf(x), dist.sf(x))
                below[use_gamma] = x < dist.median()
            used[use_gamma] = "gamma"
        if use_sim.any():
            rng = check_random_state(seed)
            idx = np.flatnonzero(use_sim)
            if k_w is not None:
                sim = _conditional_fano_factors(k_w[idx], n, w, n_surrogates, rng)
            else:
                sim = np.empty((idx.size, n_surrogates))
                for row, j in enumerate(idx):  # one node at a time: bounded memory
                    counts = rng.binomial(w, lam[j], size=(n_surrogates, n))
                    means = counts.mean(axis=1)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        sim[row] = np.where(means > 0, counts.var(axis=1) / means, np.nan)
            f = ff[idx][:, None]
            tie = 1e-9 * np.maximum(1.0, np.abs(f))  # equal values computed in a different order
            valid = ~np.isnan(sim)
            n_valid = valid.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN surrogates of a node: NaN median
                if k_w is not None:  # exact null mean known: two-sided by the distance from it
                    mu = expected_fano_factor(k_w[idx], n, w)[:, None]
                    n_extreme = 1 + np.sum(valid & (np.abs(sim - mu) >= np.abs(f - mu) - tie), axis=1)
                    p[idx] = np.where(n_valid > 0, n_extreme / (n_valid + 1), np.nan)
                    below[idx] = ff[idx] < mu[:, 0]
                else:
                    n_below = 1 + np.sum(valid & (sim <= f + tie), axis=1)
                    n_above = 1 + np.sum(valid & (sim >= f - tie), axis=1)
                    p[idx] = np.where(n_valid > 0,
                                      np.minimum(1.0, 2.0 * np.minimum(n_below, n_above) / (n_valid + 1)), np.nan)
                    below[idx] = ff[idx] < np.nanmedian(np.where(valid, sim, np.nan), axis=1)
            used[idx] = "simulation"
    direction = np.where(np.isnan(p), "", np.where(below, "below", "above"))
    used[np.isnan(p)] = ""
    return pd.DataFrame({"p_value": p, "significant": p < alpha, "direction": direction, "method": used,
                         "note": note})


_CONSTANT = "constant series: test undefined"


def _constant_note(constant):
    """Per-node note column: the reason where a node's series is constant, else ""."""
    return np.where(constant, _CONSTANT, "").astype(object)


def autocorrelation(spikes, lags=10) -> np.ndarray:
    r"""Sample autocorrelation of each node's binary series at lags 1..``lags``, exactly.

    The estimator of statsmodels ``acf(x, adjusted=False, fft=False)``
    (Box & Jenkins):

    .. math:: r_k = \frac{\sum_{t=0}^{n-k-1} (x_t - m)(x_{t+k} - m)}{\sum_{t=0}^{n-1} (x_t - m)^2},

    computed from integer co-occurrence counts: with :math:`c` spikes,
    :math:`C_k = \sum_t x_t x_{t+k}`, :math:`A_k`, :math:`B_k` the spikes in
    the first and last :math:`n-k` samples, :math:`n^2` times the numerator is
    the integer :math:`n^2 C_k - n c (A_k + B_k) + (n-k) c^2` and :math:`n^2`
    times the denominator is :math:`n (n c - c^2)`; their ratio is rounded once.
    One pass over the matrix per lag instead of one statsmodels call per node.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    lags : int, default 10
        Largest lag in samples, ``1 <= lags < n_samples``.

    Returns
    -------
    ndarray of float64, shape (lags, n_nodes)
        Row ``k - 1`` holds :math:`r_k`; NaN for constant nodes (silent, or
        spiking on every sample), whose autocorrelation is undefined.

    Raises
    ------
    ValueError
        If ``lags`` is not a whole number in [1, n_samples - 1] or the input is
        not a binary matrix.
    TypeError
        If ``lags`` is not a number.
    """
    matrix = as_spike_matrix(spikes)
    n, n_nodes = matrix.shape
    lags = check_integer(lags, "lags", min_value=1, max_value=n - 1)
    c = np.count_nonzero(matrix, axis=0).astype(object)  # Python ints: exact products
    head = np.cumsum(matrix[:lags], axis=0, dtype=np.int64)  # spikes in the first k samples
    tail = np.cumsum(matrix[::-1][:lags], axis=0, dtype=np.int64)  # ... in the last k samples
    denom = n * (n * c - c * c)
    r = np.full((lags, n_nodes), np.nan)
    defined = np.flatnonzero(denom != 0)
    for k in range(1, lags + 1):
        co = np.count_nonzero(matrix[:-k] & matrix[k:], axis=0).astype(object)
        a = c - tail[k - 1].astype(object)  # x_0 .. x_{n-k-1}
        b = c - head[k - 1].astype(object)  # x_k .. x_{n-1}
        num = n * n * co - n * c * (a + b) + (n - k) * c * c
        r[k - 1, defined] = [num[j] / denom[j] for j in defined]
    return r


def _pearson_combined(q, h):
    r"""Pearson's combined p-value of chi-squared(h) statistics ``q``, computed stably.

    Pearson's statistic is :math:`T = -2\sum_i \log(1 - p_i)`, :math:`\chi^2_{2k}`
    under the null, combined p = P(:math:`\chi^2_{2k} \le T`) (as
    ``scipy.stats.combine_pvalues(method="pearson")``).  With
    :math:`p_i = \mathrm{sf}(Q_i)`, :math:`\log(1-p_i)` is
    ``chi2.logcdf(Q_i, h)``, finite even where ``sf`` rounds to 1 (where scipy's
    ``log1p(-p)`` gives -inf and the combination is pinned to 1).
    """
    if q.size == 0:
        return float("nan")
    statistic = -2.0 * float(np.sum(stats.chi2.logcdf(q, h)))
    return float(stats.chi2.cdf(statistic, 2 * q.size))


def ljung_box(spikes, lags=10, alpha=0.05, combine="pearson", min_pairs=LJUNG_BOX_MIN_PAIRS):
    r"""Ljung-Box test of no autocorrelation up to ``lags`` samples, per node.

    :math:`Q = n(n+2)\sum_{k=1}^{h} r_k^2/(n-k)`, p-value from
    :math:`\chi^2_h` (Ljung & Box 1978; paper section 3.3.1), with :math:`r_k`
    from :func:`autocorrelation`.  Equals statsmodels
    ``acorr_ljungbox(x, lags=[h])`` per node (tested to 1e-10) without its
    per-node cost.

    **Which nodes are tested.**  The chi-squared law of Q needs enough spike
    pairs at each lag.  A node with K spikes in n samples is tested only if
    ``min(K, n - K)**2 / n >= min_pairs`` (default
    :data:`LJUNG_BOX_MIN_PAIRS` = 2: at least two expected spike pairs, or
    silence pairs, per lag).  Below that, the measured size at α = 0.05 is
    5-36 % and most p-values are ≈ 1; such nodes get NaN with a note, are
    counted in ``ljung_box_n_excluded`` and left out of the combination and
    the fractions.  Constant nodes are excluded likewise.

    **Combination.**  The paper's Pearson combination (default) is computed
    stably (:math:`\log(1 - p_i)` as ``chi2.logcdf(Q_i, h)``), so one node's
    p rounding to 1 no longer pins it to 1.  Pearson's method is dominated by
    p-values near 1 (it asks "do the nodes look *less* dependent than chance?"
    as much as "more"); Fisher's is the one driven by small p-values.  The
    fraction of nodes significant after Benjamini-Hochberg (FDR ``alpha``) is
    reported too.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    lags : int, default 10
        Largest lag h, in samples (1 <= lags < n_samples, a whole number).
    alpha : float, default 0.05
        Level, 0 < alpha < 1 (also the BH false discovery rate).
    combine : {"pearson", "fisher", "stouffer", "tippett", "mudholkar_george"}, default "pearson"
        Method of combining the p-values; Pearson's is computed stably here,
        the others by ``scipy.stats.combine_pvalues``.
    min_pairs : float, default 2.0
        Minimum expected pairs per lag, ``min(K, n - K)**2 / n``; 0 tests every
        non-constant node.

    Returns
    -------
    per_node : pandas.DataFrame
        ``ljung_box_stat`` (Q), ``ljung_box_p`` (NaN for excluded nodes) and
        ``ljung_box_note`` (the reason, "" if tested).
    combined : dict
        ``ljung_box_combined_p`` (``combine`` method over the tested nodes;
        paper section 3.3.1: Pearson's), ``ljung_box_combine`` (the method),
        ``ljung_box_fraction_significant`` (p < alpha, uncorrected),
        ``ljung_box_fraction_significant_bh`` (Benjamini-Hochberg at FDR alpha),
        ``ljung_box_n_tested``, ``ljung_box_n_excluded`` (too few spikes or
        constant), ``ljung_box_rule`` (the exclusion rule, in words).

    Raises
    ------
    ValueError
        If ``lags`` is out of range or not whole, ``alpha`` is outside (0, 1),
        ``combine`` is unknown, or the input is not a binary matrix.
    TypeError
        If ``lags`` or ``alpha`` is not a number.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.random.default_rng(0).random((2000, 4)) < [0.3, 0.5, 0.001, 0.2]
    >>> per_node, combined = ljung_box(m, lags=5)
    >>> combined["ljung_box_n_excluded"], per_node["ljung_box_note"][2][:13]
    (1, 'too few spike')
    """
    from statsmodels.stats.multitest import multipletests

    alpha = check_probability(alpha, "alpha")
    check_option(combine, "combine", ("pearson", "fisher", "stouffer", "tippett", "mudholkar_george"))
    min_pairs = check_real(min_pairs, "min_pairs", min_value=0.0)
    matrix = as_spike_matrix(spikes)
    r = autocorrelation(matrix, lags)
    n = matrix.shape[0]
    h = r.shape[0]
    k = np.arange(1, h + 1)[:, None]
    q = n * (n + 2.0) * np.sum(r**2 / (n - k), axis=0)
    count = np.count_nonzero(matrix, axis=0)
    pairs = np.minimum(count, n - count).astype(np.float64) ** 2 / n
    constant = np.isnan(q)  # autocorrelation is NaN exactly for constant nodes
    few = ~constant & (pairs < min_pairs)
    note = _constant_note(constant)
    note[few] = f"too few spikes (or silences) for the chi-squared law: min(K, n-K)^2/n < {min_pairs:g}"
    tested = ~constant & ~few
    p = np.where(tested, stats.chi2.sf(q, h), np.nan)
    if combine == "pearson":
        combined = _pearson_combined(q[tested], h)
    else:
        combined = float(stats.combine_pvalues(p[tested], method=combine).pvalue) if tested.any() else float("nan")
    bh = multipletests(p[tested], alpha=alpha, method="fdr_bh")[0] if tested.any() else np.zeros(0, bool)
    return (pd.DataFrame({"ljung_box_stat": q, "ljung_box_p": p, "ljung_box_note": note}),
            {"ljung_box_combined_p": combined, "ljung_box_combine": combine,
             "ljung_box_fraction_significant": _fraction(p[tested] < alpha),
             "ljung_box_fraction_significant_bh": _fraction(bh),
             "ljung_box_n_tested": int(tested.sum()), "ljung_box_n_excluded": int((~tested).sum()),
             "ljung_box_rule": f"tested if min(K, n-K)^2/n >= {min_pairs:g} (K spikes in n samples)"})


def adf_test(spikes, window=100, on="windowed", alpha=0.05, min_length=20):
    r"""Augmented Dickey-Fuller unit-root test per node (statsmodels ``adfuller``, AIC lag choice).

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    window : int, default 100
        Window in samples for the counts series.
    on : {"windowed", "cumulative"}
        Series tested: spike counts per window (default), or the cumulative count
        at the end of each window.
    alpha : float, default 0.05
    min_length : int, default 20
        Fewer windows than this give NaN ("too few windows"); so do fewer than
        4, the least the ADF regression can be fitted on.

    Returns
    -------
    per_node : pandas.DataFrame
        ``adf_p`` (small p: stationary, unit root rejected) and ``adf_note``.
    summary : dict
        ``adf_series`` (which series), ``adf_fraction_unit_root_not_rejected``
        (fraction of tested nodes with p >= alpha: the test found no evidence of
        stationarity — which is not evidence of non-stationarity, and is the
        usual outcome of a short series), ``adf_n_tested``, and
        ``adf_fraction_nonstationary``, the same number under its old,
        misleading name (deprecated, kept for existing readers).

    Raises
    ------
    ValueError
        For an unknown ``on``, ``alpha`` outside (0, 1), or ``min_length`` < 1.

    Notes
    -----
    The p-values are those of statsmodels ``adfuller(x, autolag="AIC")``
    (regression with a constant, ``maxlag`` :math:`= \lceil 12 (N/100)^{1/4} \rceil`
    for N windows, the lag order chosen by AIC on a common sample and refitted
    on its full sample, MacKinnon's p-value from ``mackinnonp``), computed for
    all nodes at once by batched QR decompositions
    (:mod:`ann2neo.analysis._adf`): the statistic equals ``adfuller``'s to
    ~1e-12 relative (checked against exact rational arithmetic; on cumulative
    counts ``adfuller``'s own pseudo-inverse is off by up to ~1e-9).  Nodes where
    that cannot be guaranteed (an ill-conditioned design, e.g. a near-constant
    series; a near-perfect fit; two lag orders with tied AICs) are computed by
    ``adfuller`` itself.  Cost at N = 600 windows: ~0.2 ms per node instead of
    35-100 ms (``benchmarks/bench_diagnostics.py``).  A node on which
    ``adfuller`` itself gives NaN (a degenerate regression, e.g. one spike in
    the last window) gets NaN with a note.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.random.default_rng(0).random((6000, 3)) < [0.4, 0.1, 0.0]
    >>> per_node, summary = adf_test(m, window=100)
    >>> bool(per_node["adf_p"][0] < 0.05), per_node["adf_note"][2], summary["adf_n_tested"]
    (True, 'constant series: test undefined', 2)
    """
    check_option(on, "on", ("windowed", "cumulative"))
    alpha = check_probability(alpha, "alpha")
    min_length = check_integer(min_length, "min_length", min_value=1)
    view = as_view(spikes)
    w = view.check_window(window)
    counts = view.window_counts(w).astype(float)
    series = counts if on == "windowed" else np.cumsum(counts, axis=0)
    unit = "samples" if view.time_base == "sample" else "s"
    per_node, summary = _adf_on_series(list(series.T), alpha, min_length,
                                       f"{on} spike counts in windows of {w:g} {unit}")
    summary["adf_fraction_nonstationary"] = summary["adf_fraction_unit_root_not_rejected"]
    return per_node, summary


def _adf_on_series(series, alpha, min_length, label):
    """ADF p-values of a list of count series (equal lengths are batched), with notes and the summary."""
    from ._adf import adf_maxlag, adfuller_batch

    n = len(series)
    p = np.full(n, np.nan)
    note = np.full(n, "", dtype=object)
    lengths = np.array([s.size for s in series], dtype=np.int64)
    for j, x in enumerate(series):
        if x.size < min_length:
            note[j] = f"too few windows ({x.size} < {min_length})"
        elif adf_maxlag(x.size) < 0:
            note[j] = f"too few windows for the ADF regression ({x.size} < 4)"
        elif np.all(x == x[0]):
            note[j] = _CONSTANT
    todo = np.flatnonzero(note == "")
    for length in np.unique(lengths[todo]) if todo.size else []:
        rows = todo[lengths[todo] == length]
        p[rows] = adfuller_batch(np.column_stack([np.asarray(series[j], float) for j in rows]))["pvalue"]
        note[rows[np.isnan(p[rows])]] = "degenerate ADF regression (statsmodels adfuller gives NaN)"
    defined = p[~np.isnan(p)]
    return (pd.DataFrame({"adf_p": p, "adf_note": note}),
            {"adf_series": label, "adf_fraction_unit_root_not_rejected": _fraction(defined >= alpha),
             "adf_n_tested": int(defined.size)})


def _ljung_box_on_series(series, lags, alpha):
    """Ljung-Box (statsmodels ``acorr_ljungbox``) on each unit's window-count series, lags in windows."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.multitest import multipletests

    n = len(series)
    q, p = np.full(n, np.nan), np.full(n, np.nan)
    note = np.full(n, "", dtype=object)
    for j, x in enumerate(series):
        x = np.asarray(x, float)
        if x.size == 0 or np.all(x == x[0]):
            note[j] = _CONSTANT
        elif x.size <= lags + 1:
            note[j] = f"too few windows ({x.size} <= lags + 1 = {lags + 1})"
        else:
            res = acorr_ljungbox(x, lags=[lags])
            q[j], p[j] = float(res["lb_stat"].iloc[0]), float(res["lb_pvalue"].iloc[0])
    tested = ~np.isnan(p)
    bh = multipletests(p[tested], alpha=alpha, method="fdr_bh")[0] if tested.any() else np.zeros(0, bool)
    return (pd.DataFrame({"ljung_box_stat": q, "ljung_box_p": p, "ljung_box_note": note}),
            {"ljung_box_combined_p": _pearson_combined(q[tested], lags), "ljung_box_combine": "pearson",
             "ljung_box_fraction_significant": _fraction(p[tested] < alpha),
             "ljung_box_fraction_significant_bh": _fraction(bh), "ljung_box_n_tested": int(tested.sum()),
             "ljung_box_n_excluded": int((~tested).sum()),
             "ljung_box_rule": f"tested if the window-count series is not constant and has more than {lags + 1} "
                               "windows"})


def compare_firing_rates(rates: dict, pairs=None, alpha=0.05) -> pd.DataFrame:
    """Two-sample Kolmogorov-Smirnov tests between firing-rate distributions, Bonferroni-corrected.

    As paper Table 2: train vs test, condition vs condition.

    Parameters
    ----------
    rates : dict of str to array_like
        Per-node firing rates of each recording, e.g. ``{"Generalizing/train": ...}``.
    pairs : sequence of (str, str), optional
        Comparisons to make; default all pairs.
    alpha : float, default 0.05
        Family-wise level.

    Returns
    -------
    pandas.DataFrame
        ``a``, ``b``, ``statistic``, ``p_value``, ``p_bonferroni`` (p times the
        number of comparisons, capped at 1), ``different`` (p_bonferroni < alpha).
    """
    from statsmodels.stats.multitest import multipletests

    pairs = list(pairs) if pairs is not None else list(itertools.combinations(rates, 2))
    if not pairs:
        raise ValueError("no comparisons to make: give at least two rate distributions")
    rows = []
    for a, b in pairs:
        res = stats.ks_2samp(np.asarray(rates[a], float), np.asarray(rates[b], float))
        rows.append({"a": a, "b": b, "statistic": float(res.statistic), "p_value": float(res.pvalue)})
    table = pd.DataFrame(rows)
    reject, corrected, _, _ = multipletests(table["p_value"], alpha=alpha, method="bonferroni")
    table["p_bonferroni"] = corrected
    table["different"] = reject
    return table


def diagnose(spikes, nodes: pd.DataFrame, *, window=None, alpha=ALPHA, lags=LAGS, seed=None, n_surrogates=1000,
             min_windows=MIN_ADF_WINDOWS):
    """All per-unit diagnostics and their summaries, in any time base (used by ``analyze(diagnostics=True)``).

    One function for every recording; the time-base adapter
    (:func:`ann2neo.analysis._timebase.as_view`) gives the window counts and
    says which null is the recording's own:

    * Fano factor test against the Poisson process (Eden & Kramer 2010, the
      paper's), and, on the sample grid, against the Bernoulli null too
      (:func:`fano_factor_test`); units are tested with their own number of windows.
    * Independence: Ljung-Box on the binary spike series of a spike matrix
      (:func:`ljung_box`, lags in samples), or on the window counts of spike
      times (lags in windows).
    * Stationarity: ADF on the window counts (:func:`adf_test`'s rule).

    Parameters
    ----------
    spikes : any recording :func:`ann2neo.node_statistics` takes (in memory)
    nodes : pandas.DataFrame
        :func:`ann2neo.node_statistics` of ``spikes``.
    window : int or pq.Quantity, optional
        Default: the table's own window (``nodes.attrs["window"]``).
    alpha : float, default 0.05
    lags : int, default 10
        Ljung-Box lags: samples for a spike matrix, windows for spike times.
    seed : None, int or numpy.random.Generator, optional
        Seed of the conditional simulation of the Bernoulli Fano factor test,
        used on nodes outside the Gamma approximation's validity region.
    n_surrogates : int, default 1000
    min_windows : int, default 20
        Fewest windows for the ADF test.

    Returns
    -------
    per_node : pandas.DataFrame, one row per unit
        ``ff_p_poisson``, ``ff_significant_poisson``, ``ff_direction_poisson``, the same with
        ``_bernoulli`` (NaN, False, "" in physical time: no Bernoulli null there), ``ff_method_bernoulli``
        ("gamma" or "simulation"), ``ff_note`` (why the Fano tests are undefined),
        ``ljung_box_stat``, ``ljung_box_p``, ``ljung_box_note``, ``adf_p``, ``adf_note``.
    tests : dict
        Always all keys; NaN where undefined.

        * ``ff_nulls`` ("poisson, bernoulli" or "poisson"),
          ``ff_fraction_significant_{poisson,bernoulli}``, ``ff_fraction_below_{poisson,bernoulli}``
          — fractions of the ``ff_n_tested`` units with a defined test;
          ``ff_n_windows`` (the smallest), ``ff_n_tested``, ``ff_n_undefined``,
          ``ff_n_simulated_bernoulli``;
        * ``ljung_box_combined_p``, ``ljung_box_combine``, ``ljung_box_fraction_significant``,
          ``ljung_box_fraction_significant_bh``, ``ljung_box_n_tested``, ``ljung_box_n_excluded``,
          ``ljung_box_rule``, ``ljung_box_series``;
        * ``adf_series``, ``adf_fraction_unit_root_not_rejected``, ``adf_n_tested``,
          ``adf_fraction_nonstationary`` (deprecated alias of the former).

    Examples
    --------
    >>> import numpy as np
    >>> from ann2neo.analysis.statistics import node_statistics
    >>> m = np.random.default_rng(0).random((3000, 4)) < 0.3
    >>> per_node, tests = diagnose(m, node_statistics(m, 100))
    >>> tests["ff_nulls"], tests["ff_n_tested"]
    ('poisson, bernoulli', 4)
    """
    alpha = check_probability(alpha, "alpha")
    lags = check_integer(lags, "lags", min_value=1)
    view = as_view(spikes)
    w = nodes.attrs["window"] if window is None else view.check_window(window)
    n_windows = nodes["n_windows"].to_numpy().astype(np.int64)
    ddof = int(nodes.attrs.get("ddof", 0))
    ff, rate = nodes["fano_factor"].to_numpy(), nodes["firing_rate"].to_numpy()
    if ddof == 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            ff = ff * (n_windows - 1) / n_windows  # the tests take Elephant's ddof=0 Fano factor
    grid = view.time_base == "sample"  # the sample grid: rates per sample, and the Bernoulli null
    k_w = nodes["n_spikes_windowed"].to_numpy()
    nulls = ("poisson", "bernoulli") if grid else ("poisson",)
    n_units = len(nodes)
    tests = {"ff_nulls": ", ".join(nulls)}
    parts = []
    note = np.full(n_units, "", dtype=object)
    defined = np.zeros(n_units, bool)
    for null in ("poisson", "bernoulli"):
        p = np.full(n_units, np.nan)
        significant = np.zeros(n_units, bool)
        direction = np.full(n_units, "", dtype=object)
        method = np.full(n_units, "", dtype=object)
        if null in nulls:
            for n in np.unique(n_windows):
                rows = np.flatnonzero(n_windows == n)
                if n < 2:
                    note[rows] = "one window: no Fano factor"
                    continue
                extra = dict(rate=rate[rows], window=w, n_spikes=k_w[rows]) if grid else {}
                t = fano_factor_test(ff[rows], int(n), null=null, alpha=alpha, seed=seed, n_surrogates=n_surrogates,
                                     **extra)
                p[rows], significant[rows] = t["p_value"].to_numpy(), t["significant"].to_numpy()
                direction[rows], method[rows] = t["direction"].to_numpy(), t["method"].to_numpy()
                note[rows] = t["note"].to_numpy()
            defined = ~np.isnan(p)
        tests[f"ff_fraction_significant_{null}"] = _fraction(significant[defined]) if null in nulls else np.nan
        tests[f"ff_fraction_below_{null}"] = _fraction(significant[defined] & (direction[defined] == "below")) \
            if null in nulls else np.nan
        columns = {f"ff_p_{null}": p, f"ff_significant_{null}": significant & ~np.isnan(p),
                   f"ff_direction_{null}": direction}
        if null == "bernoulli":
            columns["ff_method_bernoulli"] = method
            tests["ff_n_simulated_bernoulli"] = int((method == "simulation").sum())
        parts.append(pd.DataFrame(columns))
    tests["ff_n_windows"] = int(n_windows.min()) if n_units else 0
    tests["ff_n_tested"] = int(defined.sum())
    tests["ff_n_undefined"] = int((~defined).sum())
    parts.append(pd.DataFrame({"ff_note": note}))
    if grid:
        matrix = view.matrix
        lb, lb_tests = ljung_box(matrix, lags=lags, alpha=alpha)
        lb_tests["ljung_box_series"] = f"binary spike series, lags 1..{lags} samples"
        counts = view.window_counts(w).astype(float)
        adf, adf_tests = _adf_on_series(list(counts.T), alpha, min_windows,
                                        f"windowed spike counts in windows of {int(w)} samples")
    else:
        series = view.window_series(w)
        lb, lb_tests = _ljung_box_on_series(series, lags, alpha)
        lb_tests["ljung_box_series"] = f"spike counts in windows of {w * 1e3:g} ms, lags 1..{lags} windows"
        adf, adf_tests = _adf_on_series([np.asarray(c, float) for c in series], alpha, min_windows,
                                        f"spike counts in windows of {w * 1e3:g} ms")
    adf_tests["adf_fraction_nonstationary"] = adf_tests["adf_fraction_unit_root_not_rejected"]
    per_node = pd.concat(parts + [lb, adf], axis=1)
    per_node.index = nodes.index
    return per_node, {**tests, **lb_tests, **adf_tests}
