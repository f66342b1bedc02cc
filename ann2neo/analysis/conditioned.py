"""Stimulus-conditioned statistics of single units: tuning, selectivity, sparseness, trial variability.

The same functions serve a network layer — trials are input samples, the
condition is the class label, each trial one sample long — and recorded
neurons — trials are repetitions, the condition an experimental variable.
Each takes an :class:`ann2neo.Recording` (or an ``(n_trials, n_units)``
response matrix with ``labels``), works on each unit's spike count per trial
(see :mod:`ann2neo.analysis._trials`), and states what it reduces to on the
binary one-sample trials of a thresholded layer, where the response of a unit
to a sample is 0 or 1 and its mean in a condition is a spike probability.

Controls (:func:`ann2neo.trial_surrogates`): shuffled condition labels give
the null of tuning and selectivity (``method="labels"``); each unit's trials
permuted independently within condition keep every tuning curve and destroy
trial-by-trial co-variation (``method="within"``).

References
----------
Fisher's one-way ANOVA (scipy.stats.f_oneway); Green & Swets (1966) for d';
Panzeri & Treves (1996), Network 7:87-107, for the bias of plug-in mutual
information; Benjamini & Hochberg (1995) for the false discovery rate;
Vinje & Gallant (2000), Science 287:1273-1276, and Rolls & Tovee (1995),
J Neurophysiol 73:713-726 (Treves-Rolls activity ratio) for sparseness;
Churchland et al. (2010), Nat Neurosci 13:369-378, for the across-trial Fano
factor.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..core.recording import Recording
from ..core.validation import check_integer, check_probability, check_random_state
from ._trials import bins_of, count_moments, responses

__all__ = ["Tuning", "tuning", "Selectivity", "selectivity", "Sparseness", "sparseness", "TrialFano",
           "trial_fano_factor", "Psth", "psth", "mutual_information"]


def _group_moments(x, index, n_conditions):
    """Per condition and unit: number of observed trials, mean, variance (ddof=1; NaN below 2 trials)."""
    n_units = x.shape[1]
    n = np.zeros((n_conditions, n_units), dtype=np.int64)
    mean = np.full((n_conditions, n_units), np.nan)
    var = np.full((n_conditions, n_units), np.nan)
    has_nan = x.dtype.kind == "f" and not np.isfinite(x).all()
    for c in range(n_conditions):
        xc = x[index == c].astype(np.float64)
        if has_nan:
            ok = np.isfinite(xc)
            n[c] = ok.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean[c] = np.where(n[c] > 0, np.nansum(xc, axis=0) / np.maximum(n[c], 1), np.nan)
                dev = np.where(ok, xc - mean[c], 0.0)
                var[c] = np.where(n[c] > 1, (dev ** 2).sum(axis=0) / np.maximum(n[c] - 1, 1), np.nan)
        else:
            n[c] = xc.shape[0]
            if xc.shape[0]:
                mean[c] = xc.mean(axis=0)
            if xc.shape[0] > 1:
                var[c] = xc.var(axis=0, ddof=1)
    return n, mean, var


# -- tuning ---------------------------------------------------------------------------------------------------------
@dataclass
class Tuning:
    """Tuning curves: the rate of each unit in each condition, with its standard error.

    Attributes
    ----------
    conditions : ndarray (n_conditions,)
    units : list of str (n_units)
    rate : ndarray of float64 (n_units, n_conditions)
        Mean rate over the condition's trials, in ``rate_unit``.
    sem : ndarray of float64 (n_units, n_conditions)
        Standard error of that mean (SD with ddof=1 over sqrt(n)); NaN below 2 trials.
    n_trials : ndarray of int64 (n_units, n_conditions)
        Trials in which the unit was observed.
    rate_unit : str
        ``"1/sample"`` (a spike probability per sample for a network layer),
        ``"Hz"`` (recorded neurons), or ``"1/trial"`` (mean count per trial,
        for a plain matrix).
    """

    conditions: np.ndarray
    units: list
    rate: np.ndarray
    sem: np.ndarray
    n_trials: np.ndarray
    rate_unit: str

    def preferred(self) -> np.ndarray:
        """The condition of highest rate per unit (NaN-rates ignored; ties: the first)."""
        filled = np.where(np.isfinite(self.rate), self.rate, -np.inf)
        return self.conditions[np.argmax(filled, axis=1)]

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per unit and condition (columns unit, condition, rate, sem, n_trials)."""
        n_u, n_c = self.rate.shape
        return pd.DataFrame({"unit": np.repeat(self.units, n_c), "condition": np.tile(self.conditions, n_u),
                             "rate": self.rate.ravel(), "sem": self.sem.ravel(), "n_trials": self.n_trials.ravel()})


