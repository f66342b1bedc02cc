"""Thresholding activations into spikes: activation > threshold is a spike."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .validation import check_real_array, check_threshold, ml_dtype_kind

__all__ = ["SpikeMatrix", "binarize", "threshold_for_dtype"]


class SpikeMatrix(np.ndarray):
    """Boolean spike matrix of one layer, shape ``(n_samples, n_nodes)``.

    A plain :class:`numpy.ndarray` (dtype ``bool``; row ``k`` is input sample
    ``k``, column ``j`` is node ``nodes[j]`` of the layer) that also carries
    where it came from.

    Parameters
    ----------
    spikes : array_like of bool, shape (n_samples, n_nodes)
    layer_shape : tuple of int, optional
        Shape of one sample's activation in the layer (e.g. ``(26, 26, 32)``
        for a convolution); nodes are its C-order flattening.  Default
        ``(n_nodes,)``.
    threshold : float, optional
        Activation threshold used (activation > threshold is a spike).
    layer : str, optional
        Name of the recorded layer.
    nodes : array_like of int, shape (n_nodes,), optional
        Flat index in the layer of each column; default ``0 .. n_nodes - 1``.
        Set when the matrix holds a subset of the layer's nodes.

    Attributes
    ----------
    layer_shape : tuple of int
    threshold : float or None
    layer : str or None
    nodes : ndarray of int64, shape (n_nodes,)

    Raises
    ------
    TypeError
        If ``spikes`` is not boolean.
    ValueError
        If ``spikes`` is not 2-D, or ``layer_shape`` and ``nodes`` do not fit it.

    Notes
    -----
    Node identity survives indexing: selecting rows keeps every attribute,
    selecting columns (``m[:, [3, 7]]``, ``m[:, 10:20]``) keeps ``layer_shape``
    and narrows ``nodes``, so node 7 stays node 7.  Operations that would
    break the (sample, node) layout — a transpose, a reshape, a 1-D slice,
    arithmetic and reductions — return plain ndarrays.

    Examples
    --------
    >>> m = SpikeMatrix(np.zeros((5, 6), bool), layer_shape=(2, 3), layer="conv")
    >>> m[:, [4, 5]].nodes
    array([4, 5])
    >>> type(m.T).__name__
    'ndarray'
    """

    def __new__(cls, spikes, layer_shape=None, threshold=None, layer=None, nodes=None):  # noqa: D102
        arr = np.asarray(spikes)
        if arr.dtype != bool:
            raise TypeError(f"SpikeMatrix needs a boolean array, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(f"SpikeMatrix needs shape (n_samples, n_nodes), got {arr.shape}")
        obj = arr.view(cls)
        n_nodes = arr.shape[1]
        obj.layer_shape = tuple(int(n) for n in layer_shape) if layer_shape is not None else (n_nodes,)
        size = int(np.prod(obj.layer_shape))
        if nodes is None:
            if size != n_nodes:
                raise ValueError(f"layer_shape {obj.layer_shape} does not hold {n_nodes} nodes")
            obj.nodes = np.arange(n_nodes)
        else:
            obj.nodes = np.asarray(nodes, dtype=np.int64).reshape(-1)
            if obj.nodes.size != n_nodes:
                raise ValueError(f"nodes has {obj.nodes.size} entries for {n_nodes} columns")
            if n_nodes and (obj.nodes.min() < 0 or obj.nodes.max() >= size):
                raise ValueError(f"nodes must be flat indices in a layer of shape {obj.layer_shape}")
        obj.threshold = None if threshold is None else check_threshold(threshold)
        obj.layer = layer
        return obj

    def __array_finalize__(self, obj):
        if obj is None:
            return
        self.layer_shape = getattr(obj, "layer_shape", None)
        self.threshold = getattr(obj, "threshold", None)
        self.layer = getattr(obj, "layer", None)
        self.nodes = getattr(obj, "nodes", None)

    def __getitem__(self, key):
        result = super().__getitem__(key)
        if not isinstance(result, SpikeMatrix):
            return result
        columns = _column_key(key)
        if result.ndim != 2 or columns is None:
            return result.view(np.ndarray)  # not a (sample, node) matrix any more
        result.nodes = np.asarray(self.nodes)[columns]
        if result.nodes.shape != (result.shape[1],):
            return result.view(np.ndarray)
        return result

    @property
    def T(self):  # noqa: N802 - numpy's name
        """Transpose as a plain ndarray: a (node, sample) array is not a spike matrix."""
        return self.view(np.ndarray).T

    def transpose(self, *axes):
        """Transpose as a plain ndarray (see :attr:`T`)."""
        return self.view(np.ndarray).transpose(*axes)

    def reshape(self, *shape, **kwargs):
        """Reshape as a plain ndarray: a reshaped matrix has lost its (sample, node) layout."""
        return self.view(np.ndarray).reshape(*shape, **kwargs)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # Results of ufuncs and reductions (sums, comparisons) are plain data.
        if return_scalar:
            return array[()]
        return np.asarray(array)

    def __reduce__(self):  # pickling keeps the metadata
        state = super().__reduce__()
        return state[0], state[1], state[2] + (self.layer_shape, self.threshold, self.layer, self.nodes)

    def __setstate__(self, state):
        *base, self.layer_shape, self.threshold, self.layer, self.nodes = state
        super().__setstate__(tuple(base))


def _column_key(key):
    """The column part of an index into a 2-D matrix, or None when it is not a plain (rows, columns) index."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None or k is Ellipsis for k in key) or len(key) > 2:
        return None
    if len(key) == 1:
        rows = np.asarray(key[0]) if not isinstance(key[0], slice) else None
        if rows is not None and rows.dtype == bool and rows.ndim != 1:
            return None  # a 2-D boolean mask selects elements, not rows
        return slice(None)
    return key[1]


