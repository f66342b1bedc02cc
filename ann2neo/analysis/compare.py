"""An ANN layer and a recorded population, side by side on the same statistics.

:func:`compare` puts the nodes of a layer (spike trains in samples) next to
recorded units (spike trains in s or ms) on the quantities that mean the
same thing on both sides, and keeps apart what does not:

* **Rates.**  A node's rate is in spikes/sample, a neuron's in Hz.  They meet
  only through the explicit link ``sample_duration`` (how long one sample is
  taken to last); the rate KS test is made on that scale and says so.
* **Spike-train shape.**  CV and LV of the ISIs are dimensionless; so are
  their ratios to the null of each side (the Bernoulli process on the sample
  grid for the ANN, the Poisson process for the recording, both exact at the
  sample size; see :mod:`ann2neo.analysis.nullmodel`).  The ratios are the fair comparison: a
  node at rate 0.6/sample has CV 0.63 for independent spiking, a Poisson
  neuron has CV 1.
* **Fano factor against the window.**  The Fano factor depends on the window.
  Instead of one "100 samples = 100 ms" choice, :func:`compare` returns the
  curve F(w) for ANN windows in samples and recorded windows in ms, so the
  scale question is shown rather than hidden.
* **Binning.**  Putting the recording on the sample grid (one bin of
  ``sample_duration`` per sample) can merge two spikes into one bin; the
  number of spikes such binning loses is reported.

KS distances between the two populations come with a Bonferroni correction
over all the comparisons made (:func:`ann2neo.analysis.compare_firing_rates`'s
rule).  **Trials are not units**: a Recording of one neuron over 50 trials is
one unit, and a KS test needs at least :data:`~ann2neo.core.defaults.MIN_UNITS_KS`
units on each side; with fewer it is marked not applicable (NaN, with the
reason in ``note``) instead of testing trials as if they were neurons.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import quantities as pq
from scipy import stats

from ..core.defaults import MIN_UNITS_KS
from ..core.units import UnitError, is_sample_unit
from ..core.validation import check_probability
from ._timebase import as_view

__all__ = ["Comparison", "compare", "fano_factor_curve", "binning_loss"]

#: Default ANN windows (samples) and recorded windows (ms) of the Fano-factor curve.
ANN_WINDOWS = (5, 10, 20, 50, 100, 200, 500, 1000)
REAL_WINDOWS_MS = (5, 10, 20, 50, 100, 200, 500, 1000, 2000)
#: Fewer units than this on a side: the KS test is run and flagged as low-powered (below
#: :data:`~ann2neo.core.defaults.MIN_UNITS_KS` it is not run).
FEW_KS_UNITS = 10


@dataclass
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    nodes : dict of str to pandas.DataFrame
        ``"ann"`` and ``"real"`` per-node tables (rates, Fano factor at the
        reference windows, CV, LV and their null ratios).
    summary : pandas.DataFrame
        One row per population: number of nodes, median rate (in its own unit
        and in Hz through ``sample_duration``), mean CV, LV and their null
        ratios.
    ks : pandas.DataFrame
        Two-sample KS tests of each per-node quantity, ANN against real:
        ``quantity``, ``n_ann``, ``n_real``, ``statistic``, ``p_value``,
        ``p_bonferroni``, ``different``, ``note`` (why a test is not
        applicable: fewer than :data:`~ann2neo.core.defaults.MIN_UNITS_KS`
        units with a value on a side — trials are not units; low power below
        :data:`FEW_KS_UNITS`).
    fano_curve : pandas.DataFrame
        ``population``, ``window``, ``window_unit`` ("sample" or "ms"),
        ``window_ms`` (through ``sample_duration`` for the ANN), ``n_windows``,
        ``mean_fano_factor``, ``mean_dispersion``, ``n_nodes``.
    binning : dict
        Loss from putting the recording on the sample grid: ``bin_ms``,
        ``n_spikes``, ``n_lost`` (spikes sharing a bin with an earlier one),
        ``fraction_lost``.
    sample_duration : pq.Quantity
        The link used between one sample and physical time.
    notes : list of str
        What the result depends on, and its flags.
    layer : str or None
        The ANN layer compared (``ann.layer`` or the ``layer`` argument).
    """

    nodes: dict
    summary: pd.DataFrame
    ks: pd.DataFrame
    fano_curve: pd.DataFrame
    binning: dict
    sample_duration: pq.Quantity
    notes: list = field(default_factory=list)
    layer: str | None = None