def tuning(data, labels=None, *, condition=None) -> Tuning:
    r"""The rate of each unit per condition, with its standard error: the tuning curve.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_trials, n_units)
        A Recording (its spike count per trial and unit is the response), or
        responses (counts or rates) per trial and unit.
    labels : array_like (n_trials,), optional
        The condition of each trial; default: the Recording's condition.
    condition : str, optional
        A column of the Recording's trials table to condition on.

    Returns
    -------
    Tuning
        ``rate`` and ``sem`` of shape (n_units, n_conditions), conditions sorted.

    Raises
    ------
    TypeError
        For data that is neither a Recording nor a numeric matrix.
    ValueError
        Without condition labels, or for a malformed matrix.

    Notes
    -----
    The rate is the mean count over the condition's trials divided by the trial
    length (a unit not observed in a trial leaves that trial out).  On binary
    one-sample trials the rate is the unit's spike probability in the class,
    :math:`\hat p_c`, and its standard error is
    :math:`\sqrt{\hat p_c (1 - \hat p_c) / (n_c - 1)}`.

    Examples
    --------
    >>> import numpy as np, ann2neo
    >>> m = np.array([[1, 0], [1, 0], [0, 1], [1, 1]], bool)
    >>> t = ann2neo.tuning(ann2neo.Recording.from_matrix(m, labels=[0, 0, 1, 1]))
    >>> t.rate, t.rate_unit
    (array([[1. , 0.5],
           [0. , 1. ]]), '1/sample')
    """
    r = responses(data, labels, condition=condition, what="tuning")
    r.need_labels("tuning", min_conditions=1)
    x = r.rates()
    n, mean, var = _group_moments(x, r.index, len(r.conditions))
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = np.sqrt(var / n)
    return Tuning(r.conditions, r.units, mean.T, sem.T, n.T, r.rate_unit)


# -- selectivity ------------------------------------------------------------------------------------------------------
def _joint_table(x, index, n_conditions):
    """Counts T[v, c, u] of response value v in condition c for unit u (responses: non-negative integers)."""
    x = np.asarray(x)
    n_values = int(x.max(initial=0)) + 1
    n_trials, n_units = x.shape
    if n_values <= 64:
        table = np.empty((n_values, n_conditions, n_units), dtype=np.int64)
        for c in range(n_conditions):
            xc = x[index == c]
            for v in range(n_values):
                table[v, c] = np.count_nonzero(xc == v, axis=0)
        return table
    table = np.zeros((n_values, n_conditions, n_units), dtype=np.int64)
    for u in range(n_units):
        flat = np.bincount(x[:, u].astype(np.int64) * n_conditions + index, minlength=n_values * n_conditions)
        table[:, :, u] = flat.reshape(n_values, n_conditions)
    return table


