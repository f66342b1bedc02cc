"""Float activations of a probe subset, for analyses that need more than spikes (threshold sweeps)."""
from __future__ import annotations

import numpy as np

from ..core.validation import check_integer

__all__ = ["record_activations"]


def record_activations(model, x, layers=None, batch_size=256) -> dict:
    """Float activations of chosen layers on a (small) probe set.

    :func:`ann2neo.record` keeps only spikes, so the float activations of a
    whole dataset are never held.  A threshold sweep needs the floats; take
    them on a probe subset only (e.g. 2,000 samples), once, and sweep on them
    (:func:`ann2neo.analysis.threshold.threshold_sweep`).

    Parameters
    ----------
    model : keras.Model
        A built Sequential or Functional Keras 3 model (any backend).
    x : ndarray, shape (n_probe, ``*input_shape``)
        Probe inputs.
    layers : str, list of str or "all", optional
        Layer names as for :func:`ann2neo.record`; default
        :func:`ann2neo.keras.default_layer`.
    batch_size : int, default 256

    Returns
    -------
    dict of str to ndarray, shape (n_probe, ``*layer_shape``)
        The layers' outputs as the backend computed them (float32 usually).

    Raises
    ------
    ValueError
        For an unknown layer (the message lists the model's layers), empty
        input, or non-finite activations (the samples are named).
    TypeError
        For a non-numeric probe or a bad ``batch_size``.

    Examples
    --------
    >>> acts = record_activations(model, x_test[:2000])  # doctest: +SKIP
    """
    from .recording import _check_model, _float_activations, _resolve_layers

    batch_size = check_integer(batch_size, "batch_size", min_value=1)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"x holds no samples (shape {arr.shape})")
    _check_model(model)
    chosen = _resolve_layers(model, layers)
    layers = [name for name, _ in chosen]
    outputs = _float_activations(model, [tensor for _, tensor in chosen], [arr], batch_size)
    result = {}
    for name, out in zip(layers, outputs, strict=True):
        out = np.asarray(out)
        bad = ~np.isfinite(out.reshape(out.shape[0], -1)).all(axis=1)
        if bad.any():
            raise ValueError(f"non-finite activations in layer {name!r} for samples "
                             f"{np.flatnonzero(bad)[:10].tolist()}; check the model and the inputs")
        result[name] = out
    return result