def binning_loss(trains, bin_size) -> dict:
    """How many spikes a binary binning at ``bin_size`` loses (two or more spikes in one bin count once).

    Parameters
    ----------
    trains : list of neo.SpikeTrain in physical time
    bin_size : pq.Quantity
        Bin width, e.g. ``1 * pq.ms``.

    Returns
    -------
    dict
        ``bin_ms``, ``n_spikes``, ``n_lost``, ``fraction_lost``.

    Examples
    --------
    >>> import neo
    >>> st = neo.SpikeTrain([1.0, 1.4, 5.0] * pq.ms, t_stop=10 * pq.ms)
    >>> binning_loss([st], 1 * pq.ms)["n_lost"]
    1
    """
    from ..core.recording import floor_bins

    view = as_view(trains)
    if view.time_base != "physical":
        raise UnitError("binning_loss needs spike trains in physical time (s, ms)")
    width = view.check_window(bin_size, "bin_size")
    n_spikes = n_lost = 0
    for segs in view.segments:
        for times, t0, _ in segs:
            index = floor_bins((times - t0) / width)
            n_spikes += times.size
            n_lost += times.size - np.unique(index).size
    return {"bin_ms": width * 1e3, "n_spikes": int(n_spikes), "n_lost": int(n_lost),
            "fraction_lost": n_lost / n_spikes if n_spikes else float("nan")}


def fano_factor_curve(data, windows) -> pd.DataFrame:
    """Mean Fano factor and mean null ratio of a population against the window length.

    Parameters
    ----------
    data : any recording :func:`ann2neo.node_statistics` takes (samples or physical time)
    windows : sequence of int (samples) or of pq.Quantity (time)
        Windows giving fewer than 2 complete windows are skipped.

    Returns
    -------
    pandas.DataFrame
        ``window`` (in the data's unit: samples, or ms), ``window_unit``,
        ``n_windows``, ``mean_fano_factor``, ``mean_dispersion`` and ``n_nodes``
        (nodes with a defined Fano factor).
    """
    from .statistics import node_statistics

    rows = []
    view = as_view(data)
    if view.time_base == "physical":
        longest = max(t1 - t0 for segs in view.segments for _, t0, t1 in segs)
        for w in windows:
            w = w if isinstance(w, pq.Quantity) else w * pq.ms
            if float(w.rescale(pq.s)) * 2 > longest + 1e-12:
                continue
            t = node_statistics(view, w)
            rows.append({"window": float(w.rescale(pq.ms)), "window_unit": "ms",
                         "n_windows": int(t["n_windows"].max()), "mean_fano_factor": t["fano_factor"].mean(),
                         "mean_dispersion": t["dispersion"].mean(), "n_nodes": int(t["fano_factor"].notna().sum())})
    else:
        for w in windows:
            if isinstance(w, pq.Quantity) and not is_sample_unit(w):
                raise UnitError(f"ANN windows are in samples, got {w}")
            w = int(w.magnitude) if isinstance(w, pq.Quantity) else int(w)
            if 2 * w > view.n_samples:
                continue
            t = node_statistics(view, w)
            rows.append({"window": float(w), "window_unit": "sample", "n_windows": view.n_samples // w,
                         "mean_fano_factor": t["fano_factor"].mean(), "mean_dispersion": t["dispersion"].mean(),
                         "n_nodes": int(t["fano_factor"].notna().sum())})
    return pd.DataFrame(rows, columns=["window", "window_unit", "n_windows", "mean_fano_factor", "mean_dispersion",
                                       "n_nodes"])


def _ann_table(matrix, window):
    from .statistics import node_statistics

    t = node_statistics(matrix, window)
    return t[["unit", "firing_rate", "fano_factor", "dispersion", "cv_isi", "lv", "cv_dispersion",
              "lv_dispersion"]].copy()