def _mi_from_table(table):
    """Plug-in mutual information (bits) per unit and the Panzeri-Treves bias estimate, from T[v, c, u]."""
    n = table.sum(axis=(0, 1)).astype(np.float64)
    p_joint = table / n
    p_r = p_joint.sum(axis=1, keepdims=True)
    p_c = p_joint.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(table > 0, p_joint * np.log2(p_joint / (p_r * p_c)), 0.0)
    mi = terms.sum(axis=(0, 1))
    r_c = (table > 0).sum(axis=0)                      # response values seen per condition (c, u)
    r_all = (table.sum(axis=1) > 0).sum(axis=0)        # response values seen overall (u,)
    bias = ((r_c - 1).clip(min=0).sum(axis=0) - (r_all - 1)) / (2 * n * np.log(2))
    return mi, bias


def mutual_information(data, labels=None, *, condition=None, correction="panzeri-treves", n_shuffles=20, seed=None):
    r"""Mutual information between each unit's spike count and the condition, in bits, bias-corrected.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like of int (n_trials, n_units)
        Spike counts per trial (a rate matrix is refused: MI needs discrete responses).
    labels : array_like (n_trials,), optional
        The condition of each trial, as in :func:`tuning`.
    condition : str, optional
        A column of the Recording's trials table, as in :func:`tuning`.
    correction : {"panzeri-treves", "shuffle", None}
        ``"panzeri-treves"``: subtract the first-order bias
        :math:`[\sum_c (R_c - 1) - (R - 1)] / (2 N \ln 2)` with :math:`R_c`
        the number of response values seen in condition c and :math:`R`
        overall (Panzeri & Treves 1996, "naive" bin count).  ``"shuffle"``:
        subtract the mean plug-in MI over ``n_shuffles`` label shuffles.
        None: the plug-in estimate.
    n_shuffles : int, default 20
        For ``correction="shuffle"``.
    seed : None, int or numpy.random.Generator, optional
        Seed of the label shuffles (``correction="shuffle"``).

    Returns
    -------
    mi : ndarray of float64 (n_units,)
        Corrected MI in bits (can be slightly negative: an unbiased estimate of 0).
    plugin : ndarray of float64 (n_units,)
        The plug-in (maximum-likelihood) estimate, biased upwards.
    bias : ndarray of float64 (n_units,)
        The subtracted bias.

    Raises
    ------
    ValueError
        For non-integer responses, missing labels, or an unknown correction.

    Notes
    -----
    The plug-in estimate is biased upwards by about (number of response values
    x conditions) / (2 N ln 2) bits: with few trials per condition (fewer than
    a few times the number of distinct counts) even the corrected value is
    unreliable.  On binary one-sample trials the response has two values and
    the MI is at most the entropy of the spike probability, H(p) <= 1 bit.
    The plug-in value equals ``sklearn.metrics.mutual_info_score`` / ln 2.

    Examples
    --------
    >>> x = np.array([[0], [0], [1], [1]])
    >>> mi, plugin, bias = mutual_information(x, [0, 0, 1, 1], correction=None)
    >>> float(plugin[0])
    1.0
    """
    if correction not in ("panzeri-treves", "shuffle", None):
        raise ValueError(f"correction must be 'panzeri-treves', 'shuffle' or None, got {correction!r}")
    r = responses(data, labels, condition=condition, what="mutual_information")
    r.need_labels("mutual information")
    x = r.values
    if x.dtype.kind == "f":
        raise ValueError("mutual information needs spike counts (integers); these responses are rates "
                         "(units observed for different times): select trials of one length first")
    table = _joint_table(x, r.index, len(r.conditions))
    plugin, pt_bias = _mi_from_table(table)
    if correction is None:
        bias = np.zeros_like(plugin)
    elif correction == "panzeri-treves":
        bias = pt_bias
    else:
        n_shuffles = check_integer(n_shuffles, "n_shuffles", min_value=1)
        rng = check_random_state(seed)
        bias = np.zeros_like(plugin)
        for _ in range(n_shuffles):
            bias += _mi_from_table(_joint_table(x, rng.permutation(r.index), len(r.conditions)))[0]
        bias /= n_shuffles
    return plugin - bias, plugin, bias