def _exact_threshold(threshold):
    """A validated threshold, kept exact: a Python int for an integer threshold, else a float.

    ``float(np.int64(2**53 + 1))`` is ``2**53``; Python compares ints and
    floats exactly, so keeping the int keeps every comparison exact.
    """
    value = check_threshold(threshold)
    if isinstance(threshold, (numbers.Integral, np.integer)):
        return int(threshold)
    return value


def threshold_for_dtype(threshold, dtype):
    """The threshold to compare in ``dtype`` so that ``x > t_d`` equals exact ``x > threshold``.

    Used by :func:`binarize` on the host and by :func:`ann2neo.record` inside
    the compiled step of every Keras backend, so both give the same spikes.

    Parameters
    ----------
    threshold : int or float
        Finite threshold.  An integer threshold (Python or numpy int) is used
        exactly, never rounded to a float (``2**53 + 1`` stays itself).
    dtype : numpy dtype or str
        Dtype of the activations: floating (float16, bfloat16, float32,
        float64, or another ``ml_dtypes`` float such as float8), integer or
        bool.

    Returns
    -------
    numpy scalar of ``dtype``, or float
        For floating dtypes, ``t_d``: the largest value of ``dtype`` that is
        ``<= threshold``.  For integers ``floor(threshold)`` as a value of the
        dtype, ``-inf`` below its range (every value spikes) and its maximum
        above it (none does).  Bool compares as int8.  For the ``ml_dtypes``
        floats other than bfloat16 (float8, float6, float4), whose values are
        all exact in float32, the float32 ``t_d``; for their integers (int4,
        ...) the int8 or uint8 one.

    Notes
    -----
    Rounding the threshold to the activations' dtype can go up or down (0.3
    is 0.2998 in float16, 0.30000001 in float32), so comparing ``x > t``
    after rounding misclassifies the activations equal to the rounded value.
    For every ``x`` representable in ``dtype``, ``x > threshold`` (exact real
    comparison) holds exactly when ``x > t_d``: there is no representable
    value in ``(t_d, threshold]`` other than ``t_d`` itself.

    Examples
    --------
    >>> float(threshold_for_dtype(0.3, np.float16)) <= 0.3
    True
    >>> bool(np.float16(0.30005) > threshold_for_dtype(0.3, np.float16))
    True
    """
    threshold = _exact_threshold(threshold)
    name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    if name != "bfloat16" and ml_dtype_kind(np.dtype(dtype)) is not None:
        return threshold_for_dtype(threshold, _ml_compute_dtype(np.dtype(dtype)))
    if name == "bfloat16":
        import ml_dtypes

        bf = ml_dtypes.bfloat16
        with np.errstate(over="ignore"):  # beyond float32: inf, stepped down to bfloat16's maximum below
            t = np.array(float(threshold), dtype=np.float32).astype(bf)
        if float(t) > threshold:  # rounded up: one step down through the bit pattern
            bits = t.view(np.uint16)
            if float(t) > 0:
                bits = np.uint16(bits - 1)
            elif float(t) < 0:
                bits = np.uint16(bits + 1)
            else:  # +0 (or -0) above a tiny negative threshold: the largest negative subnormal
                bits = np.uint16(0x8001)
            t = np.array(bits, dtype=np.uint16).view(bf)
        return t[()]
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        dtype = np.dtype(np.int8)
    if np.issubdtype(dtype, np.floating):
        with np.errstate(over="ignore"):  # beyond the dtype's range: inf, stepped down to its maximum below
            t = dtype.type(threshold)
        if float(t) > threshold:  # an exact comparison, also for an int threshold
            t = np.nextafter(t, dtype.type(-np.inf))
        return t
    info = np.iinfo(dtype)
    floor = math.floor(threshold)  # a Python int: exact for every int and float threshold
    if floor < info.min:
        return -np.inf
    if floor >= info.max:
        return dtype.type(info.max)
    return dtype.type(floor)


