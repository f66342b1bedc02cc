"""Input checks, in one place (after scikit-learn's ``utils/validation.py``).

Every public function of ann2neo validates its arguments with these checks
before it does any work, so a bad argument fails fast, with a message that
names the argument, what was given and what is expected, and loses nothing.

One rule decides the exception:

* :class:`TypeError` — the argument is the wrong *kind* of object: a string or
  a bool where a number is meant, a complex or timedelta array where real
  activations are meant, a DataFrame where a spike matrix is meant;
* :class:`ValueError` — the right kind of object with a wrong *value*: out of
  range, not a whole number, the wrong shape, empty, NaN;
* :class:`ann2neo.UnitError` (a ``ValueError``) — a quantity in a unit that
  does not fit (milliseconds where samples are meant, ``1/sample`` or
  ``sample**2`` where a duration is meant).
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_integer", "check_real", "check_probability", "check_option", "check_random_state",
           "check_threshold", "check_spike_array", "check_real_array"]


def _kind(value) -> str:
    return type(value).__name__


def ml_dtype_kind(dtype) -> str | None:
    """``"f"`` or ``"i"`` for a real dtype of ``ml_dtypes`` (bfloat16, float8, float6, float4, int4, ...), else None.

    NumPy gives most of these dtypes the kind ``"V"``, but they hold real numbers:
    every float type of ``ml_dtypes`` is exact in float32, every integer type
    in int8/uint8.
    """
    dtype = np.dtype(dtype)
    if not getattr(dtype.type, "__module__", "").startswith("ml_dtypes"):
        return None
    import ml_dtypes

    for kind, info in (("f", ml_dtypes.finfo), ("i", ml_dtypes.iinfo)):
        try:
            info(dtype)
        except (TypeError, ValueError):
            continue
        return kind
    return None


def _is_real_scalar(value) -> bool:
    """True for a real number: int, float, a numpy real scalar or an ``ml_dtypes`` scalar (bfloat16, float8)."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (complex, np.complexfloating)):
        return False
    if isinstance(value, (numbers.Real, np.number)):
        return True
    return isinstance(value, np.generic) and ml_dtype_kind(value.dtype) is not None


def check_integer(value, name: str, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise.

    Parameters
    ----------
    value : int, numpy int or float
        A float is accepted only when it is a whole number (``3.0``); ``2.9`` is
        refused, never truncated.
    name : str
        Argument name for the message.
    min_value, max_value : int, optional
        Inclusive bounds.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        For a bool, a string or any non-real object.
    ValueError
        For a non-whole or non-finite number, or one outside the bounds.

    Examples
    --------
    >>> check_integer(8, "batch_size", min_value=1)
    8
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)) \
            or isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({_kind(value)})")
    if isinstance(value, (numbers.Integral, np.integer)):
        result = int(value)
    else:
        as_float = float(value)
        if not np.isfinite(as_float) or not as_float.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        result = int(as_float)
    if min_value is not None and result < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {result}")
    if max_value is not None and result > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {result}")
    return result


def check_real(value, name: str, *, min_value: float | None = None, max_value: float | None = None,
               include_min: bool = True, include_max: bool = True, allow_nan: bool = False) -> float:
    """Return ``value`` as a finite Python float within bounds, or raise.

    Parameters
    ----------
    value : int, float, numpy real scalar or ml_dtypes scalar (bfloat16, float8)
    name : str
    min_value, max_value : float, optional
    include_min, include_max : bool, default True
        Whether the bounds themselves are allowed.
    allow_nan : bool, default False

    Returns
    -------
    float

    Raises
    ------
    TypeError
        For a bool, string, complex number or other non-real object.
    ValueError
        For NaN (unless allowed), ±Inf, or a value outside the bounds.
    """
    if not _is_real_scalar(value):
        raise TypeError(f"{name} must be a real number, got {value!r} ({_kind(value)})")
    try:
        result = float(value)
    except OverflowError:  # an int beyond float64
        raise ValueError(f"{name} must be finite, got an integer of {len(str(abs(int(value))))} digits, beyond "
                         f"the float64 range") from None
    if np.isnan(result):
        if allow_nan:
            return result
        raise ValueError(f"{name} must be a number, got NaN")
    if np.isinf(result):
        raise ValueError(f"{name} must be finite, got {result}")
    if min_value is not None and (result < min_value or (result == min_value and not include_min)):
        raise ValueError(f"{name} must be {'>=' if include_min else '>'} {min_value}, got {result}")
    if max_value is not None and (result > max_value or (result == max_value and not include_max)):
        raise ValueError(f"{name} must be {'<=' if include_max else '<'} {max_value}, got {result}")
    return result


def check_probability(value, name: str = "alpha") -> float:
    """Return a level or probability strictly between 0 and 1 (e.g. ``alpha``), or raise.

    Raises
    ------
    TypeError
        For a non-real object.
    ValueError
        Outside the open interval (0, 1).

    Examples
    --------
    >>> check_probability(0.05)
    0.05
    """
    return check_real(value, name, min_value=0.0, max_value=1.0, include_min=False, include_max=False)


def check_option(value, name: str, options):
    """Return ``value`` if it is one of ``options``, else raise ValueError naming them.

    Raises
    ------
    ValueError
        If ``value`` is not among ``options`` (strings are compared exactly).
    """
    options = tuple(options)
    try:
        ok = value in options
    except TypeError:  # unhashable or incomparable
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {', '.join(repr(o) for o in options)}; got {value!r}")
    return value


