"""Lossless JSON encoding of Neo annotations (tuples, arrays, NaN, None, datetimes, quantities).

Plain JSON turns a tuple into a list, a NumPy array into a list of Python
numbers and refuses NaN.  :func:`dumps` tags such values so that
:func:`loads` returns objects equal to the originals, with their types.

Every container is written as a JSON *list* whose first element names it
(``["dict", [key, value], ...]``, ``["tuple", ...]``, ``["list", ...]``,
``["ndarray", dtype, shape, [values]]``, ...); scalars (None, bools, ints,
finite floats, strings) are plain JSON.  No JSON object (``{...}``) is
written, because nwbinspector flags dictionaries stored in table cells.
"""
from __future__ import annotations

import datetime
import json
import math
import numbers

import numpy as np

__all__ = ["dumps", "loads", "encode", "decode"]


def encode(value, what: str = "annotation"):
    """Return a JSON-able, tagged form of ``value``.

    Raises
    ------
    TypeError
        For a value of a type that cannot be stored losslessly.
    """
    import quantities as pq

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, pq.Quantity):
        return ["quantity", encode(np.asarray(value.magnitude), what), value.dimensionality.string]
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUSO":
            raise TypeError(f"{what}: cannot store an array of dtype {value.dtype}")
        return ["ndarray", str(value.dtype), list(value.shape), [encode(v, what) for v in value.ravel().tolist()]]
    if isinstance(value, np.generic):
        return ["np", type(value).__name__, encode(value.item(), what)]
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else ["float", repr(value)]
    if isinstance(value, tuple):
        return ["tuple", *[encode(v, what) for v in value]]
    if isinstance(value, list):
        return ["list", *[encode(v, what) for v in value]]
    if isinstance(value, dict):
        return ["dict", *[[encode(k, what), encode(v, what)] for k, v in value.items()]]
    if isinstance(value, datetime.datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["date", value.isoformat()]
    raise TypeError(f"{what} has type {type(value).__name__}, which ann2neo cannot store in a file; "
                    "use numbers, strings, None, lists, tuples, dicts, datetimes or NumPy arrays")


def decode(value):
    """Inverse of :func:`encode`."""
    if not isinstance(value, list):
        return value
    tag, rest = value[0], value[1:]
    if tag == "list":
        return [decode(v) for v in rest]
    if tag == "tuple":
        return tuple(decode(v) for v in rest)
    if tag == "dict":
        return {_hashable(decode(k)): decode(v) for k, v in rest}
    if tag == "ndarray":
        dtype, shape, items = np.dtype(rest[0]), rest[1], [decode(v) for v in rest[2]]
        if dtype.kind == "O":
            arr = np.empty(len(items), dtype=object)
            arr[:] = items
        else:
            arr = np.array(items, dtype=dtype)
        return arr.reshape(shape)
    if tag == "np":
        return getattr(np, rest[0])(decode(rest[1]))
    if tag == "float":
        return float(rest[0])
    if tag == "datetime":
        return datetime.datetime.fromisoformat(rest[0])
    if tag == "date":
        return datetime.date.fromisoformat(rest[0])
    if tag == "quantity":
        import quantities as pq

        from ..core import units as _units  # noqa: F401  (registers 'sample')

        return pq.Quantity(decode(rest[0]), rest[1])
    raise ValueError(f"unknown tag {tag!r} in ann2neo JSON")


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def dumps(value, what: str = "annotations") -> str:
    """Encode ``value`` with :func:`encode` and serialize it to compact JSON text."""
    return json.dumps(encode(value, what), allow_nan=False, separators=(",", ":"))


def loads(text: str):
    """Parse JSON text written by :func:`dumps` back into the original objects."""
    return decode(json.loads(text))
