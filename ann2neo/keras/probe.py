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
    layers : str or list of str, optional
        Layer names; default the last hidden layer.
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
    import keras

    from .recording import last_hidden_layer

    batch_size = check_integer(batch_size, "batch_size", min_value=1)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"x holds no samples (shape {arr.shape})")
    names = [layer.name for layer in model.layers]
    layers = [last_hidden_layer(model)] if layers is None else [layers] if isinstance(layers, str) else list(layers)
    for name in layers:
        if name not in names:
            raise ValueError(f"model {model.name!r} has no layer {name!r}; its layers are {names}")
    tap = keras.Model(model.inputs, [model.get_layer(name).output for name in layers])
    outputs = tap.predict(arr, batch_size=batch_size, verbose=0)
    if len(layers) == 1 and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    result = {}
    for name, out in zip(layers, outputs, strict=True):
        out = np.asarray(out)
        bad = ~np.isfinite(out.reshape(out.shape[0], -1)).all(axis=1)
        if bad.any():
            raise ValueError(f"non-finite activations in layer {name!r} for samples "
                             f"{np.flatnonzero(bad)[:10].tolist()}; check the model and the inputs")
        result[name] = out
    return result
