"""Surrogate spike trains: Elephant's Poisson process and Bernoulli trains on the sample grid."""
from __future__ import annotations

import numpy as np

from ..core.units import sample
from .nullmodel import check_rates

__all__ = ["poisson_surrogates", "bernoulli_surrogates"]


def poisson_surrogates(rates, n_samples, n_surrogates=1, seed=None):
    """Stationary Poisson spike trains (Elephant) at given rates, in continuous sample time.

    Parameters
    ----------
    rates : float or array_like, shape (n_nodes,)
        Rates in spikes/sample: each node's λ, or one network MFR.
    n_samples : int
        Duration in samples (t_stop).
    n_surrogates : int, default 1
    seed : int, optional
        Seeds numpy's global generator, which Elephant draws from.

    Returns
    -------
    list (n_surrogates) of list (n_nodes) of neo.SpikeTrain
        Times in :data:`ann2neo.sample` (not on the integer grid).
    """
    from elephant.spike_train_generation import StationaryPoissonProcess

    rates = np.atleast_1d(check_rates(rates, allow_nan=False))
    if seed is not None:
        np.random.seed(seed)
    out = []
    for _ in range(int(n_surrogates)):
        trains = []
        for r in rates:
            process = StationaryPoissonProcess(rate=r / sample, t_start=0 * sample, t_stop=int(n_samples) * sample)
            trains.append(process.generate_spiketrain())
        out.append(trains)
    return out


def bernoulli_surrogates(rates, n_samples, n_surrogates=1, seed=None):
    """Independent binary spike matrices: each node spikes on each sample with probability λ.

    The discrete-time null of a binarized node (see :mod:`ann2neo.analysis.nullmodel`).

    Returns
    -------
    ndarray of bool, shape (n_surrogates, n_samples, n_nodes)
    """
    rates = np.atleast_1d(check_rates(rates, allow_nan=False))
    rng = np.random.default_rng(seed)
    return rng.random((int(n_surrogates), int(n_samples), rates.size)) < rates