def compare(ann, real, *, sample_duration, window=100, real_window=100 * pq.ms, ann_windows=ANN_WINDOWS,
            real_windows=REAL_WINDOWS_MS, alpha=0.05, layer=None) -> Comparison:
    """Put an ANN layer and a recorded population side by side on the same statistics.

    Parameters
    ----------
    ann : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain in samples, or neo.Segment
        One layer's recording (e.g. from :func:`ann2neo.record` or :func:`ann2neo.read`).
    real : list of neo.SpikeTrain in s or ms, neo.Segment, neo.Block or ann2neo.Recording
        Recorded units (e.g. from :func:`ann2neo.load_recording`); the trials
        of a Recording stay trials of its units.
    sample_duration : pq.Quantity
        How long one sample is taken to last (e.g. ``1 * pq.ms``).  Required:
        it is a modelling choice, used for the rate scale, the ms axis of the
        ANN Fano curve and the binning-loss report, and stated in the result.
    window : int, default 100
        ANN Fano window in samples for the per-node table (paper: 100).
    real_window : pq.Quantity, default 100 ms
        Recorded Fano window for the per-node table.
    ann_windows, real_windows : sequences
        Windows of the Fano-factor curves (samples; ms or time quantities).
    alpha : float, default 0.05
        Family-wise level of the Bonferroni-corrected KS tests.
    layer : str, optional
        Name of the ANN layer, for the result; default ``ann.layer``.

    Returns
    -------
    Comparison

    Raises
    ------
    ann2neo.UnitError
        If ``ann`` is not in samples, ``real`` not in physical time, or
        ``sample_duration`` is not a time.
    ValueError
        For windows out of range or an invalid ``alpha``.

    Examples
    --------
    >>> import neo, numpy as np
    >>> ann = np.random.default_rng(0).random((2000, 20)) < 0.3
    >>> real = [neo.SpikeTrain(np.sort(np.random.default_rng(i).uniform(0, 10, 80)) * pq.s, t_stop=10 * pq.s)
    ...         for i in range(10)]
    >>> result = compare(ann, real, sample_duration=1 * pq.ms)
    >>> sorted(result.nodes)
    ['ann', 'real']
    """
    alpha = check_probability(alpha)
    if not isinstance(sample_duration, pq.Quantity) or is_sample_unit(sample_duration) \
            or sample_duration.simplified.dimensionality != pq.s.dimensionality or sample_duration.size != 1:
        raise UnitError(f"sample_duration must be a time quantity such as 1 * pq.ms, got {sample_duration!r}")
    seconds = float(sample_duration.rescale(pq.s))
    if not seconds > 0:
        raise ValueError(f"sample_duration must be positive, got {sample_duration}")
    ann_view, real_view = as_view(ann, name="ann"), as_view(real, name="real")
    if ann_view.time_base != "sample":
        raise UnitError("ann must be an ANN recording in samples; pass recorded units as real")
    if real_view.time_base != "physical":
        raise UnitError("real must hold spike trains in physical time (s or ms), e.g. from ann2neo.load_recording")
    from .statistics import node_statistics

    if layer is None:
        layer = getattr(ann, "layer", None) or (ann.annotations.get("layer") if hasattr(ann, "annotations") else None)

    ann_nodes = _ann_table(ann_view, window)
    real_stats = node_statistics(real_view, real_window)
    real_nodes = pd.DataFrame({"unit": real_stats["unit"], "firing_rate": real_stats["firing_rate"],
                               "fano_factor": real_stats["fano_factor"],
                               "dispersion": real_stats["dispersion"], "cv_isi": real_stats["cv_isi"],
                               "lv": real_stats["lv"], "cv_dispersion": real_stats["cv_dispersion"],
                               "lv_dispersion": real_stats["lv_dispersion"]})
    ann_hz = ann_nodes["firing_rate"] / seconds

    summary = pd.DataFrame([
        {"population": "ann", "n_nodes": len(ann_nodes), "rate_unit": "1/sample",
         "median_rate": ann_nodes["firing_rate"].median(), "median_rate_hz": ann_hz.median(),
         **{f"mean_{c}": ann_nodes[c].mean() for c in ("cv_isi", "lv", "cv_dispersion", "lv_dispersion",
                                                       "dispersion")}},
        {"population": "real", "n_nodes": len(real_nodes), "rate_unit": "Hz",
         "median_rate": real_nodes["firing_rate"].median(), "median_rate_hz": real_nodes["firing_rate"].median(),
         **{f"mean_{c}": real_nodes[c].mean() for c in ("cv_isi", "lv", "cv_dispersion", "lv_dispersion",
                                                        "dispersion")}},
    ])

    quantities = {"firing_rate_hz (through sample_duration)": (ann_hz, real_nodes["firing_rate"]),
                  "cv_isi": (ann_nodes["cv_isi"], real_nodes["cv_isi"]),
                  "lv": (ann_nodes["lv"], real_nodes["lv"]),
                  "cv_dispersion": (ann_nodes["cv_dispersion"], real_nodes["cv_dispersion"]),
                  "lv_dispersion": (ann_nodes["lv_dispersion"], real_nodes["lv_dispersion"]),
                  "dispersion": (ann_nodes["dispersion"], real_nodes["dispersion"])}
    rows = []
    for name, (a, b) in quantities.items():
        a, b = np.asarray(a, float), np.asarray(b, float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if min(a.size, b.size) < MIN_UNITS_KS:
            rows.append({"quantity": name, "n_ann": a.size, "n_real": b.size, "statistic": np.nan,
                         "p_value": np.nan, "note": f"not applicable: fewer than {MIN_UNITS_KS} units with a value "
                                                    f"on one side ({a.size} ANN, {b.size} recorded); trials are "
                                                    "not units"})
            continue
        res = stats.ks_2samp(a, b)
        few = min(a.size, b.size) < FEW_KS_UNITS
        rows.append({"quantity": name, "n_ann": a.size, "n_real": b.size, "statistic": float(res.statistic),
                     "p_value": float(res.pvalue),
                     "note": f"few units ({min(a.size, b.size)} on a side): low power" if few else ""})
    ks = pd.DataFrame(rows)
    tested = ks["p_value"].notna()
    ks["p_bonferroni"] = np.minimum(1.0, ks["p_value"] * int(tested.sum()))
    ks["different"] = ks["p_bonferroni"] < alpha
    ks["note"] = ks.pop("note")
    flagged = ks[ks["note"] != ""]

    curve_ann = fano_factor_curve(ann_view, ann_windows)
    curve_ann.insert(0, "population", "ann")
    curve_ann["window_ms"] = curve_ann["window"] * seconds * 1e3
    curve_real = fano_factor_curve(real_view, [w if isinstance(w, pq.Quantity) else w * pq.ms
                                                 for w in real_windows])
    curve_real.insert(0, "population", "real")
    curve_real["window_ms"] = curve_real["window"]
    fano_curve = pd.concat([curve_ann, curve_real], ignore_index=True)

    binning = binning_loss(real_view, sample_duration)
    notes = [f"one sample is taken to last {sample_duration} (sample_duration); ANN rates in Hz and the ms axis "
             f"of the ANN Fano curve depend on that choice",
             f"binning the recording at {binning['bin_ms']:g} ms would lose {binning['n_lost']} of "
             f"{binning['n_spikes']} spikes (two or more in one bin)"]
    if layer is not None:
        notes.insert(0, f"ANN layer: {layer} ({len(ann_nodes)} nodes)")
    if len(flagged):
        message = "KS tests flagged: " + "; ".join(f"{q}: {f}" for q, f in zip(flagged["quantity"], flagged["note"],
                                                                              strict=True))
        notes.append(message)
        from .statistics import SmallSampleWarning

        warnings.warn(message, SmallSampleWarning, stacklevel=2)
    return Comparison(nodes={"ann": ann_nodes, "real": real_nodes}, summary=summary, ks=ks, fano_curve=fano_curve,
                      binning=binning, sample_duration=sample_duration, notes=notes, layer=layer)