@dataclass
class Selectivity:
    r"""Selectivity of each unit for the condition, and the fraction selective after FDR correction.

    Attributes
    ----------
    table : pandas.DataFrame, one row per unit (index: unit name)
        Columns ``F``, ``p`` (one-way ANOVA), ``eta2`` (:math:`\eta^2`,
        between-condition share of the variance), ``d_prime`` (two conditions
        only, else NaN), ``mi_bits`` (bias-corrected), ``mi_plugin_bits``,
        ``p_fdr`` (Benjamini-Hochberg adjusted), ``selective`` (bool).
    fraction_selective : float
        Selective units / all units (undefined units count as not selective).
    n_tested : int
        Units with a defined ANOVA (the family of the FDR correction).
    alpha : float
    notes : list of str
        What is undefined or biased at this size.
    """

    table: pd.DataFrame
    fraction_selective: float
    n_tested: int
    alpha: float
    notes: list = field(default_factory=list)


def selectivity(data, labels=None, *, condition=None, alpha=0.05, mi_correction="panzeri-treves", n_shuffles=20,
                seed=None) -> Selectivity:
    r"""One-way ANOVA F, eta squared, d', mutual information, and the fraction of selective units (FDR).

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_trials, n_units)
    labels : array_like (n_trials,), optional
        The condition of each trial, as in :func:`tuning`; at least two conditions.
    condition : str, optional
        A column of the Recording's trials table, as in :func:`tuning`.
    alpha : float, default 0.05
        False discovery rate of the Benjamini-Hochberg correction
        (``statsmodels.stats.multitest.multipletests(method="fdr_bh")``).
    mi_correction : {"panzeri-treves", "shuffle", None}, default "panzeri-treves"
        The ``correction`` of :func:`mutual_information`.
    n_shuffles : int, default 20
        As in :func:`mutual_information`.
    seed : None, int or numpy.random.Generator, optional
        As in :func:`mutual_information`.

    Returns
    -------
    Selectivity

    Raises
    ------
    ValueError
        With fewer than two conditions, or a condition without trials.

    Notes
    -----
    Per unit, with :math:`n_c`, :math:`m_c`, :math:`s_c^2` the trials, mean
    and variance (ddof=1) of condition c: :math:`SS_B = \sum_c n_c (m_c -
    m)^2`, :math:`SS_W = \sum_c (n_c - 1) s_c^2`, :math:`F = [SS_B / (k - 1)]
    / [SS_W / (N - k)]` (as ``scipy.stats.f_oneway``), :math:`\eta^2 = SS_B /
    (SS_B + SS_W)`, and for two conditions :math:`d' = (m_2 - m_1) /
    \sqrt{(s_1^2 + s_2^2) / 2}` (second condition in sorted order minus the
    first).  A unit constant in every trial has F, p, eta2 and d' undefined
    (NaN); a unit constant within each condition but not across has F = inf,
    p = 0.  On binary one-sample trials :math:`\eta^2 = \chi^2 / N`, the
    chi-square of the unit's spike x class contingency table over the number
    of samples, and the ANOVA is its large-sample equivalent; d' is then the
    difference of two spike probabilities over their pooled Bernoulli SD.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lab = np.repeat([0, 1], 50)
    >>> x = np.stack([rng.poisson(np.where(lab == 1, 8, 2)), rng.poisson(4, 100)], axis=1)
    >>> s = selectivity(x, lab)
    >>> s.table["selective"].tolist(), s.fraction_selective
    ([True, False], 0.5)
    """
    from statsmodels.stats.multitest import multipletests

    alpha = check_probability(alpha, "alpha")
    r = responses(data, labels, condition=condition, what="selectivity")
    r.need_labels("selectivity", min_conditions=2)
    x = r.rates()
    k_all = len(r.conditions)
    n, mean, var = _group_moments(x, r.index, k_all)
    notes = []
    present = n > 0
    k = present.sum(axis=0)
    n_tot = n.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = np.nansum(np.where(present, n * mean, 0.0), axis=0) / n_tot
        ssb = np.nansum(np.where(present, n * (mean - grand) ** 2, 0.0), axis=0)
        ssw = np.nansum(np.where(n > 1, (n - 1) * var, 0.0), axis=0)
        df_b, df_w = k - 1, n_tot - k
        f_stat = (ssb / df_b) / (ssw / df_w)
        f_stat = np.where((ssw == 0) & (ssb > 0), np.inf, f_stat)
        f_stat = np.where((ssw == 0) & (ssb == 0), np.nan, f_stat)
        f_stat = np.where((df_b < 1) | (df_w < 1), np.nan, f_stat)
        p = np.where(np.isnan(f_stat), np.nan, stats.f.sf(f_stat, df_b, df_w))
        eta2 = np.where(np.isnan(f_stat), np.nan, ssb / (ssb + ssw))
    if k_all == 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = np.sqrt((var[0] + var[1]) / 2)
            d_prime = (mean[1] - mean[0]) / pooled
            d_prime = np.where((pooled == 0) & (mean[1] == mean[0]), np.nan, d_prime)
    else:
        d_prime = np.full(r.n_units, np.nan)
    constant = np.isnan(f_stat)
    if constant.any():
        notes.append(f"{int(constant.sum())} of {r.n_units} units are constant over all trials (e.g. silent) or "
                     "have too few trials: F, p, eta2 and d' undefined (NaN), not selective")
    if (n[present] < 2).any():
        notes.append("some conditions have fewer than 2 trials for some units: their variance is undefined")
    if r.values.dtype.kind in "iub":
        mi, plugin, _ = mutual_information(r.values.view(np.uint8) if r.values.dtype == bool else r.values,
                                           r.labels, correction=mi_correction, n_shuffles=n_shuffles, seed=seed)
        n_values = int(np.asarray(r.values).max(initial=0)) + 1
        if n_tot.min() < 4 * n_values * k_all:
            notes.append(f"MI bias: {int(n_tot.min())} trials for up to {n_values} response values x {k_all} "
                         f"conditions; the plug-in MI is biased upwards by about (values x conditions)/(2N ln 2) "
                         f"bits and the {mi_correction or 'uncorrected'} estimate is unreliable below ~4 trials "
                         "per value and condition")
    else:
        mi = plugin = np.full(r.n_units, np.nan)
        notes.append("MI undefined: the responses are rates of units observed for different times, not counts")
    tested = np.isfinite(p)
    p_fdr = np.full(r.n_units, np.nan)
    selective = np.zeros(r.n_units, dtype=bool)
    if tested.any():
        rej, adj, _, _ = multipletests(p[tested], alpha=alpha, method="fdr_bh")
        p_fdr[tested], selective[tested] = adj, rej
    table = pd.DataFrame({"F": f_stat, "p": p, "eta2": eta2, "d_prime": d_prime, "mi_bits": mi,
                          "mi_plugin_bits": plugin, "p_fdr": p_fdr, "selective": selective},
                         index=pd.Index(r.units, name="unit"))
    return Selectivity(table, float(selective.mean()), int(tested.sum()), alpha, notes)


