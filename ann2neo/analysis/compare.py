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
from ..core.validation import check_integer, check_probability
from ._timebase import as_view

__all__ = ["Comparison", "compare", "fano_factor_curve", "binning_loss", "POPULATION_COLUMNS"]

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
    population : pandas.DataFrame
        The conditioned and population statistics of both sides, one row per
        population, statistic and condition (columns
        :data:`POPULATION_COLUMNS`): ``population`` (``"ann"`` or
        ``"real"``), ``statistic``, ``condition`` (a condition value, or
        ``"all"``), ``value``, ``se`` (rates only), ``value_unit``
        (``1/sample``, ``Hz`` or ``dimensionless``), ``control`` (the same
        statistic on a shuffle or a null, named in ``control_kind``),
        ``n_units``, ``n_trials``, ``n_observations`` (the trials or time bins
        the value is computed from), ``observation`` (what one observation
        is) and ``note`` (why a value is undefined or not comparable, and what
        it reduces to).  Empty when the part is skipped (see ``notes``).
        ``population.attrs["conditions"]`` names the condition column each
        side used (``None``: that side has no conditions).
    """

    nodes: dict
    summary: pd.DataFrame
    ks: pd.DataFrame
    fano_curve: pd.DataFrame
    binning: dict
    sample_duration: pq.Quantity
    notes: list = field(default_factory=list)
    layer: str | None = None
    population: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POPULATION_COLUMNS))


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
            real_windows=REAL_WINDOWS_MS, alpha=0.05, layer=None, condition=None, ann_condition=None,
            ann_labels=None, population=True, population_bin=None, n_shuffles=5, seed=0) -> Comparison:
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
        Family-wise level of the Bonferroni-corrected KS tests, and the false
        discovery rate of ``fraction_selective`` in the population part.
    layer : str, optional
        Name of the ANN layer, for the result; default ``ann.layer``.
    condition : str, optional
        The column of the recording's trials table that is its condition
        (e.g. ``"direction"``); default: the Recording's ``condition``, else
        its first trials column if its values repeat over trials (at most
        one value per two trials), else none.
    ann_condition : str, optional
        The same for an ANN Recording (e.g. ``"label"``), or the column name
        given to ``ann_labels``.
    ann_labels : array_like (n_samples,), optional
        The class of each ANN sample, for an ANN given as a spike matrix or
        trains (its trials are the samples, one bin each).
    population : bool, default True
        Compute :attr:`Comparison.population`: tuning, selectivity,
        sparseness, noise correlations and the across-trial Fano factor per
        condition (where a side has conditions), total correlations,
        participation ratio and sparseness over observations (where it has
        at least 2 units), each side through the same public functions
        (:func:`ann2neo.tuning`, :func:`ann2neo.selectivity`,
        :func:`ann2neo.sparseness`, :func:`ann2neo.correlations`,
        :func:`ann2neo.participation_ratio`, :func:`ann2neo.trial_fano_factor`).
        Skipped, with a note, when neither side has conditions.  It holds
        the ANN spike matrix in memory (a chunked store is loaded).
    population_bin : pq.Quantity, optional
        For a recording of one trial (e.g. continuous units): the bins whose
        counts are the observations of the population-level statistics
        (default ``real_window``).  A recording of several trials uses its
        whole-trial counts.
    n_shuffles : int, default 5
        Shuffles behind each ``control`` of the population part.
    seed : int, default 0
        Seed of those shuffles.

    Returns
    -------
    Comparison

    Raises
    ------
    ann2neo.UnitError
        If ``ann`` is not in samples, ``real`` not in physical time, or
        ``sample_duration`` or ``population_bin`` is not a time.
    ValueError
        For windows out of range, an invalid ``alpha``, a ``condition`` or
        ``ann_condition`` that is not a trials column, or ``ann_labels`` of
        the wrong length.

    Notes
    -----
    In the population part the two sides keep their own units and time
    scales: an ANN trial is one sample (its count is 0 or 1, its rate a
    spike probability in 1/sample), a recorded trial lasts its own time (a
    count, a rate in Hz); a recording of one trial is cut into
    ``population_bin`` bins.  What a statistic reduces to on one-sample
    binary trials (e.g. the across-trial Fano factor is 1 - p) and what is
    undefined (one unit: no pairs, no dimensionality) is in each row's
    ``note``.  Controls: condition labels shuffled (selectivity, lifetime
    sparseness), each unit's trials permuted within condition (noise
    correlations) or over all observations (total correlations,
    participation ratio), and the exact null of each side for the
    across-trial Fano factor.

    Examples
    --------
    >>> import neo, numpy as np
    >>> ann = np.random.default_rng(0).random((2000, 20)) < 0.3
    >>> real = [neo.SpikeTrain(np.sort(np.random.default_rng(i).uniform(0, 10, 80)) * pq.s, t_stop=10 * pq.s)
    ...         for i in range(10)]
    >>> result = compare(ann, real, sample_duration=1 * pq.ms)
    >>> sorted(result.nodes)
    ['ann', 'real']
    >>> result.population.empty  # neither side has conditions
    True
    >>> labels = np.arange(2000) % 2
    >>> result = compare(ann, real, sample_duration=1 * pq.ms, ann_labels=labels)
    >>> result.population.set_index(["population", "statistic", "condition"]).loc[("ann", "rate", "0"), "value_unit"]
    '1/sample'
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

    if population:  # the condition columns and labels are checked before any statistic is computed
        if population_bin is None:
            population_bin = real_window if isinstance(real_window, pq.Quantity) else real_window * pq.ms
        if not isinstance(population_bin, pq.Quantity) or is_sample_unit(population_bin) \
                or population_bin.simplified.dimensionality != pq.s.dimensionality or population_bin.size != 1 \
                or not float(population_bin.magnitude) > 0:
            raise UnitError(f"population_bin must be a positive time such as 100 * pq.ms, got {population_bin!r}")
        n_shuffles = check_integer(n_shuffles, "n_shuffles", min_value=0)
        sides = _population_sides(ann, ann_view, real, condition, ann_condition, ann_labels, population_bin)
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
    if population:
        table, more = _population(sides, sample_seconds=seconds, n_shuffles=n_shuffles, seed=seed, alpha=alpha)
        notes += more
    else:
        table = pd.DataFrame(columns=POPULATION_COLUMNS)
        notes.append("population part not computed (population=False)")
    return Comparison(nodes={"ann": ann_nodes, "real": real_nodes}, summary=summary, ks=ks, fano_curve=fano_curve,
                      binning=binning, sample_duration=sample_duration, notes=notes, layer=layer, population=table)


# -- the conditioned / population part ------------------------------------------------------------------------------
#: Columns of :attr:`Comparison.population`.
POPULATION_COLUMNS = ["population", "statistic", "condition", "value", "se", "value_unit", "control",
                      "control_kind", "n_units", "n_trials", "n_observations", "observation", "note"]


@dataclass
class _Side:
    """One population of the population part: its Recording, condition column and observation matrix."""

    name: str
    rec: object                     # ann2neo.Recording
    column: str | None              # its condition column (None: no conditions)
    obs: object                     # what the unconditioned statistics take: the Recording, or a count matrix
    n_observations: int
    observation: str
    why_no_condition: str = ""


def _condition_column(rec, column, argument):
    """The condition column of a Recording: ``column``, else its ``condition``, else its first trials column."""
    if column is not None:
        if column not in rec.trials:
            raise ValueError(f"{argument}={column!r} is not a column of the trials table "
                             f"(columns: {list(rec.trials.columns)})")
        return column
    if rec.condition is not None:
        return rec.condition
    if not len(rec.trials.columns):
        return None
    first = rec.trials.columns[0]
    n_values = rec.trials[first].nunique(dropna=False)
    # a default only when it looks like a condition: values repeated over trials (not an id or a time per trial)
    return str(first) if 1 < n_values <= rec.n_trials // 2 else None


def _population_sides(ann, ann_view, real, condition, ann_condition, ann_labels, population_bin):
    """Both sides of the population part; the ANN side is None (never loaded) when neither side has conditions."""
    from ..core.recording import Recording

    if ann_condition is not None and ann_labels is None and not isinstance(ann, Recording):
        raise ValueError("ann_condition names a column of an ANN Recording's trials table; for a spike matrix "
                         "give the class of each sample as ann_labels=")
    real_side = _real_side(real, condition, population_bin)
    ann_conditioned = ann_labels is not None or (isinstance(ann, Recording)
                                                 and _condition_column(ann, ann_condition, "ann_condition"))
    if real_side.column is None and not ann_conditioned:
        return [None, real_side]
    return [_ann_side(ann, ann_view, ann_labels, ann_condition), real_side]


def _ann_side(ann, ann_view, ann_labels, ann_condition):
    from ..core.recording import Recording

    if isinstance(ann, Recording):
        rec = ann
        if ann_labels is not None:
            rec = ann.select()
            column = ann_condition or "label"
            rec.trials = rec.trials.copy()
            lab = np.asarray(ann_labels).ravel()
            if lab.shape != (rec.n_trials,):
                raise ValueError(f"ann_labels must hold one label per ANN trial (sample), {rec.n_trials}; got "
                                 f"shape {np.shape(ann_labels)}")
            rec.trials[column] = lab
            rec.condition = column
    else:
        matrix = np.asarray(ann_view.matrix)
        rec = Recording.from_matrix(matrix, labels=ann_labels, condition=ann_condition or "label")
    column = _condition_column(rec, ann_condition, "ann_condition")
    why = "" if column else "the ANN has no labels (give ann_labels=, ann_condition=, or a Recording with a condition)"
    if rec.is_binned and rec.n_bins == 1 and rec.binned.dtype == bool and "obs_intervals" not in rec.units:
        obs, what = rec.binned[:, :, 0], "trial (one sample)"
    else:
        obs, what = rec, f"trial ({rec.duration[0]:g} samples)"
    return _Side("ann", rec, column, obs, rec.n_trials, what, why)


def _real_side(real, condition, population_bin):
    from ..core.recording import Recording

    rec = real if isinstance(real, Recording) else Recording.from_neo(real)
    column = _condition_column(rec, condition, "condition")
    why = "" if column else ("the recording has no condition (no column in its trials table)"
                             if not len(rec.trials.columns) else
                             f"the recording has no condition set and its first trials column "
                             f"{rec.trials.columns[0]!r} does not repeat over trials like one (name it with "
                             f"condition=)")
    if rec.n_trials > 1:
        what = (f"trial ({rec.duration[0]:g} {rec.unit_name}, whole-trial count)"
                if np.allclose(rec.duration, rec.duration[0]) else
                "trial (of different lengths: whole-trial rates, not counts)")
        return _Side("real", rec, column, rec, rec.n_trials, what, why)
    width = float(population_bin.rescale(rec.time_unit).magnitude)
    counts = rec.counts(width)
    obs = counts.transpose(0, 2, 1).reshape(-1, rec.n_units)
    return _Side("real", rec, column, obs, obs.shape[0],
                 f"bin of {float(population_bin.rescale(pq.ms)):g} ms (one trial cut into bins)", why)


def _row(side, statistic, value, *, condition="all", se=np.nan, value_unit="dimensionless", control=np.nan,
         control_kind="", n_observations=None, observation=None, note=""):
    return {"population": side.name, "statistic": statistic, "condition": condition, "value": float(value),
            "se": float(se), "value_unit": value_unit, "control": float(control), "control_kind": control_kind,
            "n_units": side.rec.n_units, "n_trials": side.rec.n_trials,
            "n_observations": side.n_observations if n_observations is None else n_observations,
            "observation": side.observation if observation is None else observation, "note": note}


def _join(*parts):
    return "; ".join(p for p in parts if p)


def _rate_rows(side, sample_seconds):
    """Rate per condition: the mean over units of the tuning curve, with the SE of the per-trial population mean."""
    from .conditioned import tuning

    t = tuning(side.rec, condition=side.column)
    labels = side.rec.conditions(side.column)
    per_trial = _population_rate_per_trial(side.rec, t.rate_unit)
    rows = []
    for c, cond in enumerate(t.conditions):
        x = per_trial[labels == cond]
        se = x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else np.nan
        note = ""
        if t.rate_unit == "1/sample":
            note = (f"spike probability per sample (1/sample); in Hz only through sample_duration "
                    f"({np.nanmean(t.rate[:, c]) / sample_seconds:.4g} Hz at {sample_seconds * 1e3:g} ms per sample)")
        if x.size < 2:
            note = _join(note, "fewer than 2 trials: SE undefined")
        rows.append(_row(side, "rate", np.nanmean(t.rate[:, c]), condition=str(cond), se=se,
                         value_unit=t.rate_unit, n_observations=int(x.size),
                         note=_join(f"mean over {_units(side.rec.n_units)} of the tuning curve", note)))
    return rows


def _population_rate_per_trial(rec, rate_unit):
    """Mean over units of each trial's rate in ``rate_unit`` (count / observed time; unobserved units left out)."""
    if rec.is_binned and "obs_intervals" not in rec.units:   # every unit observed for the whole trial
        rates = rec.binned.sum(axis=(1, 2), dtype=np.int64) / rec.n_units / rec.duration
    else:
        observed = rec.observed_duration()
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = np.where(observed > 0, rec.trial_counts() / np.where(observed > 0, observed, 1.0), np.nan)
        rates = np.nanmean(rates, axis=1)
    if rate_unit == "Hz":
        rates = rates / float(pq.Quantity(1.0, rec.time_unit).rescale(pq.s).magnitude)
    return rates


