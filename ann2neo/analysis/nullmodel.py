r"""Discrete-time null model of a binarized node: the Bernoulli process.

A thresholded node emits at most one spike per sample.  If its spikes are
independent with probability :math:`\lambda` per sample (its firing rate in
spikes/sample), it is a Bernoulli process, not a Poisson process:

* the count in a window of :math:`w` samples is :math:`\mathrm{Binomial}(w, \lambda)`,
  with mean :math:`w\lambda` and variance :math:`w\lambda(1-\lambda)`, so its
  **Fano factor is** :math:`1 - \lambda` for every window length;
* the inter-spike intervals are geometric on :math:`\{1, 2, \dots\}` with mean
  :math:`1/\lambda` and variance :math:`(1-\lambda)/\lambda^2`, so the
  **CV of the ISIs is** :math:`\sqrt{1 - \lambda}`.

The Poisson values (Fano factor 1, CV 1) are only the :math:`\lambda \to 0`
limit.  That is why, in arXiv:2308.00858 Table 5, mean Fano factors equal
``1 - MFR`` almost exactly (Dense-64 MNIST: MFR 0.62/0.03/0.12/0.45, MF
0.38/0.97/0.87/0.55) and "most Fano factors are significantly below 1": the
binary arithmetic, not network structure, puts them there.  ann2neo reports
each statistic relative to this null — ``dispersion = F / (1 - λ)`` and
``cv_dispersion = CV / sqrt(1 - λ)`` — which are 1 for independent spiking,
above 1 for bursty/clustered spiking and below 1 for regular spiking.

With :math:`N` windows and the population (ddof=0) variance, the expected
estimate is :math:`(1-\lambda)(N-1)/N` (e.g. 0.998 of the null for N = 600).
"""
from __future__ import annotations

import numpy as np

__all__ = ["bernoulli_fano_factor", "bernoulli_cv_isi", "bernoulli_fano_factor_variance", "dispersion", "cv_dispersion"]


def check_rates(rate, allow_nan=True):
    """Validate firing rates of binarized nodes: spikes/sample in [0, 1].

    Parameters
    ----------
    rate : float or array_like
    allow_nan : bool, default True
        Let NaN through (it propagates to NaN results); False rejects it.

    Returns
    -------
    ndarray of float64, same shape as ``rate``

    Raises
    ------
    ValueError
        For a rate outside [0, 1], an infinite rate, or NaN when not allowed.
    """
    rate = np.asarray(rate, dtype=np.float64)
    bad = (rate < 0) | (rate > 1) | np.isinf(rate)
    if not allow_nan:
        bad |= np.isnan(rate)
    if np.any(bad):
        raise ValueError("firing rates of a binarized node are probabilities per sample, in [0, 1]; got "
                         f"{rate[bad].ravel()[:3].tolist()}")
    return rate


def bernoulli_fano_factor(rate):
    """Fano factor of window counts of a Bernoulli process: ``1 - rate``.

    Parameters
    ----------
    rate : float or ndarray
        Firing rate λ in spikes/sample, in [0, 1].

    Returns
    -------
    float or ndarray
        ``1 - λ`` (dimensionless), for any window length.

    Raises
    ------
    ValueError
        If a rate lies outside [0, 1].
    """
    return 1.0 - check_rates(rate)


def bernoulli_cv_isi(rate):
    """CV of the (geometric) ISIs of a Bernoulli process: ``sqrt(1 - rate)``.

    Parameters
    ----------
    rate : float or ndarray
        Firing rate λ in spikes/sample, in [0, 1].

    Returns
    -------
    float or ndarray
    """
    return np.sqrt(1.0 - check_rates(rate))


def dispersion(fano_factor, rate):
    """Fano factor relative to the Bernoulli null, ``F / (1 - λ)``.

    1 for independent spiking; NaN where ``λ = 1`` (the null has no variance)
    or the Fano factor is NaN (silent node).

    Parameters
    ----------
    fano_factor : float or ndarray
    rate : float or ndarray
        Firing rate λ in spikes/sample.

    Returns
    -------
    float or ndarray
    """
    null = bernoulli_fano_factor(rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(null > 0, np.asarray(fano_factor, dtype=float) / np.where(null > 0, null, 1.0), np.nan)


def cv_dispersion(cv_isi, rate):
    """CV of the ISIs relative to the Bernoulli null, ``CV / sqrt(1 - λ)``.

    Parameters
    ----------
    cv_isi : float or ndarray
    rate : float or ndarray
        Firing rate λ in spikes/sample.

    Returns
    -------
    float or ndarray
        1 for independent spiking; NaN where ``λ = 1`` or the CV is NaN.
    """
    null = bernoulli_cv_isi(rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(null > 0, np.asarray(cv_isi, dtype=float) / np.where(null > 0, null, 1.0), np.nan)


def bernoulli_fano_factor_variance(rate, window, n_windows):
    r"""Large-sample variance of the Fano factor of independent binary spiking.

    Window counts of an independent Bernoulli node are Binomial(w, λ); with
    :math:`q = 1 - λ` their central moments are :math:`\mu = wλ`,
    :math:`\sigma^2 = wλq`, :math:`\mu_3 = wλq(q - λ)`,
    :math:`\mu_4 = wλq(1 + 3(w-2)λq)`.  The delta method for
    :math:`F = S^2/\bar X` over N windows gives

    .. math:: \mathrm{Var}(F) \approx \frac{1}{N-1}\left[\frac{\mu_4-\sigma^4}{\mu^2}
              - \frac{2\sigma^2\mu_3}{\mu^3} + \frac{\sigma^6}{\mu^4}\right]
              = \frac{q\,(1 + (2w-3)\,q)}{w\,(N-1)},

    which tends to Eden & Kramer's Poisson value :math:`2/(N-1)` as
    :math:`w \to \infty,\ λ \to 0`.  (:math:`N-1` instead of :math:`N`,
    as Eden & Kramer, for the sample variance.)

    Parameters
    ----------
    rate : array_like of float
        λ in spikes/sample, in [0, 1].
    window : int
        w, window length in samples.
    n_windows : int
        N >= 2.

    Returns
    -------
    ndarray of float64, same shape as ``rate``

    Raises
    ------
    ValueError
        For a rate outside [0, 1], ``window < 1`` or ``n_windows < 2``.
    """
    q = 1.0 - check_rates(rate)
    if int(window) < 1 or int(n_windows) < 2:
        raise ValueError(f"need window >= 1 and n_windows >= 2, got {window} and {n_windows}")
    w = float(window)
    return q * (1.0 + (2.0 * w - 3.0) * q) / (w * (int(n_windows) - 1))
