"""Plots (matplotlib, imported lazily)."""
from __future__ import annotations

import numpy as np

from .core.conversion import spike_matrix

__all__ = ["plot_cumulative_counts"]


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

    matrix = spike_matrix(spikes)
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
