"""One call for the paper's per-network analysis of a recording."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import neo
import pandas as pd
import quantities as pq

from ..core.defaults import ALPHA, LAGS
from ..core.order import check_order
from ..core.recording import Recording
from ..core.validation import check_integer, check_probability
from ._timebase import as_view
from .statistics import SmallSampleWarning, network_summary, node_statistics

__all__ = ["NetworkAnalysis", "analyze", "VIEWS"]

#: Which view of the data each statistic uses (the docs' table "statistic -> view").
VIEWS = {
    "sample": {
        "firing_rate, fano_factor, cv_isi, lv, *_dispersion, diagnostics":
            "long train: the input samples (one-bin trials) in order as one spike train per node "
            "(Recording.as_one_trial), as the paper",
        "rate per condition (trials.conditions)": "trials: input samples grouped by their class label",
    },
    "physical": {
        "firing_rate": "all trials: spikes / observed time (trials cut to the unit's obs_intervals)",
        "fano_factor, dispersion": "windows inside trials (no window straddles two trials)",
        "cv_isi, lv, cv_dispersion, lv_dispersion": "ISIs within trials, pooled (no ISI spans two trials)",
        "diagnostics": "window counts inside trials, trials in order",
        "trial rates, rate per condition, fano_factor_trials, psth": "per trial (counts in each trial)",
    },
}


@dataclass
class NetworkAnalysis:
    """Result of :func:`analyze` for one recording (one layer, one split, or one set of recorded units).

    Attributes
    ----------
    nodes : pandas.DataFrame
        Per-unit table (see :func:`ann2neo.node_statistics`; column ``unit``
        holds the names), plus per-unit test results when diagnostics were
        requested.
    summary : dict
        Network summary (see :func:`ann2neo.network_summary`): ``mfr``, ``cv_fr``,
        ``mf``, ``cv_ff``, ``null`` and the ``*_null`` references and ratios,
        ``n_windows``, ``flags`` ("" when nothing is wrong), ``rate_unit``,
        ``time_unit``, ``n_trials``.
    window : int or pq.Quantity
        Fano-factor window in samples, or in s for physical time.
    n_samples : int or None
        Length of the recording in samples (None for physical time).
    tests : dict
        Network-level diagnostics (empty unless ``diagnostics=True``).
    trials : ann2neo.analysis.trials.TrialStatistics or None
        Rates per trial and condition, the across-trial Fano factor and the
        PSTH, for a Recording of several trials.
    views : dict of str to str
        Which view of the data each statistic used.
    layer : str or None
        Name of the layer analysed (from the recording, e.g.
        ``SpikeMatrix.layer``, or the ``layer`` argument); None when unknown.
    """

    nodes: pd.DataFrame
    summary: dict
    window: int
    n_samples: int | None
    tests: dict = field(default_factory=dict)
    trials: object = None
    views: dict = field(default_factory=dict)
    layer: str | None = None

    def to_dict(self) -> dict:
        """Summary and network-level tests as one flat dict."""
        window = self.window
        if hasattr(window, "units"):  # physical time: plain seconds in a flat dict
            return {"layer": self.layer, **self.summary, **self.tests, "window_s": float(window.rescale("s")),
                    "n_samples": None}
        return {"layer": self.layer, **self.summary, **self.tests, "window": self.window, "n_samples": self.n_samples}


def analyze(spikes, window=None, *, diagnostics=False, alpha=ALPHA, lags=LAGS, seed=None, ddof=0, client=None,
            condition=None, psth_bin=None, labels=None, layer=None) -> NetworkAnalysis:
    """Analyze a recording the way arXiv:2308.00858 does, in one call, in any time base.

    Parameters
    ----------
    spikes : spike matrix, spike trains (samples or s/ms), neo.Segment, neo.Block, ann2neo.Recording, dask/Zarr array
        One layer's recording (samples), or recorded spike trains in physical
        time (s, ms), analysed from their spike times against the Poisson null
        (rates in Hz).  A Recording of several trials in physical time also
        gets the across-trial statistics (``.trials``); a network layer's
        Recording is analysed as the paper's long train, with rates per class
        label when it has labels.
    window : int or pq.Quantity, optional
        Fano-factor window: samples (default 100, the paper's) for an ANN
        recording; a time quantity (default ``100 * pq.ms``) in physical time.
    diagnostics : bool, default False
        Also run the diagnostics of sections 3.3.1 (Fano factor test of Eden &
        Kramer 2010 against the Poisson and, on the sample grid, the Bernoulli
        null; Ljung-Box independence; ADF stationarity); see
        :func:`ann2neo.analysis.diagnostics.diagnose`.
    alpha : float, default 0.05
        Significance level of the diagnostics.
    lags : int, default 10
        Ljung-Box lags (samples, or windows in physical time).
    seed : None, int or numpy.random.Generator, optional
        Seed of the conditional simulation of the Bernoulli Fano factor test.
    ddof : {0, 1}, default 0
        Variance of the Fano factors and the CV (0 as Elephant).
    client : dask.distributed.Client, optional
        Cluster for a chunked (dask or Zarr) recording.  A chunked recording
        gives the in-memory numbers (statistics only: ``diagnostics=True``
        needs the matrix in memory).
    condition : str, optional
        Trials-table column to group trials by (default the Recording's own).
    psth_bin : float or pq.Quantity, optional
        PSTH bin (see :func:`ann2neo.analysis.trials.trial_statistics`).
    labels : array_like, shape (n_samples,), optional
        Label of the input sample at each time step of a layer's recording;
        checked for order (an :class:`ann2neo.OrderWarning` when sorted or in
        runs, since the order decides the Fano factor, CV, LV, their
        dispersions, Ljung-Box and ADF).
    layer : str, optional
        Name of the layer, for the result; default ``spikes.layer`` (a
        :class:`ann2neo.SpikeMatrix` from :func:`ann2neo.record`) or the
        Recording's ``layer`` annotation.

    Returns
    -------
    NetworkAnalysis
        ``.nodes`` (one row per unit), ``.summary``, ``.tests``, ``.trials``, ``.views``, ``.layer``.

    Raises
    ------
    ValueError
        On a matrix that is not 2-D binary, a window longer than the recording,
        ``alpha`` outside (0, 1) or ``lags`` not a positive whole number.
    TypeError
        On ``alpha`` or ``lags`` that are not numbers.
    ann2neo.UnitError
        On a window in samples for physical time, or the reverse, or trains mixing the two.

    Warns
    -----
    OrderWarning
        When ``labels`` come sorted or in runs (a runs test,
        :func:`ann2neo.core.order.check_order`).
    SmallSampleWarning
        When ``summary["flags"]`` is not empty (fewer than 20 windows, a single
        window, all nodes silent or always on); the message repeats the flags.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.random.default_rng(0).random((2000, 8)) < 0.2
    >>> r = analyze(m, window=100)
    >>> r.summary["n_windows"], r.summary["flags"], r.summary["null"]
    (20, '', 'bernoulli')
    """
    alpha = check_probability(alpha, "alpha")
    lags = check_integer(lags, "lags", min_value=1)
    if layer is None:
        layer = getattr(spikes, "layer", None)
        if layer is None and isinstance(spikes, Recording):
            layer = spikes.annotations.get("layer")
    if labels is not None:
        n_steps = spikes.n_trials if isinstance(spikes, Recording) else getattr(spikes, "shape", (None,))[0]
        if n_steps is not None and len(labels) != n_steps:
            raise ValueError(f"labels has {len(labels)} entries for a recording of {n_steps} samples; give the "
                             "label of the input at each time step")
        check_order(labels, where="the recording analysed", stacklevel=2)
    elif isinstance(spikes, Recording) and spikes.time_base == "sample" and spikes.condition is not None \
            and spikes.n_bins == 1:  # a layer's one-bin trials in input order, with their classes
        check_order(spikes.conditions(), where="the recording analysed", stacklevel=2)
    if isinstance(spikes, neo.Block):  # segments are trials: keep them as such for the trial statistics
        spikes = Recording.from_neo(spikes)
    view = as_view(spikes, client=client)
    if diagnostics and getattr(view, "chunked", False):
        raise ValueError("diagnostics=True needs the spike matrix in memory (the Ljung-Box and ADF tests read "
                         "whole series); analyse a chunked recording without diagnostics, or load it "
                         "(read_store(path)) if it fits")
    nodes = node_statistics(view, window, ddof=ddof)
    w = nodes.attrs["window"]
    summary = network_summary(nodes)
    rec = spikes if isinstance(spikes, Recording) else None
    summary["time_unit"] = nodes.attrs["time_unit"]
    summary["n_trials"] = rec.n_trials if rec is not None else 1
    result = NetworkAnalysis(nodes=nodes, summary=summary, window=w if view.time_base == "sample" else w * pq.s,
                             n_samples=view.n_samples, layer=layer)
    if rec is not None and rec.n_trials > 1:
        result.views = dict(VIEWS[view.time_base])
        if view.time_base == "physical":
            from .trials import trial_statistics

            result.trials = trial_statistics(rec, condition=condition, ddof=ddof, psth_bin=psth_bin)
        elif condition or rec.condition:
            from .trials import trial_statistics

            result.trials = trial_statistics(rec, condition=condition, ddof=ddof, per_trial=False, psth_bin=None)
    else:
        result.views = {"all statistics": "the recording as given (one trial)"}
    _warn_flags(result)
    if diagnostics:
        from .diagnostics import diagnose

        per_node, tests = diagnose(view, nodes, window=None, alpha=alpha, lags=lags, seed=seed)
        result.nodes = nodes.join(per_node)
        result.nodes.attrs.update(nodes.attrs)
        result.tests = tests
    return result


def _warn_flags(result, stacklevel=2):
    """Warn with the summary flags, pointing at the caller of analyze (stacklevel counted from analyze)."""
    if result.summary["flags"]:
        warnings.warn(f"{result.summary['flags']}: raw Fano factors and their network summaries are biased at "
                      f"this size; compare the *_dispersion statistics (mean 1 under the null at any N)",
                      SmallSampleWarning, stacklevel=stacklevel + 1)
