"""Threshold sensitivity: how the statistics move with the spike threshold.

arXiv:2308.00858 binarizes at activation > 0 and names the choice as a
limitation (section 5).  :func:`threshold_sweep` recomputes the network
statistics over a sweep of thresholds from one set of float activations (a
probe subset recorded once with :func:`ann2neo.keras.record_activations`),
under three rules:

* ``"absolute"`` — one threshold for every node (the paper's rule at 0);
* ``"quantile"`` — node ``j`` spikes above the q-quantile of its own
  activations on the probe (a per-node threshold; ties, such as the exact
  zeros of a ReLU, make the rate at most ``1 - q``);
* ``"fraction_of_max"`` — node ``j`` spikes above ``f`` times its largest
  activation on the probe (nodes whose maximum is <= 0 never spike).

Thresholds are applied exactly to the stored float values (see
:func:`ann2neo.core.binarize.threshold_for_dtype`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.binarize import SpikeMatrix, binarize, unit_thresholds
from ..core.validation import check_option, check_real, check_real_array
from .statistics import network_summary, node_statistics

__all__ = ["threshold_sweep", "RULES"]

RULES = ("absolute", "quantile", "fraction_of_max")


def _per_node(activations, rule, value):
    """Per-node thresholds (float64) of one rule and parameter (:func:`ann2neo.core.binarize.unit_thresholds`)."""
    return unit_thresholds(activations, (rule, value))


def threshold_sweep(activations, *, thresholds=(-0.5, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0),
                    quantiles=(0.1, 0.25, 0.5, 0.75, 0.9), fractions=(0.05, 0.1, 0.25, 0.5, 0.75),
                    window=100) -> pd.DataFrame:
    """Network statistics of one layer over a sweep of spike thresholds.

    Parameters
    ----------
    activations : array_like of float, shape (n_samples, n_nodes) or (n_samples, ``*layer_shape``)
        Float activations of the layer on a probe set, in the order fed.
    thresholds : sequence of float
        Absolute thresholds (rule ``"absolute"``); empty to skip.
    quantiles : sequence of float in [0, 1]
        Per-node quantiles (rule ``"quantile"``); empty to skip.
    fractions : sequence of float in [0, 1]
        Fractions of each node's maximum (rule ``"fraction_of_max"``); empty to skip.
    window : int, default 100
        Fano-factor window in samples.

    Returns
    -------
    pandas.DataFrame
        One row per rule and parameter: ``rule``, ``parameter``, then the keys
        of :func:`ann2neo.network_summary` (``mfr`` in spikes/sample, ``mf``,
        ``cv_fr``, ``cv_ff`` in %, ``mean_dispersion``, ``n_silent``, ...).
        Rows at the paper's setting (absolute 0) are the numbers
        :func:`ann2neo.analyze` gives on ``binarize(activations)``.

    Raises
    ------
    TypeError
        For activations that are not real numbers.
    ValueError
        For non-finite activations, quantiles or fractions outside [0, 1], or a
        window longer than the probe.

    Examples
    --------
    >>> act = np.random.default_rng(0).normal(size=(1000, 16))
    >>> table = threshold_sweep(act, quantiles=(), fractions=())
    >>> table.loc[table.parameter == 0.0, "mfr"].round(2).tolist()
    [0.5]
    """
    arr = check_real_array(activations, "activations")
    base = binarize(arr, 0.0)  # validates shape and finiteness once
    flat = arr.reshape(arr.shape[0], -1)
    rows = []
    plan = [("absolute", t) for t in thresholds] + [("quantile", q) for q in quantiles] \
        + [("fraction_of_max", f) for f in fractions]
    for rule, value in plan:
        check_option(rule, "rule", RULES)
        if rule == "absolute":
            value = check_real(value, "threshold")
            spikes = binarize(flat, value)
        else:
            value = check_real(value, rule, min_value=0.0, max_value=1.0)
            per_node = _per_node(flat, rule, value)
            spikes = SpikeMatrix(flat.astype(np.float64) > per_node, layer_shape=base.layer_shape)
        summary = network_summary(node_statistics(spikes, window))
        rows.append({"rule": rule, "parameter": float(value), **summary})
    return pd.DataFrame(rows)