def _selectivity_summary(rec, column, alpha):
    """Fraction selective, median eta2, median |d'|, median lifetime sparseness (over conditions), and the results."""
    from .conditioned import selectivity, sparseness

    s = selectivity(rec, condition=column, alpha=alpha)
    sp = sparseness(rec, condition=column)
    table = s.table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN medians are reported as NaN with a note
        return (s.fraction_selective, float(np.nanmedian(table["eta2"])), float(np.nanmedian(table["d_prime"].abs())),
                float(np.nanmedian(sp.lifetime)), s, sp)


def _conditioned_rows(side, sample_seconds, n_shuffles, seed, alpha):
    """Tuning, selectivity, sparseness over conditions, noise correlations, across-trial Fano factor."""
    from .conditioned import trial_fano_factor

    rec, column = side.rec, side.column
    conditions = np.unique(rec.conditions(column))
    rows = _rate_rows(side, sample_seconds)
    k = len(conditions)
    names = ("fraction_selective", "median_eta2", "d_prime", "lifetime_sparseness")
    if k < 2:
        why = f"one condition ({conditions[0]!r}): selectivity, sparseness over conditions and noise correlations " \
              "need at least 2"
        rows += [_row(side, name, np.nan, note=why) for name in (*names, "noise_correlation_mean",
                                                                 "noise_correlation_sd")]
    else:
        rows += _selectivity_rows(side, conditions, n_shuffles, seed, alpha)
        rows += _noise_rows(side, n_shuffles, seed)
    return rows + _fano_rows(side, trial_fano_factor)


