"""Poisson-model diagnostics of arXiv:2308.00858 section 3.3.1-3.3.2.

* Fano factor test (Eden & Kramer 2010, J Neurosci Methods 190:149): under a
  Poisson process the Fano factor of N window counts is approximately
  Gamma(shape=(N-1)/2, scale=2/(N-1)); the same test against the Bernoulli
  null of binary trains, by a moment-matched Gamma law or by simulation with
  Binomial window-count surrogates.
* Independence: Ljung-Box test per node (equal to statsmodels ``acorr_ljungbox``,
  computed for all nodes at once from exact autocorrelations), p-values
  combined over nodes with Pearson's method (``scipy.stats.combine_pvalues``).
* Stationarity: Augmented Dickey-Fuller test per node (statsmodels ``adfuller``)
  on the **windowed spike counts** by default (the cumulative count is a random
  walk with drift by construction, so ``on="cumulative"`` tests a different
  question and is offered only for comparison with other work).
* Kolmogorov-Smirnov comparison of firing-rate distributions with Bonferroni
  correction (paper Table 2).

Constant series (silent nodes, nodes spiking on every sample) get NaN p-values
with the reason in a ``*_note`` column, never an exception.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..core.conversion import spike_matrix
from .nullmodel import bernoulli_fano_factor, bernoulli_fano_factor_variance
from .statistics import check_window, window_counts

__all__ = ["fano_factor_test", "autocorrelation", "ljung_box", "adf_test", "compare_firing_rates", "diagnose"]


def _two_sided(cdf, sf):
    return np.minimum(1.0, 2.0 * np.minimum(cdf, sf))


def _fraction(flags):
    """Fraction of True in ``flags`` (over the nodes where a test is defined); NaN if there are none."""
    flags = np.asarray(flags, dtype=bool)
    return float(flags.mean()) if flags.size else float("nan")


def fano_factor_test(fano_factor, n_windows, *, null="poisson", rate=None, window=None, method="gamma",
                     n_surrogates=1000, alpha=0.05, seed=None) -> pd.DataFrame:
    r"""Two-sided test of each node's Fano factor against a null process.

    The Fano factors are those of :func:`ann2neo.fano_factor` (population
    variance, ddof=0, as Elephant), so the statistic tested is the
    sample-variance Fano factor :math:`F' = F\,N/(N-1)`.

    * ``null="poisson"`` (Eden & Kramer 2010, J Neurosci Methods 190:149; paper
      section 3.3.1): :math:`F' \sim \Gamma((N-1)/2,\ 2/(N-1))`, mean 1.
    * ``null="bernoulli"``, ``method="gamma"`` (default): the Gamma law with the
      Bernoulli null's mean :math:`1 - λ` and variance
      :func:`bernoulli_fano_factor_variance` (moment matching, as Eden & Kramer
      do for Poisson; level checked against simulation in the tests).
    * ``null="bernoulli"``, ``method="simulation"``: ``n_surrogates`` sets of N
      Binomial(window, λ) window counts per node; p-value is the two-sided
      Monte-Carlo rank ``2 min(1 + #{F* <= F}, 1 + #{F* >= F}) / (n_surrogates + 1)``.
      Slow (about 60 ms per node at N = 600).

    Parameters
    ----------
    fano_factor : array_like of float, shape (n_nodes,)
        Observed Fano factors (NaN allowed: NaN p-value).
    n_windows : int
        Number N of windows each Fano factor was computed from (>= 2).
    null : {"poisson", "bernoulli"}
    rate : array_like of float, shape (n_nodes,), optional
        Firing rates λ in spikes/sample; required for ``null="bernoulli"``.
    window : int, optional
        Window length in samples; required for ``null="bernoulli"``.
    method : {"gamma", "simulation"}, default "gamma"
        How the Bernoulli null distribution is obtained (ignored for Poisson).
    n_surrogates : int, default 1000
    alpha : float, default 0.05
    seed : int, optional
        Seed of the simulation.

    Returns
    -------
    pandas.DataFrame, one row per node
        ``p_value`` (float), ``significant`` (bool, p < alpha), ``direction``
        ("below"/"above" the null's median, "" where undefined).

    Raises
    ------
    ValueError
        If ``n_windows < 2``, an unknown ``null`` or ``method``, or missing
        ``rate``/``window`` for the Bernoulli null.
    """
    ff = np.asarray(fano_factor, dtype=float)
    n = int(n_windows)
    if n < 2:
        raise ValueError(f"the Fano factor test needs at least 2 windows, got {n}")
    if method not in ("gamma", "simulation"):
        raise ValueError(f"method must be 'gamma' or 'simulation', got {method!r}")
    if null not in ("poisson", "bernoulli"):
        raise ValueError(f"null must be 'poisson' or 'bernoulli', got {null!r}")
    if null == "bernoulli" and (rate is None or window is None):
        raise ValueError("the Bernoulli null needs the nodes' rate and the window length")
    if null == "poisson" or method == "gamma":
        if null == "poisson":
            dist = stats.gamma(a=(n - 1) / 2.0, scale=2.0 / (n - 1))
        else:
            mean = bernoulli_fano_factor(rate)
            var = bernoulli_fano_factor_variance(rate, window, n)
            with np.errstate(invalid="ignore", divide="ignore"):
                dist = stats.gamma(a=mean**2 / var, scale=var / mean)
        statistic = ff * n / (n - 1)
        p = _two_sided(dist.cdf(statistic), dist.sf(statistic))
        below = statistic < dist.median()
    else:  # Bernoulli null by simulation
        rate = np.asarray(rate, dtype=float)
        rng = np.random.default_rng(seed)
        p = np.full(ff.shape, np.nan)
        below = np.zeros(ff.shape, bool)
        for j in np.flatnonzero(~np.isnan(ff)):
            counts = rng.binomial(int(window), rate[j], size=(int(n_surrogates), n))
            means = counts.mean(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                sim = counts.var(axis=1) / means
            sim = sim[means > 0]
            if sim.size == 0:
                continue
            n_below = 1 + np.count_nonzero(sim <= ff[j])
            n_above = 1 + np.count_nonzero(sim >= ff[j])
            p[j] = min(1.0, 2.0 * min(n_below, n_above) / (sim.size + 1))
            below[j] = ff[j] < np.median(sim)
    p = np.where(np.isnan(ff), np.nan, p)
    direction = np.where(np.isnan(p), "", np.where(below, "below", "above"))
    return pd.DataFrame({"p_value": p, "significant": p < alpha, "direction": direction})


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
        If ``lags`` is out of range or the input is not a binary matrix.
    """
    matrix = spike_matrix(spikes)
    n, n_nodes = matrix.shape
    lags = int(lags)
    if not 1 <= lags < n:
        raise ValueError(f"lags must be in [1, {n - 1}], got {lags}")
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


def ljung_box(spikes, lags=10, alpha=0.05, combine="pearson"):
    r"""Ljung-Box test of no autocorrelation up to ``lags`` samples, per node.

    :math:`Q = n(n+2)\sum_{k=1}^{h} r_k^2/(n-k)`, p-value from
    :math:`\chi^2_h` (Ljung & Box 1978; paper section 3.3.1), with :math:`r_k`
    from :func:`autocorrelation`.  Equals statsmodels
    ``acorr_ljungbox(x, lags=[h])`` per node (tested to 1e-10) without its
    per-node cost.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    lags : int, default 10
        Largest lag h, in samples (1 <= lags < n_samples).
    alpha : float, default 0.05
    combine : {"pearson", "fisher", "stouffer", ...}, default "pearson"
        Method of ``scipy.stats.combine_pvalues``.  The paper uses Pearson's,
        which is dominated by p-values near 1: nodes with very few spikes have
        Q ≈ 0 and drive the combined p-value to 1 (no evidence of dependence);
        Fisher's is the one dominated by small p-values.

    Returns
    -------
    per_node : pandas.DataFrame
        ``ljung_box_stat`` (Q), ``ljung_box_p`` (NaN for constant nodes) and
        ``ljung_box_note``.
    combined : dict
        ``ljung_box_combined_p`` (``combine`` method over defined p-values;
        paper section 3.3.1: Pearson's), ``ljung_box_combine`` (the method),
        ``ljung_box_fraction_significant``.

    Raises
    ------
    ValueError
        If ``lags`` is out of range or the input is not a binary matrix.
    """
    matrix = spike_matrix(spikes)
    r = autocorrelation(matrix, lags)
    n = matrix.shape[0]
    k = np.arange(1, r.shape[0] + 1)[:, None]
    q = n * (n + 2.0) * np.sum(r**2 / (n - k), axis=0)
    p = stats.chi2.sf(q, r.shape[0])
    note = _constant_note(np.isnan(p))  # autocorrelation is NaN exactly for constant nodes
    defined = p[~np.isnan(p)]
    combined = float(stats.combine_pvalues(defined, method=combine).pvalue) if defined.size else float("nan")
    return (pd.DataFrame({"ljung_box_stat": q, "ljung_box_p": p, "ljung_box_note": note}),
            {"ljung_box_combined_p": combined, "ljung_box_combine": combine,
             "ljung_box_fraction_significant": _fraction(defined < alpha)})


def adf_test(spikes, window=100, on="windowed", alpha=0.05, min_length=20):
    """Augmented Dickey-Fuller unit-root test per node (statsmodels ``adfuller``, AIC lag choice).

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
        Fewer windows than this give NaN ("too few windows").

    Returns
    -------
    per_node : pandas.DataFrame
        ``adf_p`` (small p: stationary, unit root rejected) and ``adf_note``.
    summary : dict
        ``adf_series`` (which series) and ``adf_fraction_nonstationary``
        (fraction of defined nodes with p >= alpha).
    """
    from statsmodels.tsa.stattools import adfuller

    if on not in ("windowed", "cumulative"):
        raise ValueError(f"on must be 'windowed' or 'cumulative', got {on!r}")
    matrix = spike_matrix(spikes)
    counts = window_counts(matrix, check_window(window, matrix.shape[0])).astype(float)
    series = counts if on == "windowed" else np.cumsum(counts, axis=0)
    note = _constant_note((series == series[:1]).all(axis=0))
    if series.shape[0] < min_length:
        note[:] = f"too few windows ({series.shape[0]} < {min_length})"
    p = np.full(matrix.shape[1], np.nan)
    for j in np.flatnonzero(note == ""):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p[j] = float(adfuller(series[:, j], autolag="AIC")[1])
    defined = p[~np.isnan(p)]
    return (pd.DataFrame({"adf_p": p, "adf_note": note}),
            {"adf_series": f"{on} spike counts in windows of {int(window)} samples",
             "adf_fraction_nonstationary": _fraction(defined >= alpha)})


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


def diagnose(matrix, nodes: pd.DataFrame, *, window=100, alpha=0.05, lags=10, seed=None, n_surrogates=1000):
    """All per-node diagnostics and their network summaries (used by ``analyze(diagnostics=True)``).

    Parameters
    ----------
    matrix : ndarray of bool, shape (n_samples, n_nodes)
    nodes : pandas.DataFrame
        :func:`ann2neo.node_statistics` of ``matrix`` with the same ``window``.
    window : int, default 100
        Window in samples of the Fano factors and of the ADF count series.
    alpha : float, default 0.05
    lags : int, default 10
        Ljung-Box lags in samples.
    seed : int, optional
        Seed of the simulated Bernoulli test (unused by the default Gamma test).
    n_surrogates : int, default 1000

    Returns
    -------
    per_node : pandas.DataFrame, one row per node
        ``ff_p_poisson``, ``ff_significant_poisson``, ``ff_direction_poisson``, the same with
        ``_bernoulli`` (NaN/False/"" where the Fano factor is undefined or there is a
        single window), ``ljung_box_stat``, ``ljung_box_p``, ``ljung_box_note``, ``adf_p``,
        ``adf_note``.
    tests : dict
        ``ff_fraction_significant_{poisson,bernoulli}``, ``ff_fraction_below_{poisson,bernoulli}``
        (fractions of nodes with a defined Fano factor), ``ff_n_windows``,
        ``ljung_box_combined_p``, ``ljung_box_combine``, ``ljung_box_fraction_significant``,
        ``adf_series``, ``adf_fraction_nonstationary``.  Always all keys; NaN where undefined.
    """
    n_windows = int(nodes.attrs["n_windows"])
    ff, rate = nodes["fano_factor"].to_numpy(), nodes["firing_rate"].to_numpy()
    parts, tests = [], {}
    for null in ("poisson", "bernoulli"):
        if n_windows >= 2:
            t = fano_factor_test(ff, n_windows, null=null, rate=rate, window=window, alpha=alpha, seed=seed,
                                 n_surrogates=n_surrogates)
        else:  # one window: no Fano factor to test
            t = pd.DataFrame({"p_value": np.full(ff.shape, np.nan), "significant": False, "direction": ""})
        defined = ~np.isnan(t["p_value"].to_numpy())
        significant = t["significant"].to_numpy()[defined]
        below = (t["direction"] == "below").to_numpy()[defined] & significant
        tests[f"ff_fraction_significant_{null}"] = _fraction(significant)
        tests[f"ff_fraction_below_{null}"] = _fraction(below)
        parts.append(t.add_suffix(f"_{null}").rename(columns=lambda c: "ff_" + c.replace("_value", "")))
    tests["ff_n_windows"] = n_windows
    lb, lb_tests = ljung_box(matrix, lags=lags, alpha=alpha)
    adf, adf_tests = adf_test(matrix, window=window, alpha=alpha)
    per_node = pd.concat(parts + [lb, adf], axis=1)
    per_node.index = nodes.index
    return per_node, {**tests, **lb_tests, **adf_tests}
