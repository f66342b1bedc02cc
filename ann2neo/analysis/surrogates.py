"""Surrogate spike trains: Elephant's Poisson process and Bernoulli trains on the sample grid.

Both draw from a local :class:`numpy.random.Generator` only
(:func:`ann2neo.core.validation.check_random_state`); numpy's global random
state is never read or reseeded.
"""
from __future__ import annotations

import numpy as np

from ..core.units import sample
from ..core.validation import check_integer, check_random_state
from .nullmodel import check_rates

__all__ = ["poisson_surrogates", "bernoulli_surrogates"]


def poisson_surrogates(rates, n_samples, n_surrogates=1, seed=None):
    """Stationary Poisson spike trains (Elephant) at given rates, in continuous sample time.

    Parameters
    ----------
    rates : float or array_like, shape (n_nodes,)
        Rates in spikes/sample: each node's λ, or one network MFR.
    n_samples : int
        Duration in samples (t_stop), >= 1.
    n_surrogates : int, default 1
    seed : None, int or numpy.random.Generator, optional
        Seed of a local generator; numpy's global state is left untouched.

    Returns
    -------
    list (n_surrogates) of list (n_nodes) of neo.SpikeTrain
        Times in :data:`ann2neo.sample` (not on the integer grid), in [0, n_samples).

    Raises
    ------
    ValueError
        For a rate outside [0, 1] or NaN, or a non-positive ``n_samples`` / ``n_surrogates``.
    TypeError
        For a ``seed`` that is not None, an int or a Generator.

    Notes
    -----
    The trains come from Elephant's ``StationaryPoissonProcess`` (1.2.1), which
    takes no random generator: it draws its exponential ISIs with
    ``isi_generator.rvs()``, a frozen ``scipy.stats.expon`` that uses numpy's
    global state.  Setting that frozen distribution's ``random_state`` to the
    local Generator — scipy's documented hook — makes Elephant draw every ISI
    (the first spike of its equilibrium process included) from it.

    Examples
    --------
    >>> trains = poisson_surrogates([0.1, 0.5], 1000, n_surrogates=2, seed=0)
    >>> len(trains), len(trains[0])
    (2, 2)
    """
    from elephant.spike_train_generation import StationaryPoissonProcess

    rates = np.atleast_1d(check_rates(rates, allow_nan=False))
    n_samples = check_integer(n_samples, "n_samples", min_value=1)
    n_surrogates = check_integer(n_surrogates, "n_surrogates", min_value=1)
    rng = check_random_state(seed)
    out = []
    for _ in range(n_surrogates):
        trains = []
        for r in rates:
            process = StationaryPoissonProcess(rate=r / sample, t_start=0 * sample, t_stop=n_samples * sample)
            if hasattr(process, "isi_generator"):  # absent at rate 0: Elephant returns an empty train
                process.isi_generator.random_state = rng
            trains.append(process.generate_spiketrain())
        out.append(trains)
    return out


def bernoulli_surrogates(rates, n_samples, n_surrogates=1, seed=None):
    """Independent binary spike matrices: each node spikes on each sample with probability λ.

    The discrete-time null of a binarized node (see :mod:`ann2neo.analysis.nullmodel`).

    Parameters
    ----------
    rates : float or array_like, shape (n_nodes,)
        λ in spikes/sample, in [0, 1].
    n_samples : int
    n_surrogates : int, default 1
    seed : None, int or numpy.random.Generator, optional
        Seed of a local generator; numpy's global state is left untouched.

    Returns
    -------
    ndarray of bool, shape (n_surrogates, n_samples, n_nodes)

    Raises
    ------
    ValueError
        For a rate outside [0, 1] or NaN, or a non-positive ``n_samples`` / ``n_surrogates``.

    Examples
    --------
    >>> bernoulli_surrogates([0.0, 1.0], 3, seed=0)[0].astype(int).tolist()
    [[0, 1], [0, 1], [0, 1]]
    """
    rates = np.atleast_1d(check_rates(rates, allow_nan=False))
    n_samples = check_integer(n_samples, "n_samples", min_value=1)
    n_surrogates = check_integer(n_surrogates, "n_surrogates", min_value=1)
    rng = check_random_state(seed)
    return rng.random((n_surrogates, n_samples, rates.size)) < rates
