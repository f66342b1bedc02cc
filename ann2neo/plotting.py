"""Plots (matplotlib, imported lazily)."""
from __future__ import annotations

import numpy as np

from .core.conversion import as_spike_matrix

__all__ = ["plot_cumulative_counts", "plot_raster", "plot_comparison", "plot_threshold_sweep", "plot_layer_scan"]


def plot_cumulative_counts(spikes, nodes=None, n_surrogates=100, rate="network", null="poisson",
                           ci=0.95, seed=0, ax=None):
    """Cumulative spike counts of observed nodes against simulated processes (paper Figure 2).

    Parameters
    ----------
    spikes : array_like of bool (n_samples, n_nodes), list of neo.SpikeTrain or neo.Segment
    nodes : sequence of int, optional
        Nodes to draw; default up to 10 evenly spaced nodes.
    n_surrogates : int, default 100
    rate : {"network", "node"}
        Simulate at the network MFR (one band) or at each drawn node's rate.
    null : {"poisson", "bernoulli"}
        Elephant's stationary Poisson process or Bernoulli trains on the sample grid.
    ci : float, default 0.95
        Width of the simulated band (pointwise quantiles).
    seed : int, default 0
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from .analysis.surrogates import bernoulli_surrogates, poisson_surrogates

    matrix = as_spike_matrix(spikes)
    n_samples, n_nodes = matrix.shape
    nodes = np.unique(np.linspace(0, n_nodes - 1, min(10, n_nodes)).astype(int)) if nodes is None else np.asarray(nodes)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    t = np.arange(1, n_samples + 1)
    for j in nodes:
        ax.plot(t, np.cumsum(matrix[:, j]), color="k", lw=0.8, alpha=0.7)
    rates = matrix[:, nodes].mean(axis=0) if rate == "node" else np.array([matrix.mean()])
    lo_q, hi_q = (1 - ci) / 2, 1 - (1 - ci) / 2
    for r in rates:
        if null == "bernoulli":
            sims = np.cumsum(bernoulli_surrogates(r, n_samples, n_surrogates, seed)[:, :, 0], axis=1)
        else:
            trains = poisson_surrogates(r, n_samples, n_surrogates, seed)
            sims = np.stack([np.searchsorted(np.sort(s[0].magnitude), t, side="right") for s in trains])
        ax.fill_between(t, np.quantile(sims, lo_q, axis=0), np.quantile(sims, hi_q, axis=0), color="C1", alpha=0.3)
        ax.plot(t, sims.mean(axis=0), color="C1", lw=1.2)
    ax.plot([], [], color="k", label="observed nodes")
    process = {"poisson": "Poisson", "bernoulli": "Bernoulli"}.get(null, null)
    at = "each node's rate" if rate == "node" else f"the network MFR {rates[0]:.3f}"
    ax.fill_between([], [], [], color="C1", alpha=0.3,
                    label=f"simulated {process} at {at} ({ci:.0%} band)")
    ax.set_xlabel("sample")
    ax.set_ylabel("cumulative spike count")
    ax.legend(loc="upper left")
    return ax


def _raster_data(data, n_max):
    """(spike-time arrays, x label, y label) of up to ``n_max`` rows: nodes, units, or the trials of one unit."""
    from .analysis._timebase import as_view

    view = as_view(data)
    if view.time_base == "physical":
        if any(len(segs) > 1 for segs in view.segments):  # trials of a unit are not units: one row per trial
            name = view.names[0] if view.names else "unit 0"
            return [t for t, _, _ in view.segments[0][:n_max]], "time (s)", f"trial ({name})"
        return [segs[0][0] for segs in view.segments[:n_max]], "time (s)", "unit"
    matrix = view.matrix
    return [np.flatnonzero(matrix[:, j]) for j in range(min(n_max, matrix.shape[1]))], "sample", "node"


def plot_raster(data, n_max=20, span=None, ax=None, color="k"):
    """Raster of up to ``n_max`` nodes or units: ANN trains in samples, recorded trains in seconds.

    Parameters
    ----------
    data : spike matrix, spike trains (samples or physical time) or neo.Segment
    n_max : int, default 20
    span : (float, float), optional
        x range shown (samples or s).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    times, label, row_label = _raster_data(data, n_max)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    ax.eventplot(times, colors=color, linelengths=0.8, linewidths=0.6)
    if span is not None:
        ax.set_xlim(*span)
    ax.set_xlabel(label)
    ax.set_ylabel(row_label)
    return ax


def _ecdf(ax, values, label, color):
    values = np.sort(np.asarray(values, float)[np.isfinite(values)])
    if values.size:
        ax.step(values, np.arange(1, values.size + 1) / values.size, where="post", label=label, color=color)