# -- sparseness -------------------------------------------------------------------------------------------------------
def _sparseness(r, axis):
    """Vinje-Gallant sparseness of non-negative responses along ``axis``; NaN where all are zero (or n < 2)."""
    n = r.shape[axis]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = r.mean(axis=axis) ** 2 / (r ** 2).mean(axis=axis)
        s = (1 - a) / (1 - 1 / n) if n > 1 else np.full(a.shape, np.nan)
    return s, a


@dataclass
class Sparseness:
    r"""Lifetime sparseness per unit and population sparseness per condition (or trial).

    Attributes
    ----------
    lifetime : ndarray of float64 (n_units,)
        0 for a unit responding equally to all, 1 for one responding to one only.
    population : ndarray of float64 (n_conditions,) or (n_trials,)
    activity_ratio : ndarray of float64 (n_units,)
        Treves-Rolls :math:`a = \langle r \rangle^2 / \langle r^2 \rangle` behind ``lifetime``.
    over : {"conditions", "trials"}
    labels : ndarray
        The conditions (or trial indices) of ``population``.
    notes : list of str
    """

    lifetime: np.ndarray
    population: np.ndarray
    activity_ratio: np.ndarray
    over: str
    labels: np.ndarray
    notes: list = field(default_factory=list)


def sparseness(data, labels=None, *, condition=None, over="conditions") -> Sparseness:
    r"""Lifetime and population sparseness (Vinje & Gallant 2000) from the Treves-Rolls activity ratio.

    Parameters
    ----------
    data : ann2neo.Recording, or array_like (n_trials, n_units)
    labels : array_like (n_trials,), optional
        The condition of each trial, as in :func:`tuning`; needed for ``over="conditions"``.
    condition : str, optional
        A column of the Recording's trials table, as in :func:`tuning`.
    over : {"conditions", "trials"}, default "conditions"
        ``"conditions"``: lifetime sparseness of each unit's tuning curve (its
        mean rate per condition), population sparseness of the mean population
        response to each condition.  ``"trials"``: over single trials.

    Returns
    -------
    Sparseness

    Raises
    ------
    ValueError
        For an unknown ``over``, or ``over="conditions"`` without labels.

    Notes
    -----
    With responses :math:`r_1 .. r_n`: :math:`a = (\sum r_i / n)^2 / (\sum
    r_i^2 / n)` and :math:`S = (1 - a) / (1 - 1/n)`.  A unit (or trial) with
    all responses zero has S undefined (NaN).  **On binary one-sample trials
    and** ``over="trials"`` these restate the rate: a unit's :math:`a` is its
    spike probability p, so :math:`S = (1 - p)/(1 - 1/n)`; a trial's
    population sparseness is :math:`(1 - q)/(1 - 1/N)` with q the fraction of
    units active.  Only ``over="conditions"`` (the tuning curves) carries
    information beyond the rate.

    Examples
    --------
    >>> x = np.array([[1, 1], [0, 1], [0, 1], [0, 1]])
    >>> s = sparseness(x, [0, 1, 2, 3])
    >>> s.lifetime
    array([1., 0.])
    """
    if over not in ("conditions", "trials"):
        raise ValueError(f"over must be 'conditions' or 'trials', got {over!r}")
    r = responses(data, labels, condition=condition, what="sparseness")
    notes = []
    if over == "conditions":
        r.need_labels("sparseness over conditions", min_conditions=2)
        _, mean, _ = _group_moments(r.rates(), r.index, len(r.conditions))
        resp, pop_labels = mean, r.conditions                       # (n_conditions, n_units)
    else:
        r.need_finite("sparseness over trials")
        resp, pop_labels = r.rates(), np.arange(r.n_trials)
        if r.binary:
            notes.append("binary one-sample trials: lifetime sparseness over trials is (1 - p)/(1 - 1/n) with p "
                         "the unit's spike probability, and population sparseness is (1 - q)/(1 - 1/N) with q the "
                         "fraction of units active: both restate the rate")
    lifetime, a = _sparseness(resp, axis=0)
    population, _ = _sparseness(resp, axis=1)
    silent = ~np.isfinite(lifetime)
    if silent.any():
        notes.append(f"{int(silent.sum())} units never respond: lifetime sparseness undefined (NaN)")
    if (~np.isfinite(population)).any():
        notes.append(f"{int((~np.isfinite(population)).sum())} {over} without any response: population "
                     "sparseness undefined (NaN)")
    return Sparseness(lifetime, population, a, over, pop_labels, notes)


