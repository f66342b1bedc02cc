"""Thresholding activations into spikes: activation > threshold is a spike."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .validation import check_real_array, check_threshold, ml_dtype_kind

__all__ = ["SpikeMatrix", "binarize", "threshold_for_dtype", "unit_thresholds", "check_threshold_rule",
           "THRESHOLD_RULES", "DEFAULT_THRESHOLD_PROBE"]

#: Rules of a per-unit threshold (see :func:`unit_thresholds`), besides a plain number.
THRESHOLD_RULES = ("quantile", "fraction_of_max")
#: Leading samples on which ``record`` estimates per-unit thresholds by default.
DEFAULT_THRESHOLD_PROBE = 1000


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
    threshold : float or array_like of float, shape (n_nodes,), optional
        Activation threshold used (activation > threshold is a spike): one
        number for every node, or one per column (per-unit rules, see
        :func:`unit_thresholds`; ``+inf`` marks a node that never spikes).
    layer : str, optional
        Name of the recorded layer.
    nodes : array_like of int, shape (n_nodes,), optional
        Flat index in the layer of each column; default ``0 .. n_nodes - 1``.
        Set when the matrix holds a subset of the layer's nodes.
    threshold_rule : str, optional
        How a per-unit ``threshold`` was chosen, e.g. ``"quantile 0.9 per
        unit on the first 1000 samples of x"`` (set by :func:`ann2neo.record`).

    Attributes
    ----------
    layer_shape : tuple of int
    threshold : float, ndarray of float64, shape (n_nodes,), or None
    layer : str or None
    nodes : ndarray of int64, shape (n_nodes,)
    threshold_rule : str or None

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
    and narrows ``nodes`` (and a per-unit ``threshold``), so node 7 stays node 7.  Operations that would
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

    def __new__(cls, spikes, layer_shape=None, threshold=None, layer=None, nodes=None,  # noqa: D102
                threshold_rule=None):
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
        obj.threshold = _check_matrix_threshold(threshold, n_nodes)
        obj.layer = layer
        obj.threshold_rule = None if threshold_rule is None else str(threshold_rule)
        return obj

    def __array_finalize__(self, obj):
        if obj is None:
            return
        self.layer_shape = getattr(obj, "layer_shape", None)
        self.threshold = getattr(obj, "threshold", None)
        self.layer = getattr(obj, "layer", None)
        self.nodes = getattr(obj, "nodes", None)
        self.threshold_rule = getattr(obj, "threshold_rule", None)

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
        if isinstance(self.threshold, np.ndarray):  # per-unit thresholds follow their columns
            result.threshold = self.threshold[columns]
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
        return state[0], state[1], state[2] + (self.layer_shape, self.threshold, self.layer, self.nodes,
                                               self.threshold_rule)

    def __setstate__(self, state):
        if len(state) == 9:  # pickled before threshold_rule existed: ndarray's 5 fields and 4 of ours
            state = (*state, None)
        *base, self.layer_shape, self.threshold, self.layer, self.nodes, self.threshold_rule = state
        super().__setstate__(tuple(base))


def _check_matrix_threshold(threshold, n_nodes):
    """A SpikeMatrix threshold: None, a finite float, or a float64 vector of one value per column."""
    if threshold is None:
        return None
    if np.ndim(threshold) == 0:
        return check_threshold(threshold)
    vector = check_real_array(threshold, "threshold").astype(np.float64).reshape(-1)
    if np.ndim(threshold) != 1 or vector.size != n_nodes:
        raise ValueError(f"a per-unit threshold needs one value per node ({n_nodes}), got shape "
                         f"{np.shape(threshold)}")
    if np.isnan(vector).any():
        raise ValueError("a per-unit threshold holds NaN; a node without a threshold has no spikes to define")
    return vector


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
    threshold : int, float or array_like of float (n_nodes,)
        Finite threshold, or one per node.  An integer threshold (Python or numpy int) is used
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

    A 1-D ``threshold`` (per-unit, :func:`unit_thresholds`; ``+inf`` allowed:
    the node never spikes) gives the same rule elementwise: an array of
    ``dtype`` for floating dtypes, and for integer and bool dtypes a float64
    array of the floors, ``-inf`` where every value spikes and the dtype's
    maximum where none does.

    Examples
    --------
    >>> float(threshold_for_dtype(0.3, np.float16)) <= 0.3
    True
    >>> bool(np.float16(0.30005) > threshold_for_dtype(0.3, np.float16))
    True
    """
    if np.ndim(threshold) > 0:
        return _thresholds_for_dtype(threshold, dtype)
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