def _selectivity_rows(side, conditions, n_shuffles, seed, alpha):
    from ._trials import trial_surrogates

    rec, column, k = side.rec, side.column, len(conditions)
    frac, eta2, dprime, life, s, sp = _selectivity_summary(rec, column, alpha)
    rng = np.random.default_rng(seed)
    shuffled = np.array([_selectivity_summary(trial_surrogates(rec, method="labels", seed=rng, condition=column),
                                              column, alpha)[:4] for _ in range(n_shuffles)])
    control = shuffled.mean(axis=0) if n_shuffles else np.full(4, np.nan)
    kind = f"condition labels shuffled (mean of {n_shuffles})"
    one = rec.n_units == 1
    power = f"{rec.n_trials} trials in {k} conditions (power grows with trials)"
    rows = [_row(side, "fraction_selective", frac, control=control[0], control_kind=kind,
                 note=_join(f"one-way ANOVA, Benjamini-Hochberg FDR at {alpha:g}", power,
                            "one unit: the fraction is 0 or 1" if one else "",
                            *[n for n in s.notes if not n.startswith("MI")])),
            _row(side, "median_eta2", eta2, control=control[1], control_kind=kind,
                 note=_join("median over units of the between-condition share of variance; biased above 0 "
                            "(about (k - 1)/(N - 1)) without any tuning: compare with the control",
                            "undefined: every unit is constant over the trials" if np.isnan(eta2) else ""))]
    if k == 2:
        signed = float(s.table["d_prime"].iloc[0]) if one else np.nan
        rows.append(_row(side, "d_prime", dprime, control=control[2], control_kind=kind,
                         note=_join(f"median over units of |d'|, d' = (mean[{conditions[1]}] - "
                                    f"mean[{conditions[0]}]) / pooled SD",
                                    f"one unit: d' = {signed:.4g}" if one else "")))
    else:
        rows.append(_row(side, "d_prime", np.nan, note=f"d' needs exactly 2 conditions, this side has {k}"))
    life_note = "median over units of the Vinje-Gallant sparseness of the tuning curve"
    if k == 2:
        life_note = _join(life_note, "from 2 conditions: coarse (0 for equal rates, 1 for one silent condition)")
    rows.append(_row(side, "lifetime_sparseness", life, control=control[3], control_kind=kind, note=life_note))
    labels = rec.conditions(column)
    for c, cond in enumerate(sp.labels):
        value = sp.population[c] if not one else np.nan
        rows.append(_row(side, "population_sparseness", value, condition=str(cond),
                         n_observations=int(np.sum(labels == cond)),
                         note="one unit: population sparseness needs at least 2 units" if one else
                         "sparseness of the mean population response to this condition over units"))
    return rows


