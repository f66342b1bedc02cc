"""Input batches for :func:`ann2neo.record`: arrays, tf.data datasets, PyDatasets and iterables.

Every batch is turned into one numpy array per model input, checked against
the model's input shapes and dtypes (errors name the expected shape), cast to
the input dtype and checked for NaN/Inf per sample on the host.
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = ["batch_source", "resolve_inputs", "probe_inputs"]


def _np_dtype(name):
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _shape_text(shape):
    return "(n_samples" + "".join(f", {'?' if d is None else d}" for d in shape[1:]) + ")"


def _expected(specs, names):
    return ", ".join(f"{n!r}: {_shape_text(s)}" for (s, _), n in zip(specs, names, strict=True))


def _unpack(element):
    """``x`` of a batch given as x, (x,), (x, y) or (x, y, sample_weight), as in ``model.predict``."""
    if isinstance(element, list):
        element = tuple(element)
    if isinstance(element, tuple):
        if not 1 <= len(element) <= 3:
            raise ValueError(f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of "
                             f"{len(element)} elements")
        return element[0]
    return element


def _structure(x, specs, names):
    """Split one input structure into one array-like per model input (in ``model.inputs`` order)."""
    n_in = len(specs)
    if isinstance(x, dict):
        keys = set(x)
        if n_in == 1 and len(x) == 1:
            return [next(iter(x.values()))]
        if keys != set(names):
            raise ValueError(f"x is a dict with keys {sorted(keys)}; the model's inputs are {names} "
                             f"({_expected(specs, names)})")
        return [x[n] for n in names]
    if isinstance(x, (list, tuple)) and n_in > 1:
        if len(x) != n_in:
            raise ValueError(f"the model has {n_in} inputs ({_expected(specs, names)}); x holds {len(x)}")
        return list(x)
    if n_in > 1:
        raise ValueError(f"the model has {n_in} inputs ({_expected(specs, names)}); x is a single "
                         f"{type(x).__name__}: pass a list or a dict of {n_in} arrays")
    if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
        return [x[0]]
    return [x]


def _checked_arrays(x, specs, names):
    """One numpy array per input; raises on a wrong kind, shape or sample count."""
    arrays = []
    for raw, (shape, _), name in zip(_structure(x, specs, names), specs, names, strict=True):
        arr = np.asarray(raw)
        if arr.dtype == object or arr.dtype.kind not in "biuf" and arr.dtype.name != "bfloat16":
            raise TypeError(f"x: input {name!r} must be numeric, got dtype {arr.dtype}")
        if arr.ndim == 0 or arr.shape[0] == 0:
            raise ValueError(f"x holds no samples (input {name!r} has shape {arr.shape}; "
                             f"expected {_shape_text(shape)})")
        if arr.ndim != len(shape) or any(d is not None and d != a
                                         for d, a in zip(shape[1:], arr.shape[1:], strict=True)):
            hint = ("; is it one sample? batch a dataset with .batch(n)" if arr.ndim == len(shape) - 1 else "")
            raise ValueError(f"x: input {name!r} expects shape {_shape_text(shape)}, got {arr.shape}{hint}")
        arrays.append(arr)
    if len({a.shape[0] for a in arrays}) > 1:
        raise ValueError(f"x: the inputs hold different sample counts {[a.shape[0] for a in arrays]}")
    return arrays


def resolve_inputs(batch, specs, names, start, check_finite=True):
    """Arrays of one batch, cast to the inputs' dtypes and checked.

    Parameters
    ----------
    batch : array_like, list, tuple or dict
        One batch of ``x`` (already without ``y``).
    specs : list of (tuple, str)
        ``(shape, dtype)`` of each model input; ``shape[0]`` is the batch axis.
    names : list of str
        Input names.
    start : int
        Index of the batch's first sample in the whole recording (for messages).
    check_finite : bool, default True
        Raise on NaN/Inf in floating inputs (after the cast).

    Returns
    -------
    list of numpy.ndarray

    Raises
    ------
    TypeError
        For non-numeric inputs.
    ValueError
        For a wrong structure or shape (names the expected shapes), an empty
        batch, or NaN/Inf (names the samples, counted from the recording's start).
    """
    arrays = []
    for arr, (_, dtype), name in zip(_checked_arrays(batch, specs, names), specs, names, strict=True):
        target = _np_dtype(dtype)
        if target.kind in "iu" and arr.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                whole = np.isfinite(arr) & (arr == np.round(arr))
            if not whole.all():
                sample = int(np.argwhere(~whole)[0][0]) + start
                raise ValueError(f"x: input {name!r} takes {dtype} values (e.g. token ids), but sample {sample} "
                                 f"holds a non-integer value; casting would truncate it silently")
        arr = np.ascontiguousarray(arr, dtype=target)
        if check_finite and (arr.dtype.kind == "f" or arr.dtype.name == "bfloat16"):
            flat = arr.reshape(arr.shape[0], -1).astype(np.float32, copy=False)
            bad = ~np.isfinite(flat).all(axis=1)
            if bad.any():
                samples = (np.flatnonzero(bad) + start).tolist()
                shown = ", ".join(map(str, samples[:10])) + (f", ... ({len(samples)} in all)"
                                                             if len(samples) > 10 else "")
                raise ValueError(f"x: input {name!r} holds NaN or Inf at sample(s) {shown} (as {dtype}); "
                                 f"a NaN input has no spike or silence to record")
        arrays.append(arr)
    return arrays


def _is_tf_dataset(x):
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(x, tf.data.Dataset)


def _is_pydataset(x):
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(x, keras.utils.PyDataset)


def batch_source(x, batch_size, specs, names):
    """Iterator over the batches of ``x`` (each an input structure) and the sample count if known.

    Parameters
    ----------
    x : array_like, list or dict of arrays, tf.data.Dataset, keras.utils.PyDataset or iterable
    batch_size : int
        Rows per batch for arrays.
    specs, names
        As in :func:`resolve_inputs`.

    Returns
    -------
    iterator, int or None

    Raises
    ------
    TypeError, ValueError
        For array inputs that do not fit the model (checked before any batch runs).
    """
    if _is_tf_dataset(x):
        return (_unpack(e) for e in x.as_numpy_iterator()), None
    if _is_pydataset(x):
        return (_unpack(x[i]) for i in range(len(x))), None
    if isinstance(x, (np.ndarray, dict)) or hasattr(x, "__array__") or hasattr(x, "shape") \
            or (isinstance(x, (list, tuple)) and (len(specs) > 1 or (len(x) and hasattr(x[0], "shape")))):
        arrays = _checked_arrays(x, specs, names)
        n = arrays[0].shape[0]

        def slices():
            for i in range(0, n, batch_size):
                yield [a[i:i + batch_size] for a in arrays]

        return slices(), n
    if isinstance(x, (list, tuple)):  # nested lists of numbers: one array
        arrays = _checked_arrays(np.asarray(x), specs, names)
        return batch_source(arrays[0], batch_size, specs, names)
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"x must be an array, a list or dict of arrays, a tf.data.Dataset, a "
                        f"keras.utils.PyDataset or an iterable of batches; got {type(x).__name__}")
    return (_unpack(e) for e in x), None


def _is_array_input(x, specs):
    return isinstance(x, (np.ndarray, dict)) or hasattr(x, "__array__") or hasattr(x, "shape") \
        or (isinstance(x, (list, tuple)) and (len(specs) > 1 or (len(x) and hasattr(x[0], "shape"))))


def probe_inputs(x, probe, specs, names):
    """The inputs on which per-unit thresholds are estimated, and a sentence saying which they are.

    Parameters
    ----------
    x
        The recording's inputs (as for :func:`batch_source`).
    probe : int or array_like, list or dict of arrays
        A number of leading samples of ``x`` (arrays only), or the probe inputs themselves.
    specs, names
        As in :func:`resolve_inputs`.

    Returns
    -------
    list of numpy.ndarray, str

    Raises
    ------
    TypeError, ValueError
        For a probe count < 1, a dataset or iterable ``x`` with a probe count
        (give the probe inputs), or probe inputs that do not fit the model.
    """
    if isinstance(probe, (int, np.integer)) and not isinstance(probe, (bool, np.bool_)):
        if probe < 1:
            raise ValueError(f"threshold_probe must be >= 1 samples, got {probe}")
        if not _is_array_input(x, specs):
            raise ValueError(f"a per-unit threshold is estimated on probe samples, and x is a "
                             f"{type(x).__name__} that cannot be read twice: give threshold_probe=ARRAY of probe "
                             f"inputs (e.g. the first 1000 samples)")
        arrays = _checked_arrays(np.asarray(x) if isinstance(x, (list, tuple)) and len(specs) == 1
                                 and not hasattr(x[0], "shape") else x, specs, names)
        n = min(int(probe), arrays[0].shape[0])
        arrays = resolve_inputs([a[:n] for a in arrays] if len(arrays) > 1 else arrays[0][:n], specs, names, 0)
        return arrays, f"the first {n} samples of x"
    if isinstance(probe, (bool, np.bool_, str, float)):
        raise TypeError(f"threshold_probe must be a number of leading samples (int) or probe inputs (arrays), "
                        f"got {probe!r}")
    arrays = resolve_inputs(probe, specs, names, 0)
    return arrays, f"threshold_probe ({arrays[0].shape[0]} samples given)"