def _thresholds_for_dtype(threshold, dtype):
    """:func:`threshold_for_dtype` elementwise, for a vector of per-unit thresholds."""
    thr = check_real_array(threshold, "threshold").astype(np.float64)
    if np.isnan(thr).any():
        raise ValueError("per-unit thresholds hold NaN")
    name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    if name == "bfloat16":
        import ml_dtypes

        out = thr.astype(ml_dtypes.bfloat16)
        for i in np.flatnonzero(np.isfinite(thr)):
            out[i] = threshold_for_dtype(float(thr[i]), "bfloat16")
        return out
    dt = np.dtype(dtype)
    if dt.kind == "b":
        dt = np.dtype(np.int8)
    if np.issubdtype(dt, np.floating):
        t = thr.astype(dt)
        up = t.astype(np.float64) > thr  # rounded up: one step down
        t[up] = np.nextafter(t[up], dt.type(-np.inf))
        return t
    info = np.iinfo(dt)
    floor = np.floor(thr)
    return np.where(floor < info.min, -np.inf, np.minimum(floor, float(info.max)))


def check_threshold_rule(threshold):
    """Read a ``threshold`` argument into ``(rule, value)``.

    Parameters
    ----------
    threshold : float, "median", ("quantile", q) or ("fraction_of_max", f)
        A number: one threshold for every unit (``("absolute", t)``).
        ``"median"`` is ``("quantile", 0.5)``.  ``("quantile", q)``: unit
        ``j`` spikes above the q-quantile of its own activations on a probe,
        ``0 <= q <= 1``.  ``("fraction_of_max", f)``: above ``f`` times its
        largest activation on the probe, ``0 <= f <= 1``.

    Returns
    -------
    tuple of (str, float)
        ``("absolute", t)``, ``("quantile", q)`` or ``("fraction_of_max", f)``.

    Raises
    ------
    TypeError
        For anything else (the message lists the spellings).
    ValueError
        For a non-finite number, or ``q``/``f`` outside [0, 1].

    Examples
    --------
    >>> check_threshold_rule("median"), check_threshold_rule(0.1)
    (('quantile', 0.5), ('absolute', 0.1))
    """
    from .validation import check_real

    spellings = "a number, 'median', ('quantile', q) or ('fraction_of_max', f)"
    if isinstance(threshold, str):
        if threshold == "median":
            return "quantile", 0.5
        raise TypeError(f"threshold must be {spellings}; got the string {threshold!r}")
    if isinstance(threshold, tuple):
        if len(threshold) != 2 or threshold[0] not in THRESHOLD_RULES:
            raise TypeError(f"threshold must be {spellings}; got {threshold!r}")
        rule, value = threshold
        return rule, check_real(value, rule, min_value=0.0, max_value=1.0)
    if np.ndim(threshold) != 0 or isinstance(threshold, (list, dict)):
        raise TypeError(f"threshold must be {spellings}; got {type(threshold).__name__} (for thresholds you "
                        f"computed per unit, binarize the activations with ann2neo.binarize)")
    try:
        return "absolute", check_threshold(threshold)
    except TypeError:
        raise TypeError(f"threshold must be {spellings}; got {threshold!r} ({type(threshold).__name__})") from None