# -- trial-resolved: across-trial Fano factor and PSTH ----------------------------------------------------------------
def _binned_trials(data, bin_width, labels, condition, what):
    """Counts (n_trials, n_units, n_bins), condition index, conditions, bin width (time unit), unit names, unit."""
    if isinstance(data, Recording):
        if bin_width is None and not data.is_binned:
            raise ValueError(f"{what} of spike times needs bin_width (e.g. 50 * pq.ms)")
        width = data.bin_width if bin_width is None else bins_of(bin_width, data, "bin_width", whole=False)
        counts = data.counts(bin_width)
        r = responses(data, labels, condition=condition, what=what)
        return counts, r, width, data.unit_name
    if bin_width is not None:
        raise ValueError("bin_width needs a Recording; a (n_trials, n_units) matrix is one bin per trial")
    r = responses(data, labels, condition=condition, what=what)
    if r.values.dtype.kind == "f" and (r.values != np.round(r.values)).any():
        raise ValueError(f"{what} needs spike counts, got non-integer responses")
    return np.asarray(r.values)[:, :, None], r, 1.0, "trial"


@dataclass
class TrialFano:
    """Across-trial Fano factor per condition, unit and time bin.

    Attributes
    ----------
    fano : ndarray of float64 (n_conditions, n_units, n_bins)
        Variance over the condition's trials of the bin's spike count / its mean; NaN where the mean is 0.
    mean, variance : ndarray of float64 (n_conditions, n_units, n_bins)
        Mean and variance (``ddof``) of the counts.
    n_trials : ndarray of int64 (n_conditions,)
    conditions : ndarray
    bin_width : float
        In ``time_unit``.
    time_unit : str
    """

    fano: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    n_trials: np.ndarray
    conditions: np.ndarray
    bin_width: float
    time_unit: str


