"""Memorization across depth: every layer of a network under two (or more) conditions.

arXiv:2308.00858 observed only the last hidden layer, and asks where in the
network memorization shows (section 5).  :func:`layer_scan` records every
layer of each model in one forward pass (``record(..., layers="all")``) on
the same inputs in the same order, and reports per layer the network
statistics (MFR, MF) and the ratios to the exact Bernoulli null (mean
dispersion of the Fano factor, of the CV and of the LV), so layers of
different rates can be compared.  :func:`ann2neo.plotting.plot_layer_scan`
draws them against depth.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping

import pandas as pd

from ..analysis.report import analyze
from ..analysis.statistics import SmallSampleWarning
from ..core.order import check_order
from ..core.validation import check_integer

__all__ = ["layer_scan"]

COLUMNS = ("mfr", "mf", "mean_dispersion", "mean_cv_dispersion", "mean_lv_dispersion", "n_nodes", "n_silent",
           "n_windows", "flags")


def layer_scan(models: Mapping, x, *, layers="all", window=100, batch_size=256, labels=None) -> pd.DataFrame:
    """Network statistics of every layer of each model, on the same inputs.

    Parameters
    ----------
    models : mapping of str to keras.Model
        Condition name → model, e.g. ``{"Generalizing": gen, "MemRetrainLast": mem}``.
        The models must share their architecture (layer names); they may
        differ in weights.
    x : ndarray, shape (n_samples, ``*input_shape``)
        Inputs, fed in this order to every model (shuffle them first; sample k
        is time step k).
    layers : "all" or list of str, default "all"
        Layers recorded (see :func:`ann2neo.record`).
    window : int, default 100
        Fano-factor window in samples.
    batch_size : int, default 256
    labels : array_like, shape (n_samples,) or one-hot, optional
        Labels of ``x`` in order, checked once for order (an
        :class:`ann2neo.OrderWarning` when sorted or in runs).

    Returns
    -------
    pandas.DataFrame
        One row per condition and layer, in forward order: ``condition``,
        ``layer``, ``depth`` (0 = first recorded layer), ``layer_shape``, then
        :data:`COLUMNS` (``mfr`` in spikes/sample; dispersions 1 for
        independent spiking).

    Raises
    ------
    ValueError
        For no models, models whose recorded layers differ, or as
        :func:`ann2neo.record` and :func:`ann2neo.analyze`.

    Warns
    -----
    SmallSampleWarning
        Once per call, naming the layers whose statistics are flagged (the
        ``flags`` column says why for each).
    OrderWarning
        Once, when ``labels`` come sorted or in runs.

    Examples
    --------
    >>> table = layer_scan({"Generalizing": gen, "MemRetrainLast": mem}, x_test)  # doctest: +SKIP
    >>> table.pivot(index="depth", columns="condition", values="mfr")            # doctest: +SKIP
    """
    from ..keras.recording import record

    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping of condition name to keras.Model")
    window = check_integer(window, "window", min_value=1)
    if labels is not None and hasattr(x, "__len__") and len(labels) != len(x):
        raise ValueError(f"labels has {len(labels)} entries for the {len(x)} samples of x")
    check_order(labels, where="the samples fed to layer_scan", stacklevel=2)
    rows, reference, flagged = [], None, []
    for condition, model in models.items():
        recorded = record(model, x, layers=layers, batch_size=batch_size)
        names = list(recorded)
        if reference is None:
            reference = names
        elif names != reference:
            raise ValueError(f"model {condition!r} records layers {names}, the first model {reference}; "
                             f"layer_scan compares the same architecture under different conditions")
        for depth, (name, spikes) in enumerate(recorded.items()):
            usable = min(window, spikes.shape[0])
            with warnings.catch_warnings():  # one warning per call, below, not one per layer
                warnings.simplefilter("ignore", SmallSampleWarning)
                summary = analyze(spikes, window=usable).summary
            if summary.get("flags"):
                flagged.append(f"{condition}/{name}")
            rows.append({"condition": str(condition), "layer": name, "depth": depth,
                         "layer_shape": "x".join(map(str, spikes.layer_shape)),
                         **{key: summary.get(key) for key in COLUMNS}})
    if flagged:
        warnings.warn(f"small-sample flags in {len(flagged)} of {len(rows)} layer recordings ({', '.join(flagged)}); "
                      f"see the 'flags' column: raw Fano factors and their network summaries are biased at this "
                      f"size, compare the *_dispersion columns", SmallSampleWarning, stacklevel=2)
    return pd.DataFrame(rows)