def unit_thresholds(activations, rule) -> np.ndarray:
    """Per-unit spike thresholds of a rule, estimated on probe activations.

    The one home of the threshold rules: :func:`ann2neo.record` (Keras, and
    the PyTorch recorder) and
    :func:`ann2neo.analysis.threshold.threshold_sweep` resolve them here.

    Parameters
    ----------
    activations : array_like, shape (n_probe, n_nodes) or (n_probe, ``*layer_shape``)
        Float activations of one layer on the probe samples (finite).
    rule : float, "median", ("quantile", q) or ("fraction_of_max", f)
        See :func:`check_threshold_rule`.  A number gives that number for
        every unit.

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
        Threshold of each unit (C-order flattening of ``layer_shape``):
        activation > threshold is a spike.  ``("quantile", q)`` is
        ``numpy.quantile(..., method="linear")`` of the unit's probe values;
        ``("fraction_of_max", f)`` is ``f * max``, ``+inf`` (never spikes)
        for a unit whose probe maximum is <= 0.

    Raises
    ------
    TypeError, ValueError
        For a bad rule (see :func:`check_threshold_rule`), activations that
        are not real, hold NaN/Inf, or have no sample or no node.

    Notes
    -----
    Which rule fits which activation function:

    * ReLU: ``0`` (the paper's rule) separates "off" (exactly 0) from "on".
      A quantile above the fraction of zeros of a unit raises its threshold
      above 0; below it ties at 0 keep the rate at ``1 - P(x = 0)``.
    * GELU, SiLU: negative outputs down to about -0.17 (GELU) are "off"
      with a small leak; ``0`` still separates the two branches, a quantile
      sets the rate per unit instead.
    * tanh (and other outputs centred on 0): ``0`` makes each unit spike
      about half of the time whatever it codes; ``"median"`` does so by
      construction, so prefer a high quantile (``("quantile", 0.9)``: each
      unit spikes on its top 10 % of samples) or ``("fraction_of_max", f)``.
    * LayerNorm (and BatchNorm) outputs: each sample (or unit) is centred and
      scaled, so about half of the values are above 0 by construction and
      ``0`` measures the normalisation, not the unit; use a per-unit
      quantile.

    Quantiles fix each unit's rate on the probe (about ``1 - q`` when its
    values are distinct), so the mean firing rate then says nothing; the
    temporal statistics (Fano factor, CV, LV and their dispersions) and the
    differences between conditions remain informative.

    Examples
    --------
    >>> act = np.array([[0.0, -1.0], [1.0, 3.0], [2.0, 1.0]])
    >>> unit_thresholds(act, "median")
    array([1., 1.])
    >>> unit_thresholds(act, ("fraction_of_max", 0.5))
    array([1. , 1.5])
    """
    kind, value = check_threshold_rule(rule)
    arr = check_real_array(activations, "activations")
    if arr.ndim < 2 or arr.shape[0] == 0 or int(np.prod(arr.shape[1:])) == 0:
        raise ValueError(f"probe activations must have shape (n_probe, n_nodes) with samples and nodes, "
                         f"got {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1).astype(np.float64)
    if not np.isfinite(flat).all():
        raise ValueError("probe activations hold NaN or Inf; no threshold can be estimated from them")
    if kind == "absolute":
        return np.full(flat.shape[1], value)
    if kind == "quantile":
        return np.quantile(flat, value, axis=0, method="linear")
    peak = flat.max(axis=0)
    return np.where(peak > 0, value * peak, np.inf)


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
    threshold : float, int, array_like of float (n_nodes,) or rule, default 0.0
        Activation threshold: one number (also a numpy or ``ml_dtypes``
        scalar such as bfloat16; an integer is compared exactly, never
        rounded to a float), one per node, or a per-unit rule
        (``"median"``, ``("quantile", q)``, ``("fraction_of_max", f)``; see
        :func:`unit_thresholds`) estimated on these activations.
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
    >>> binarize(np.array([[0.5, -1.0], [0.0, 2.0]]))
    SpikeMatrix([[ True, False],
                 [False,  True]])
    """
    exact = None
    if np.ndim(threshold) == 0 and not isinstance(threshold, str):
        exact = _exact_threshold(threshold)   # an int stays an int: compared exactly
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
    if isinstance(threshold, (str, tuple)):  # a per-unit rule, estimated on these activations
        threshold = unit_thresholds(flat, threshold)
    elif np.ndim(threshold) > 0:
        threshold = _check_matrix_threshold(threshold, n_nodes)
    spikes = flat > threshold_for_dtype(threshold if exact is None else exact, flat.dtype)
    return SpikeMatrix(spikes, layer_shape=layer_shape, threshold=threshold, layer=layer)