def check_random_state(seed) -> np.random.Generator:
    """Turn ``seed`` into a local :class:`numpy.random.Generator`; never touches global state.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        ``None`` draws fresh entropy; an int (>= 0) or a SeedSequence seeds a new
        generator; a Generator is returned as is (shared, so successive calls
        continue its stream).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        For any other object (a float, a string, the legacy ``RandomState``).
    ValueError
        For a negative integer.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be None, a non-negative integer or a numpy Generator, got {seed!r} "
                        f"({_kind(seed)})")
    return np.random.default_rng(check_integer(seed, "seed", min_value=0))


def check_threshold(threshold) -> float:
    """Return an activation threshold as a finite float.

    Raises
    ------
    TypeError
        If ``threshold`` is not a real number.
    ValueError
        If it is NaN or infinite.
    """
    return check_real(threshold, "threshold")


#: Dimension names (lower case) of an xarray.DataArray that hold samples, and that hold nodes.
SAMPLE_DIMS = ("sample", "samples", "time", "times", "trial", "trials", "step", "steps", "timestep", "timesteps",
               "bin", "bins")
NODE_DIMS = ("node", "nodes", "unit", "units", "neuron", "neurons", "channel", "channels", "cell", "cells")


def _from_xarray(values, name: str) -> np.ndarray:
    """The data of an ``xarray.DataArray`` with its sample dim first, found by the dims' names, or raise."""
    dims = tuple(values.dims)
    lowered = [str(d).lower() for d in dims]
    samples = [d for d, low in zip(dims, lowered, strict=True) if low in SAMPLE_DIMS]
    nodes = [d for d, low in zip(dims, lowered, strict=True) if low in NODE_DIMS]
    if len(samples) == 1:
        sample_dim = samples[0]
    elif not samples and len(dims) == 2 and len(nodes) == 1:
        sample_dim = dims[1 - dims.index(nodes[0])]  # the dim that is not the nodes
    else:
        why = f"several dims name samples ({', '.join(map(repr, samples))})" if samples else \
            "no dim names the samples"
        raise ValueError(f"{name}: an xarray.DataArray with dims {dims}: {why}, so ann2neo cannot tell samples from "
                         f"nodes. Name them, e.g. dims=('sample', 'node') (or time/trial and unit/neuron), or pass "
                         f"a.transpose(<sample dim>, ...).to_numpy()")
    return np.asarray(values.transpose(sample_dim, *(d for d in dims if d != sample_dim)).to_numpy())


def check_real_array(values, name: str = "activations") -> np.ndarray:
    """Return ``values`` as a numpy array of real numbers (bool, integer, floating or ml_dtypes dtype).

    An ``xarray.DataArray`` is returned with its sample dim first (a dim
    named sample/time/trial, or the dim that is not node/unit/neuron in a
    2-D array); other dims keep their order.  A masked array is accepted
    only when no element is masked.

    Raises
    ------
    TypeError
        For complex (not ordered: ``>`` has no meaning), timedelta/datetime,
        string, object or structured dtypes, or a masked array with masked
        elements.
    ValueError
        For an ``xarray.DataArray`` whose dims do not say which holds the
        samples.
    """
    if isinstance(values, np.ma.MaskedArray):
        n_masked = int(np.count_nonzero(np.ma.getmaskarray(values)))
        if n_masked:
            raise TypeError(f"{name}: a masked array with {n_masked} masked element{'s' * (n_masked != 1)}; a "
                            f"mask has no meaning for a spike or an activation (its hidden values would be read). "
                            f"Fill them (a.filled(0) for silence) or drop the masked samples")
        values = np.ma.getdata(values)
    elif type(values).__module__.startswith("xarray") and hasattr(values, "dims"):
        values = _from_xarray(values, name)
    arr = np.asarray(values)
    # timedelta64 would pass issubdtype(integer), so the kinds are listed
    if arr.dtype.kind in "biuf" or ml_dtype_kind(arr.dtype) is not None:
        return arr
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} are complex ({arr.dtype}); complex numbers have no order, so "
                        f"'activation > threshold' is undefined. Pass the real part or the magnitude.")
    raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")


def check_spike_array(spikes, name: str = "spikes") -> np.ndarray:
    """Validate a binary spike array ``(n_samples, n_nodes)`` and return it as bool.

    Accepts bool arrays (returned without a copy) and integer or float arrays
    holding only 0 and 1.

    Raises
    ------
    TypeError
        For a pandas object (its labels would be dropped silently), a masked
        array with masked elements, or a non-numeric, complex or timedelta
        array.
    ValueError
        For a shape other than 2-D, no samples or no nodes, values other
        than 0 and 1, or an ``xarray.DataArray`` whose dims do not say which
        holds the samples (see :func:`check_real_array`).
    """
    if hasattr(spikes, "iloc") or type(spikes).__module__.startswith("pandas"):
        raise TypeError(f"{name}: got a pandas {_kind(spikes)}; ann2neo takes the spike matrix as an array "
                        f"with rows = samples and columns = nodes: pass df.to_numpy(dtype=bool)")
    arr = check_real_array(spikes, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix (n_samples, n_nodes), got shape {arr.shape}"
                         + ("; for one node use spikes.reshape(-1, 1)" if arr.ndim == 1 else ""))
    if arr.shape[0] == 0:
        raise ValueError(f"{name} hold no samples (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: the layer is empty (shape {arr.shape}, no nodes)")
    if arr.dtype != bool:
        if not ((arr == 0) | (arr == 1)).all():
            raise ValueError(
                f"{name} must be binary (spike or no spike per sample); got values other than 0 and 1 — "
                f"threshold activations with ann2neo.binarize first")
        arr = arr.astype(bool)
    return arr