def _ml_compute_dtype(dtype):
    """The numpy dtype that holds every value of an ``ml_dtypes`` dtype exactly (float32, int8 or uint8)."""
    if ml_dtype_kind(dtype) == "f":
        return np.dtype(np.float32)
    import ml_dtypes

    return np.dtype(np.int8 if ml_dtypes.iinfo(dtype).min < 0 else np.uint8)


def binarize(activations, threshold=0.0, layer=None) -> SpikeMatrix:
    """Threshold activations into a boolean spike matrix.

    A node spikes on a sample when its activation is strictly greater than
    ``threshold`` (paper section 2.2.2: "binarizing every node with activation
    values above 0 to 1").  The comparison is exact for every real dtype
    (see :func:`threshold_for_dtype`): float16, float32 and float64 copies of
    the same activations give the same spikes whenever they hold the same
    values.

    Parameters
    ----------
    activations : array_like, shape (n_samples, n_nodes) or (n_samples, ``*layer_shape``)
        Real-valued activations of one layer (bool, integer or floating
        dtype), one row per input sample in the order the samples were fed
        to the network.  Extra axes are flattened to nodes in C order; the
        original per-sample shape is kept as ``layer_shape``.  The input is
        not modified.
    threshold : float or int, default 0.0
        Activation threshold (also a numpy or ``ml_dtypes`` scalar such as
        bfloat16).  Compared exactly: an integer threshold is not rounded to
        a float.
    layer : str, optional
        Layer name stored with the result.

    Returns
    -------
    SpikeMatrix, shape (n_samples, n_nodes), dtype bool
        ``True`` where a node spiked.

    Raises
    ------
    TypeError
        If ``activations`` are not real numbers (complex numbers have no
        order; timedelta, datetime, strings and objects are not activations),
        are a masked array with masked elements, or ``threshold`` is not a
        real number.
    ValueError
        If ``activations`` has fewer than 2 dimensions, no samples or no nodes,
        contains NaN or ±Inf (their spike/no-spike meaning is undefined), is an
        ``xarray.DataArray`` without a sample dim, or if ``threshold`` is not
        finite.

    Examples
    --------
    >>> spikes = binarize(np.array([[0.5, -1.0], [0.0, 2.0]]), layer="hidden")
    >>> spikes
    SpikeMatrix([[ True, False],
                 [False,  True]])
    >>> spikes.layer, spikes.layer_shape, spikes.threshold
    ('hidden', (2,), 0.0)
    >>> np.asarray(spikes, dtype=int)  # a plain ndarray of 0/1
    array([[1, 0],
           [0, 1]])
    """
    exact = _exact_threshold(threshold)
    threshold = check_threshold(threshold)
    arr = check_real_array(activations, "activations")
    if arr.ndim < 2:
        raise ValueError(
            f"activations must have shape (n_samples, n_nodes) or (n_samples, *layer_shape), "
            f"got shape {arr.shape}; for a single node use activations.reshape(-1, 1)"
        )
    n_samples, layer_shape = arr.shape[0], arr.shape[1:]
    n_nodes = int(np.prod(layer_shape))
    if n_samples == 0:
        raise ValueError(f"activations hold no samples (shape {arr.shape})")
    if n_nodes == 0:
        raise ValueError(f"the layer is empty: activations of shape {arr.shape} hold no nodes")
    flat = arr.reshape(n_samples, n_nodes)
    if flat.dtype.name != "bfloat16" and ml_dtype_kind(flat.dtype) is not None:  # float8, int4, ...: exact upcast
        flat = flat.astype(_ml_compute_dtype(flat.dtype))
    if np.issubdtype(flat.dtype, np.floating) or flat.dtype.name == "bfloat16":
        finite = np.isfinite(flat)
        if not finite.all():
            bad = np.argwhere(~finite)
            first = tuple(int(i) for i in bad[0])
            samples = np.unique(bad[:, 0])
            raise ValueError(
                f"activations contain {len(bad)} non-finite values (NaN or Inf) in {samples.size} samples "
                f"{samples[:10].tolist()}{' ...' if samples.size > 10 else ''}, first at (sample, node) = "
                f"{first}: {flat[first]}. A NaN activation is neither a spike nor silence; fix the model "
                f"or the data before binarizing."
            )
    spikes = flat > threshold_for_dtype(exact, flat.dtype)
    return SpikeMatrix(spikes, layer_shape=layer_shape, threshold=threshold, layer=layer)
