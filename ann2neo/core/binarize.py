"""Thresholding activations into spikes: activation > threshold is a spike."""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["SpikeMatrix", "binarize"]


class SpikeMatrix(np.ndarray):
    """Boolean spike matrix of one layer, shape ``(n_samples, n_nodes)``.

    A plain :class:`numpy.ndarray` (dtype ``bool``; row ``k`` is input sample
    ``k``, column ``j`` is node ``j``) that also carries where it came from:

    Attributes
    ----------
    layer_shape : tuple of int
        Shape of one sample's activation in the layer (e.g. ``(26, 26, 32)``
        for a convolution); nodes are its C-order flattening.
    threshold : float or None
        Activation threshold used (activation > threshold is a spike).
    layer : str or None
        Name of the recorded layer.

    Any arithmetic or reduction on it returns a plain ndarray; slicing rows keeps
    the metadata.
    """

    def __new__(cls, spikes, layer_shape=None, threshold=None, layer=None):
        arr = np.asarray(spikes)
        if arr.dtype != bool:
            raise TypeError(f"SpikeMatrix needs a boolean array, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(f"SpikeMatrix needs shape (n_samples, n_nodes), got {arr.shape}")
        obj = arr.view(cls)
        obj.layer_shape = tuple(int(n) for n in layer_shape) if layer_shape is not None else (arr.shape[1],)
        if int(np.prod(obj.layer_shape)) != arr.shape[1]:
            raise ValueError(f"layer_shape {obj.layer_shape} does not hold {arr.shape[1]} nodes")
        obj.threshold = None if threshold is None else float(threshold)
        obj.layer = layer
        return obj

    def __array_finalize__(self, obj):
        if obj is None:
            return
        layer_shape = getattr(obj, "layer_shape", None)
        # A column slice no longer matches the layer's shape: fall back to flat nodes.
        if layer_shape is not None and self.ndim == 2 and int(np.prod(layer_shape)) != self.shape[1]:
            layer_shape = (self.shape[1],)
        self.layer_shape = layer_shape
        self.threshold = getattr(obj, "threshold", None)
        self.layer = getattr(obj, "layer", None)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # Results of ufuncs and reductions (sums, comparisons) are plain data.
        if return_scalar:
            return array[()]
        return np.asarray(array)

    def __reduce__(self):  # pickling keeps the metadata
        state = super().__reduce__()
        return state[0], state[1], state[2] + (self.layer_shape, self.threshold, self.layer)

    def __setstate__(self, state):
        *base, self.layer_shape, self.threshold, self.layer = state
        super().__setstate__(tuple(base))


def check_threshold(threshold) -> float:
    """Return ``threshold`` as a finite float or raise ValueError."""
    if isinstance(threshold, bool) or not isinstance(threshold, (numbers.Real, np.number)):
        raise ValueError(f"threshold must be a real number, got {threshold!r}")
    threshold = float(threshold)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    return threshold


def binarize(activations, threshold=0.0, layer=None) -> SpikeMatrix:
    """Threshold activations into a boolean spike matrix.

    A node spikes on a sample when its activation is strictly greater than
    ``threshold`` (paper section 2.2.2: "binarizing every node with activation
    values above 0 to 1").

    Parameters
    ----------
    activations : array_like, shape (n_samples, n_nodes) or (n_samples, *layer_shape)
        Real-valued activations of one layer, one row per input sample in the
        order the samples were fed to the network.  Extra axes are flattened to
        nodes in C order; the original per-sample shape is kept as
        ``layer_shape``.  The input is not modified.
    threshold : float, default 0.0
        Activation threshold.
    layer : str, optional
        Layer name stored with the result.

    Returns
    -------
    SpikeMatrix, shape (n_samples, n_nodes), dtype bool
        ``True`` where a node spiked.

    Raises
    ------
    ValueError
        If ``activations`` has fewer than 2 dimensions, no samples or no nodes,
        contains NaN or ±Inf (their spike/no-spike meaning is undefined), or if
        ``threshold`` is not a finite number.
    TypeError
        If ``activations`` is not numeric.
    """
    threshold = check_threshold(threshold)
    arr = np.asarray(activations)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"activations must be numeric, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(
            f"activations must have shape (n_samples, n_nodes) or (n_samples, *layer_shape), "
            f"got shape {arr.shape}; for a single node use activations.reshape(-1, 1)"
        )
    n_samples, layer_shape = arr.shape[0], arr.shape[1:]
    n_nodes = int(np.prod(layer_shape))
    if n_samples == 0:
        raise ValueError("activations hold no samples (shape %s)" % (arr.shape,))
    if n_nodes == 0:
        raise ValueError(f"the layer is empty: activations of shape {arr.shape} hold no nodes")
    flat = arr.reshape(n_samples, n_nodes)
    if np.issubdtype(flat.dtype, np.inexact):
        finite = np.isfinite(flat)
        if not finite.all():
            bad = np.argwhere(~finite)
            first = tuple(int(i) for i in bad[0])
            raise ValueError(
                f"activations contain {len(bad)} non-finite values (NaN or Inf), first at "
                f"(sample, node) = {first}: {flat[first]}. A NaN activation is neither a spike "
                f"nor silence; fix the model or the data before binarizing."
            )
    return SpikeMatrix(flat > threshold, layer_shape=layer_shape, threshold=threshold, layer=layer)


def as_spike_matrix(spikes, name: str = "spikes") -> np.ndarray:
    """Validate a boolean spike matrix ``(n_samples, n_nodes)`` and return it.

    Accepts bool arrays, or integer arrays holding only 0 and 1.

    Raises
    ------
    ValueError
        On wrong shape, empty layer, no samples, or values other than 0/1.
    """
    arr = np.asarray(spikes)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix (n_samples, n_nodes), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} hold no samples (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: the layer is empty (shape {arr.shape}, no nodes)")
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{name} must be boolean, got dtype {arr.dtype}")
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(
                f"{name} must be binary (spike or no spike per sample); got values other than "
                f"0 and 1 — threshold activations with ann2neo.binarize first"
            )
        arr = arr.astype(bool)
    return arr