def trial_fano_factor(data, bin_width=None, *, labels=None, condition=None, ddof=0) -> TrialFano:
    r"""The Fano factor across trials of one condition, per unit and time bin (Churchland et al. 2010).

    Parameters
    ----------
    data : ann2neo.Recording, or array_like of int (n_trials, n_units)
        A matrix is one bin per trial (e.g. a layer's spike matrix).
    bin_width : float or quantity, optional
        Counting window, a whole multiple of the recording's bins (default: its
        own bins).  In the recording's time base: a physical time for recorded
        neurons, samples for a network layer (``5 * pq.ms`` raises UnitError).
    labels : array_like (n_trials,), optional
        The condition of each trial, as in :func:`tuning`; without conditions
        all trials form one.
    condition : str, optional
        A column of the Recording's trials table, as in :func:`tuning`.
    ddof : int, default 0
        0 matches ``elephant.statistics.fanofactor`` over the trials' spike
        trains in the bin; 1 gives the unbiased variance.

    Returns
    -------
    TrialFano

    Raises
    ------
    ValueError
        For spike times without ``bin_width``, or trials of different lengths.
    ann2neo.UnitError
        For a ``bin_width`` in the wrong time base.

    Notes
    -----
    Unlike the windowed Fano factor of one long train
    (:func:`ann2neo.fano_factor`), this measures trial-to-trial variability
    of the response to the same condition, independent of the trial order.
    On binary one-sample trials the count is 0 or 1 and the Fano factor of a
    class is :math:`1 - \hat p_c` (ddof=0): the Bernoulli value, fixed by the
    unit's spike probability in the class.  Churchland's mean-matching across
    conditions is not applied.

    Examples
    --------
    >>> x = np.array([[1, 0], [0, 0], [1, 1], [1, 1]])
    >>> trial_fano_factor(x, labels=[0, 0, 1, 1]).fano[:, :, 0]
    array([[0.5, nan],
           [0. , 0. ]])
    """
    counts, r, width, unit = _binned_trials(data, bin_width, labels, condition, "the across-trial Fano factor")
    index = r.index if r.index is not None else np.zeros(r.n_trials, np.int64)
    conditions = r.conditions if r.conditions is not None else np.array([None])
    ddof = check_integer(ddof, "ddof", min_value=0)
    m = count_moments(counts, index, len(conditions))
    mean = np.where((m.n > ddof).reshape(-1, 1, 1), m.mean(), np.nan)
    return TrialFano(m.fano(ddof, min_trials=ddof + 1), mean, m.variance(ddof), m.n, conditions, width, unit)