def _noise_rows(side, n_shuffles, seed):
    from ._trials import trial_surrogates
    from .population import correlations

    rec, column = side.rec, side.column
    if rec.n_units < 2:
        why = "one unit: no pairs, noise correlations undefined"
        return [_row(side, s, np.nan, note=why) for s in ("noise_correlation_mean", "noise_correlation_sd")]
    c = correlations(rec, kind="noise", condition=column)
    rng = np.random.default_rng(seed)
    control = [correlations(trial_surrogates(rec, method="within", seed=rng, condition=column), kind="noise",
                            condition=column) for _ in range(n_shuffles)]
    kind = f"each unit's trials permuted within condition (mean of {n_shuffles})"
    note = _join(f"over {c.values.size} pairs of whole-trial counts, residuals from each condition's mean",
                 *c.notes)
    return [_row(side, "noise_correlation_mean", c.mean, control=np.mean([x.mean for x in control]) if control
                 else np.nan, control_kind=kind, note=note),
            _row(side, "noise_correlation_sd", c.sd, control=np.mean([x.sd for x in control]) if control else np.nan,
                 control_kind=kind, note=note)]


def _fano_rows(side, trial_fano_factor):
    rec, column = side.rec, side.column
    if not np.allclose(rec.duration, rec.duration[0]):
        return [_row(side, "trial_fano_factor", np.nan, note="trials differ in length: the across-trial Fano "
                     "factor of whole-trial counts needs trials of one length")]
    f = trial_fano_factor(rec, float(rec.duration[0]), condition=column)
    rows = []
    for c, cond in enumerate(f.conditions):
        fano, mean = f.fano[c, :, 0], f.mean[c, :, 0]
        n = int(f.n_trials[c])
        if rec.time_base == "sample" and rec.n_bins == 1:
            control = float(np.nanmean(np.where(mean > 0, 1 - mean, np.nan)))
            kind, note = "Bernoulli null: 1 - p per unit", ("binary one-sample trials: the Fano factor is 1 - p, "
                                                           "fixed by the spike probability (equals the control by "
                                                           "construction); not trial-to-trial variability")
        elif rec.time_base == "physical":
            control, kind = (n - 1) / n, f"Poisson null at {n} trials: (n - 1)/n (ddof=0)"
            note = f"Var/mean of the {rec.duration[0]:g} {rec.unit_name} trial counts (ddof=0, Elephant's fanofactor)"
        else:
            control, kind, note = np.nan, "", "counts over several positions per trial: no exact null given"
        defined = np.isfinite(fano)
        if not defined.any():
            note = _join(note, "undefined: no spikes in this condition")
        rows.append(_row(side, "trial_fano_factor", np.nanmean(fano) if defined.any() else np.nan,
                         condition=str(cond), control=control, control_kind=kind, n_observations=n,
                         note=_join(f"mean over {_units(int(defined.sum()))} with spikes", note)))
    return rows