def plot_comparison(result, ann=None, real=None, ann_span=(0, 500), real_span=None):
    """The figure of :func:`ann2neo.compare`: rasters, distributions and Fano-factor-vs-window curves.

    Parameters
    ----------
    result : ann2neo.analysis.compare.Comparison
    ann, real : recordings, optional
        The data compared, for the rasters (panels left empty without them).
    ann_span : (int, int), default (0, 500)
        Samples shown in the ANN raster.
    real_span : (float, float), optional
        Seconds shown in the recorded raster (default: the first 20 s).

    Returns
    -------
    matplotlib.figure.Figure
        Six panels: ANN raster, recorded raster, firing-rate ECDFs in Hz (through
        ``result.sample_duration``), ECDFs of CV and LV relative to each side's
        null, mean Fano factor and mean dispersion against the window (ANN in
        samples, recording in ms, on one log axis whose unit differs by curve).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    ann_color, real_color = "C0", "C3"
    if ann is not None:
        plot_raster(ann, span=ann_span, ax=axes[0, 0], color=ann_color)
    axes[0, 0].set_title("ANN layer (first nodes)")
    if real is not None:
        plot_raster(real, span=real_span or (0, 20), ax=axes[0, 1], color=real_color)
    axes[0, 1].set_title("recorded units")
    seconds = float(result.sample_duration.rescale("s"))
    ax = axes[0, 2]
    _ecdf(ax, result.nodes["ann"]["firing_rate"] / seconds, f"ANN (1 sample = {result.sample_duration})", ann_color)
    _ecdf(ax, result.nodes["real"]["firing_rate"], "recorded", real_color)
    ax.set_xscale("log")
    ax.set_xlabel("firing rate (Hz)")
    ax.set_ylabel("fraction of nodes")
    ax.set_title("rate distributions")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    for name, style in (("cv_dispersion", "-"), ("lv_dispersion", "--")):
        for pop, color in (("ann", ann_color), ("real", real_color)):
            values = result.nodes[pop][name]
            if np.isfinite(values).any():
                label = "CV² / null CV²" if name == "cv_dispersion" else "LV / null LV"
                _ecdf(ax, values, f"{pop}: {label}", color)
                ax.lines[-1].set_linestyle(style)
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("CV² and LV relative to the null (Bernoulli for ANN, Poisson for recorded)")
    ax.set_ylabel("fraction of nodes")
    ax.legend(fontsize=8)
    for ax, column, title in ((axes[1, 1], "mean_fano_factor", "mean Fano factor"),
                              (axes[1, 2], "mean_dispersion", "mean Fano factor / null")):
        for pop, color, unit in (("ann", ann_color, "samples"), ("real", real_color, "ms")):
            c = result.fano_curve[result.fano_curve.population == pop]
            ax.plot(c["window"], c[column], "o-", color=color, label=f"{pop} (window in {unit})")
        if column == "mean_dispersion":
            ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("window (ANN: samples; recorded: ms)")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle("ANN layer against recorded units; " + "; ".join(result.notes[-1:]), fontsize=10)
    fig.tight_layout()
    return fig


def plot_threshold_sweep(table, columns=("mfr", "mf", "mean_dispersion")):
    """Statistics against the spike threshold, one panel per rule (:func:`~ann2neo.analysis.threshold.threshold_sweep`).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of ``threshold_sweep``.
    columns : sequence of str
        Summary columns drawn (one line each).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rules = list(dict.fromkeys(table["rule"]))
    fig, axes = plt.subplots(1, len(rules), figsize=(4.5 * len(rules), 3.6), squeeze=False)
    xlabel = {"absolute": "threshold (activation units)", "quantile": "per-node quantile q",
              "fraction_of_max": "fraction f of each node's maximum"}
    for ax, rule in zip(axes[0], rules, strict=True):
        part = table[table["rule"] == rule]
        for column in columns:
            ax.plot(part["parameter"], part[column], "o-", label=column)
        if rule == "absolute" and (part["parameter"] == 0).any():
            ax.axvline(0.0, color="grey", lw=0.8, ls=":", label="paper (0)")
        ax.set_xlabel(xlabel.get(rule, rule))
        ax.set_title(rule)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_layer_scan(table, columns=("mfr", "mf", "mean_dispersion", "mean_cv_dispersion")):
    """Statistics of every layer against depth, one line per condition (:func:`~ann2neo.experiments.depth.layer_scan`).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of ``layer_scan``.
    columns : sequence of str
        Columns drawn, one panel each (missing or all-NaN columns are skipped).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    columns = [c for c in columns if c in table and table[c].notna().any()]
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.8), squeeze=False)
    first = table[table["condition"] == table["condition"].iloc[0]]
    labels = [f"{name}\n({shape})" for name, shape in zip(first["layer"], first["layer_shape"], strict=True)]
    for ax, column in zip(axes[0], columns, strict=True):
        for condition, part in table.groupby("condition", sort=False):
            ax.plot(part["depth"], part[column].astype(float), "o-", label=condition)
        if "dispersion" in column:
            ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_xticks(list(first["depth"]), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(column)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("memorization across depth: every layer, same inputs, same order")
    fig.tight_layout()
    return fig
