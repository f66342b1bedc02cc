"""One call for the paper's per-network analysis of a recording."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from ..core.conversion import as_spike_matrix
from ..core.order import check_order
from ..core.units import as_samples
from ..core.validation import check_integer, check_probability
from . import physical
from .statistics import SmallSampleWarning, is_chunked, network_summary, node_statistics

__all__ = ["NetworkAnalysis", "analyze"]


@dataclass
class NetworkAnalysis:
    """Result of :func:`analyze` for one recording (one layer, one split).

    Attributes
    ----------
    nodes : pandas.DataFrame
        Per-node table (see :func:`ann2neo.node_statistics`), plus per-node test
        results when diagnostics were requested.
    summary : dict
        Network summary (see :func:`ann2neo.network_summary`): ``mfr``, ``cv_fr``,
        ``mf``, ``cv_ff``, the finite-N null and its ratios, ``n_windows`` and
        ``flags`` ("" when nothing is wrong).
    tests : dict
        Network-level diagnostics (empty unless ``diagnostics=True``).
    window : int or pq.Quantity
        Fano-factor window in samples, or in s for spike trains in physical time.
    n_samples : int or None
        Length of the recording in samples (None for physical-time trains).
    layer : str or None
        Name of the layer analysed (from the recording, e.g.
        ``SpikeMatrix.layer``, or the ``layer`` argument); None when unknown.
    """

    nodes: pd.DataFrame
    summary: dict
    window: int
    n_samples: int | None
    tests: dict = field(default_factory=dict)
    layer: str | None = None

    def to_dict(self) -> dict:
        """Summary and network-level tests as one flat dict."""
        window = self.window
        if hasattr(window, "units"):  # physical time: plain seconds in a flat dict
            return {"layer": self.layer, **self.summary, **self.tests, "window_s": float(window.rescale("s")),
                    "n_samples": None}
        return {"layer": self.layer, **self.summary, **self.tests, "window": self.window, "n_samples": self.n_samples}


def analyze(spikes, window=100, *, diagnostics=False, alpha=0.05, lags=10, seed=None, ddof=0,
            client=None, labels=None, layer=None) -> NetworkAnalysis:
    """Analyze a recording the way arXiv:2308.00858 does, in one call.

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
        One layer's recording (samples), or recorded spike trains in physical
        time (s, ms), which are analysed from their spike times without binning
        against the Poisson null (:mod:`ann2neo.analysis.physical`; rates in Hz).
    window : int or pq.Quantity, default 100
        Fano-factor window: samples (paper: 100) for an ANN recording; a time
        quantity such as ``100 * pq.ms`` for physical-time trains.
    diagnostics : bool, default False
        Also run the Poisson-model diagnostics of sections 3.3.1 (Fano factor
        test of Eden & Kramer 2010 against the Poisson and the Bernoulli null,
        Ljung-Box independence, ADF stationarity); see
        :func:`ann2neo.analysis.diagnostics.diagnose`.
    alpha : float, default 0.05
        Significance level of the diagnostics.
    lags : int, default 10
        Ljung-Box lags.
    seed : None, int or numpy.random.Generator, optional
        Seed of the conditional simulation of the Bernoulli Fano factor test
        (used for nodes outside the Gamma approximation's validity region).
    ddof : {0, 1}, default 0
        Variance of the Fano factor and the CV (0 as Elephant).
    client : dask.distributed.Client, optional
        Cluster for a chunked (dask or Zarr) recording; default Dask's local
        threaded scheduler.  A chunked recording gives the in-memory numbers
        (statistics only: ``diagnostics=True`` needs the matrix in memory).
    labels : array_like, shape (n_samples,) or one-hot, optional
        Label of the input sample at each time step; checked for order (an
        :class:`ann2neo.OrderWarning` when sorted or in runs, since the order
        decides the Fano factor, CV, LV, their dispersions, Ljung-Box and ADF).
    layer : str, optional
        Name of the layer, for the result; default ``spikes.layer`` (a
        :class:`ann2neo.SpikeMatrix` from :func:`ann2neo.record`).

    Returns
    -------
    NetworkAnalysis
        ``.nodes`` (DataFrame, one row per node), ``.summary`` (dict with
        ``mfr``, ``cv_fr`` and ``cv_ff`` in %, ``mf``, ``n_windows``,
        ``flags`` ...), ``.tests``, ``.layer`` (the layer analysed).

    Raises
    ------
    ValueError
        On a matrix that is not 2-D binary, a window longer than the recording,
        ``alpha`` outside (0, 1) or ``lags`` not a positive whole number.
    TypeError
        On ``alpha`` or ``lags`` that are not numbers.
    ann2neo.UnitError
        On a window in samples for trains in physical time, or the reverse,
        or trains mixing the two.

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
    >>> r.summary["n_windows"], r.summary["flags"]
    (20, '')
    """
    alpha = check_probability(alpha, "alpha")
    lags = check_integer(lags, "lags", min_value=1)
    if layer is None:
        layer = getattr(spikes, "layer", None)
    if labels is not None:
        n = len(labels)
        if not physical.is_physical(spikes) and n != spikes.shape[0]:
            raise ValueError(f"labels has {n} entries for a recording of {spikes.shape[0]} samples; give the label "
                             f"of the input at each time step")
        check_order(labels, where="the recording analysed", stacklevel=2)
    if physical.is_physical(spikes):  # recorded spike trains in s or ms
        result = _analyze_physical(spikes, window, diagnostics=diagnostics, alpha=alpha, lags=lags, ddof=ddof)
        result.layer = layer
        return result
    if is_chunked(spikes):  # out of core: Dask, chunk by chunk
        if diagnostics:
            raise ValueError("diagnostics=True needs the spike matrix in memory (the Ljung-Box and ADF tests read "
                             "whole series); analyse a chunked recording without diagnostics, or load it "
                             "(read_store(path)) if it fits")
        nodes = node_statistics(spikes, window, ddof=ddof, client=client)
        result = NetworkAnalysis(nodes=nodes, summary=network_summary(nodes),
                                 window=int(as_samples(window, "window")), n_samples=int(spikes.shape[0]), layer=layer)
        _warn_flags(result)
        return result
    matrix = as_spike_matrix(spikes)
    if layer is None:
        layer = getattr(matrix, "layer", None)  # e.g. from the trains' annotations
    nodes = node_statistics(matrix, window, ddof=ddof)
    result = NetworkAnalysis(nodes=nodes, summary=network_summary(nodes),
                             window=int(as_samples(window, "window")), n_samples=int(matrix.shape[0]), layer=layer)
    _warn_flags(result)
    if diagnostics:
        from .diagnostics import diagnose

        per_node, tests = diagnose(matrix, nodes, window=result.window, alpha=alpha, lags=lags, seed=seed)
        result.nodes = nodes.join(per_node)
        result.tests = tests
    return result


def _analyze_physical(trains, window, *, diagnostics, alpha, lags, ddof):
    """:func:`analyze` for spike trains in physical time (Poisson null, rates in Hz)."""
    trains = physical.physical_trains(trains)
    nodes = physical.node_statistics(trains, window, ddof=ddof)
    result = NetworkAnalysis(nodes=nodes, summary=network_summary(nodes), window=physical.check_time_window(window,
                             trains), n_samples=None)
    _warn_flags(result, stacklevel=3)
    if diagnostics:
        per_node, tests = physical.diagnose(trains, nodes, window=window, alpha=alpha, lags=lags)
        result.nodes = nodes.join(per_node)
        result.tests = tests
    return result


def _warn_flags(result, stacklevel=2):
    """Warn with the summary flags, pointing at the caller of analyze (stacklevel counted from analyze)."""
    if result.summary["flags"]:
        warnings.warn(f"{result.summary['flags']}: raw Fano factors and their network summaries are biased at "
                      f"this size; compare the *_dispersion statistics (mean 1 under the null at any N)",
                      SmallSampleWarning, stacklevel=stacklevel + 1)