def _unconditioned_rows(side, n_shuffles, seed):
    """Total correlations, participation ratio with its shuffle, sparseness over observations."""
    from ._trials import trial_surrogates
    from .conditioned import sparseness
    from .population import correlations, participation_ratio

    obs = side.obs
    rows = []
    if side.rec.n_units < 2:
        why = "one unit: no pairs and no population, undefined"
        return [_row(side, s, np.nan, note=why) for s in UNCONDITIONED[:-1]] + _lifetime_obs_rows(side, sparseness)
    zeros = np.zeros(side.n_observations, np.int64)
    c = correlations(obs)
    rng = np.random.default_rng(seed)
    shuffled = [correlations(_permuted(obs, zeros, rng, trial_surrogates)) for _ in range(n_shuffles)]
    kind = f"each unit's observations permuted independently (mean of {n_shuffles})"
    note = _join(f"over {c.values.size} pairs", *c.notes)
    rows += [_row(side, "total_correlation_mean", c.mean, control=_mean([s.mean for s in shuffled]),
                  control_kind=kind, note=note),
             _row(side, "total_correlation_sd", c.sd, control=_mean([s.sd for s in shuffled]), control_kind=kind,
                  note=_join(note, "the control's SD is the sampling spread of independent units at this size"))]
    pr = participation_ratio(obs, n_shuffles=n_shuffles, seed=seed)
    n = side.rec.n_units
    pr_note = _join("(sum of covariance eigenvalues)^2 / sum of their squares", *pr.notes)
    kind = f"each unit's observations permuted independently (mean of {n_shuffles}): the ceiling set by the rates"
    rows += [_row(side, "participation_ratio", pr.value, control=_mean(pr.shuffled), control_kind=kind,
                  note=pr_note),
             _row(side, "participation_ratio_normalized", pr.value / n, control=_mean(pr.shuffled) / n,
                  control_kind=kind, note=_join(f"participation ratio / n_units ({n})", pr_note))]
    sp = sparseness(obs, over="trials")
    active = np.isfinite(sp.population)
    note = _join(f"mean over the {int(active.sum())} of {active.size} observations with a spike (undefined in the "
                 "others)", *[n for n in sp.notes if "binary" in n])
    rows.append(_row(side, "population_sparseness_observations",
                     float(np.mean(sp.population[active])) if active.any() else np.nan, note=note))
    return rows + _lifetime_obs_rows(side, sparseness, sp)


