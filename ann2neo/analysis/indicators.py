"""Candidate memorization indicators of one layer on a probe of training samples (no held-out data).

One function, :func:`memorization_indicators`, turns a layer's spikes on a
fixed probe of *training* samples, with the labels the network is trained on
(possibly noisy), into the scalar statistics that the memorization study
(:mod:`ann2neo.experiments.memorization`) follows during training and that
:class:`ann2neo.keras.FiringRateMonitor` watches online.  Each is computed by
the package's public statistic of the same name, so the study, the monitor
and a user's own analysis give the same number:

========================  =====================================================================================
``mfr``                   Mean firing rate (spikes/sample) over units and probe samples (paper section 3.3.3).
``dispersion``            Mean over units of F / E[F | K] in windows of the probe in its given order
                          (:func:`~ann2neo.analysis.statistics.node_statistics`); 1 for independent spiking.
                          It measures structure *along the probe order*: on a probe sorted by class it measures
                          between-class variability, on a shuffled probe it is 1 by construction.
``fraction_selective``    Units whose rate differs between the labels (one-way ANOVA, Benjamini-Hochberg FDR
                          at ``alpha``) over all units (:func:`~ann2neo.analysis.conditioned.selectivity`).
``median_eta2``           Median over defined units of eta squared, the label's share of each unit's variance.
``noise_corr_sd``         SD over pairs of the noise correlations (residuals after each label's mean;
                          :func:`~ann2neo.analysis.population.correlations` with ``kind="noise"``).
``participation_ratio``   Participation ratio of the covariance of the responses
                          (:func:`~ann2neo.analysis.population.participation_ratio`).
``pr_fraction``           ``participation_ratio / n_units``, comparable across layer widths.
``one_class_fraction``    Units firing on at least ``min_spikes`` probe samples, all of one label, over all units.
``dead_fraction``         Units that never fire on the probe, over all units.
========================  =====================================================================================

A statistic that is undefined on this probe (e.g. correlations with fewer
than two units that fire) is NaN, and ``notes`` says why.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..core.validation import check_integer, check_probability

__all__ = ["INDICATORS", "memorization_indicators"]

#: The indicators :func:`memorization_indicators` returns, in a fixed order.
INDICATORS = ("mfr", "dispersion", "fraction_selective", "median_eta2", "noise_corr_sd", "participation_ratio",
              "pr_fraction", "one_class_fraction", "dead_fraction")


def _spike_matrix(spikes):
    x = np.asarray(spikes)
    if x.ndim != 2:
        raise ValueError(f"spikes must be a 2-D matrix (n_samples, n_units); got shape {x.shape}")
    if x.dtype != bool:
        if x.dtype.kind not in "biuf" or not np.isin(x, (0, 1)).all():
            raise ValueError("spikes must be a boolean (or 0/1) matrix: threshold the activations first, "
                             "e.g. ann2neo.binarize(activations)")
        x = x.astype(bool)
    return x


def _one_class_fraction(x, labels, min_spikes):
    counts = x.sum(axis=0)
    classes = np.unique(labels)
    per_class = np.stack([x[labels == c].sum(axis=0) for c in classes])  # (n_classes, n_units)
    one = (counts >= min_spikes) & ((per_class > 0).sum(axis=0) == 1)
    return float(one.mean())


def memorization_indicators(spikes, labels, *, window=None, alpha=0.05, min_spikes=2, notes=None) -> dict:
    """Candidate memorization indicators of one layer on a probe of training samples.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_units)
        The layer's spikes (activation > threshold) on the probe, one row per
        probe sample, in the probe's order.
    labels : array_like (n_samples,)
        The label of each probe sample *as trained on* (noisy labels stay
        noisy: the indicators use no held-out data and no clean labels).
    window : int, optional
        Window of the Fano factor behind ``dispersion``, in samples; default
        ``n_samples // 10`` (at least 2).
    alpha : float, default 0.05
        False discovery rate of ``fraction_selective``.
    min_spikes : int, default 2
        A unit counts towards ``one_class_fraction`` only if it fires on at
        least this many probe samples.
    notes : list, optional
        If given, why a statistic is NaN is appended to it.

    Returns
    -------
    dict of str to float
        The :data:`INDICATORS`, in that order, plus ``n_units`` and ``n_samples``.

    Raises
    ------
    ValueError
        If ``spikes`` is not a 2-D binary matrix, ``labels`` has another
        length, or the probe has fewer than two labels or four samples.

    Notes
    -----
    The indicators are the paper's MFR (arXiv:2308.00858, section 3.3.3) and
    the population statistics of :mod:`ann2neo.analysis.conditioned` and
    :mod:`ann2neo.analysis.population`, evaluated on training samples only,
    as the authors' follow-up on ReLU activation rates as memorization
    indicators proposes.  Whether any of them detects memorization is an
    empirical question, answered by :mod:`ann2neo.experiments.memorization`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 100)
    >>> spikes = rng.random((200, 30)) < np.where(labels[:, None] == 1, 0.6, 0.2)
    >>> ind = memorization_indicators(spikes, labels)
    >>> round(ind["mfr"], 2), ind["fraction_selective"], ind["dead_fraction"]
    (0.41, 1.0, 0.0)
    """
    from .conditioned import selectivity
    from .population import correlations, participation_ratio
    from .statistics import SmallSampleWarning, node_statistics

    x = _spike_matrix(spikes)
    labels = np.asarray(labels)
    n, n_units = x.shape
    if labels.shape != (n,):
        raise ValueError(f"labels must have one entry per probe sample ({n}); got shape {labels.shape}")
    if n < 4 or n_units < 1:
        raise ValueError(f"the probe needs at least 4 samples and 1 unit; got {n} x {n_units}")
    if np.unique(labels).size < 2:
        raise ValueError("the probe needs samples of at least two labels (selectivity and noise correlations "
                         "compare labels)")
    alpha = check_probability(alpha, "alpha")
    min_spikes = check_integer(min_spikes, "min_spikes", min_value=1)
    window = max(2, n // 10) if window is None else check_integer(window, "window", min_value=1, max_value=n)
    notes = [] if notes is None else notes
    out = {"mfr": float(x.mean())}
    firing = x.any(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (RuntimeWarning, SmallSampleWarning))
        disp = node_statistics(x, window)["dispersion"].to_numpy(float)
        out["dispersion"] = float(np.nanmean(disp)) if np.isfinite(disp).any() else np.nan
        sel = selectivity(x, labels, alpha=alpha, mi_correction=None, n_shuffles=0)
        out["fraction_selective"] = sel.fraction_selective
        eta2 = sel.table["eta2"].to_numpy(float)
        out["median_eta2"] = float(np.nanmedian(eta2)) if np.isfinite(eta2).any() else np.nan
        if firing.sum() >= 2:
            out["noise_corr_sd"] = correlations(x, labels, kind="noise").sd
            pr = participation_ratio(x, n_shuffles=0).value
        else:
            out["noise_corr_sd"] = pr = np.nan
            notes.append("fewer than two units fire on the probe: noise correlations and the participation "
                         "ratio are undefined (NaN)")
    if not np.isfinite(out["dispersion"]):
        notes.append("no unit has a defined Fano factor on the probe (silent or always firing): dispersion NaN")
    out["participation_ratio"] = float(pr)
    out["pr_fraction"] = float(pr) / n_units
    out["one_class_fraction"] = _one_class_fraction(x, labels, min_spikes)
    out["dead_fraction"] = float(1.0 - firing.mean())
    out = {k: float(out[k]) for k in INDICATORS}
    out["n_units"], out["n_samples"] = n_units, n
    return out