@dataclass
class Psth:
    """Peri-stimulus time histogram per condition: the trial-averaged rate in each bin.

    Attributes
    ----------
    rate, sem : ndarray of float64 (n_conditions, n_units, n_bins)
        Mean count over the condition's trials / bin width, in ``rate_unit``; its standard error (ddof=1).
    bin_starts : ndarray of float64 (n_bins,)
        Left edges relative to each trial's ``t_start``.
    n_trials : ndarray of int64 (n_conditions,)
    conditions : ndarray
    bin_width : float
        In ``time_unit``.
    time_unit : str
    rate_unit : str
        ``"Hz"`` for recorded neurons, ``"1/sample"`` for a network layer.
    """

    rate: np.ndarray
    sem: np.ndarray
    bin_starts: np.ndarray
    n_trials: np.ndarray
    conditions: np.ndarray
    bin_width: float
    time_unit: str
    rate_unit: str


def psth(data, bin_width=None, *, labels=None, condition=None) -> Psth:
    """The trial-averaged rate per condition, unit and bin (the PSTH), with its standard error.

    Parameters
    ----------
    data : ann2neo.Recording
        Trials with time bins (or spike times with ``bin_width``).
    bin_width : float or quantity, optional
        As in :func:`trial_fano_factor`.
    labels : array_like (n_trials,), optional
        The condition of each trial, as in :func:`tuning`; without conditions
        all trials form one.
    condition : str, optional
        A column of the Recording's trials table, as in :func:`tuning`.

    Returns
    -------
    Psth
        Equal to ``elephant.statistics.time_histogram(trains, bin_size, output="rate")``
        over the condition's trials of a unit.

    Raises
    ------
    TypeError
        For data that is not a Recording.

    Notes
    -----
    On one-sample trials of a network layer the PSTH has one bin and equals
    :func:`tuning`'s rate: the spike probability per class.

    Examples
    --------
    >>> import quantities as pq, ann2neo
    >>> b = np.array([[1, 0, 1, 1], [0, 0, 1, 1]], bool)
    >>> rec = ann2neo.Recording.from_binned(b, 1 * pq.ms)
    >>> h = ann2neo.psth(rec, 2 * pq.ms)
    >>> h.rate[0, 0], h.rate_unit
    (array([ 250., 1000.]), 'Hz')
    """
    if not isinstance(data, Recording):
        raise TypeError(f"psth needs an ann2neo.Recording with time bins, got {type(data).__name__}")
    counts, r, width, unit = _binned_trials(data, bin_width, labels, condition, "the PSTH")
    index = r.index if r.index is not None else np.zeros(r.n_trials, np.int64)
    conditions = r.conditions if r.conditions is not None else np.array([None])
    rate, sem, n = _psth_arrays(counts, index, len(conditions), width * (r.seconds or 1.0))
    return Psth(rate, sem, np.arange(counts.shape[2]) * width, n, conditions, width, unit, r.rate_unit)


def _psth_arrays(counts, index, n_conditions, per):
    """Rate, its standard error (n_conditions, n_units, n_bins) and trials per condition, from counts per bin.

    ``counts`` (n_trials, n_units, n_bins), ``index`` the condition of each
    trial (None: one condition), ``per`` the bin width in seconds (or
    samples).  Shared by :func:`psth` and :func:`ann2neo.trial_statistics`.
    """
    m = count_moments(counts, index, n_conditions)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = np.sqrt(m.variance(1) / m.n.reshape(-1, 1, 1)) / per
    return m.mean() / per, sem, m.n