def _lifetime_obs_rows(side, sparseness, sp=None):
    sp = sparseness(side.obs, over="trials") if sp is None else sp
    defined = np.isfinite(sp.lifetime)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(np.nanmedian(sp.lifetime)) if defined.any() else np.nan
    note = _join(f"median over the {_units(int(defined.sum()))} with a spike of the sparseness over observations",
                 *[n for n in sp.notes if "binary" in n])
    return [_row(side, "lifetime_sparseness_observations", value, note=note)]


def _units(n):
    return f"{n} unit" + ("" if n == 1 else "s")


def _mean(values):
    values = np.asarray(values, float)
    return float(values.mean()) if values.size else np.nan


def _permuted(obs, zeros, rng, trial_surrogates):
    """Each unit's observations permuted independently (the all-trials shuffle of ann2neo.trial_surrogates)."""
    out = trial_surrogates(obs, zeros, method="within", seed=rng)
    return out if hasattr(obs, "trials") else out[0]


#: Statistics of the population part that need conditions, and those that do not.
CONDITIONED = ("rate", "fraction_selective", "median_eta2", "d_prime", "lifetime_sparseness", "population_sparseness",
               "noise_correlation_mean", "noise_correlation_sd", "trial_fano_factor")
UNCONDITIONED = ("total_correlation_mean", "total_correlation_sd", "participation_ratio",
                 "participation_ratio_normalized", "population_sparseness_observations",
                 "lifetime_sparseness_observations")


def _guarded(side, statistics, compute):
    """The rows of ``compute()``, or undefined rows that give the reason when the data do not allow them."""
    try:
        return compute()
    except ValueError as err:
        return [_row(side, s, np.nan, note=f"undefined: {err}") for s in statistics]


def _population(sides, *, sample_seconds, n_shuffles, seed, alpha):
    """The population table of :func:`compare` and its notes."""
    empty = pd.DataFrame(columns=POPULATION_COLUMNS)
    if sides[0] is None:
        return empty, [f"population part skipped: the ANN has no labels (give ann_labels=, or a Recording with a "
                       f"condition) and {sides[1].why_no_condition}; the population-level functions "
                       "(ann2neo.correlations, participation_ratio, sparseness) take either side directly"]
    rows, notes = [], []
    for side in sides:
        if side.column is None:
            rows += [_row(side, s, np.nan, note=f"no condition: {side.why_no_condition}") for s in CONDITIONED]
        else:
            rows += _guarded(side, CONDITIONED, lambda side=side: _conditioned_rows(side, sample_seconds, n_shuffles,
                                                                                    seed, alpha))
        if side.n_observations < 3:
            rows += [_row(side, s, np.nan, note=f"{side.n_observations} observations: too few for population "
                          "statistics") for s in UNCONDITIONED]
        else:
            rows += _guarded(side, UNCONDITIONED, lambda side=side: _unconditioned_rows(side, n_shuffles, seed))
    ann_side, real_side = sides
    notes.append(f"population part: ANN conditions from {ann_side.column!r}, recording conditions from "
                 f"{real_side.column!r}; ANN observations: {ann_side.observation}, recording: "
                 f"{real_side.observation}; rates in each side's own unit (ANN 1/sample, Hz only through "
                 f"sample_duration)")
    table = pd.DataFrame(rows, columns=POPULATION_COLUMNS)
    table.attrs["conditions"] = {s.name: s.column for s in sides}
    return table, notes
