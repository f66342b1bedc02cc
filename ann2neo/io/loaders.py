"""Recordings of real neurons as :class:`ann2neo.Recording`: MATLAB files, any NWB file, anything Neo reads.

These are the real-recording readers behind :func:`ann2neo.read` (see
:mod:`ann2neo.io.formats`); they return ``{name: Recording}`` in **seconds**.

MATLAB files (``.mat``, :func:`scipy.io.loadmat`) hold numbers without units.
ann2neo reads them by these documented rules:

* **The spikes.**  A 0/1 matrix ``(n_trials, n_bins)`` is the binned trials of
  **one** unit (the neuron, named after the variable); a spike-time vector is
  one unit; a cell array of spike-time vectors is one unit per cell
  (``"unit_t[0]"``, ...).  Without ``variables=`` the reader takes the only
  0/1 matrix or cell array, else the only sorted numeric vector that is not a
  time vector or a signal sampled on it; anything else is ambiguous and the
  error lists the variables.  Several named spike-time variables are units
  named after them, or, with ``variables_as="trials"``, trials of one neuron
  (e.g. ``SpikesLow``/``SpikesHigh``: one neuron in two conditions, the trials
  table's ``variable`` column being the condition): a MATLAB file does not say
  which it is.
* **The time vector.**  A vector named ``t`` or ``time`` with a constant step
  ``dt`` is the time of each bin's (or sample's) start: the recording spans
  ``[t[0], t[-1] + dt)``.  Beside a matrix it gives ``t_start = t[0]`` and,
  with ``time_unit``, the bin width ``dt``; its unit is ``time_unit`` or is
  inferred from ``bin_width / dt`` when that is 1 s, 1 ms, 1 µs or 1 min
  (``t`` in steps of 1 with 1 ms bins is in ms) and refused as ambiguous
  otherwise.  Beside spike times it gives ``t_start`` and ``t_stop``
  (``spikes-1.mat``: ``[0.001, 177.762)`` s, 177.761 s) and its step is the
  recording's ``resolution`` annotation.  Vectors as long as it (``X``, a
  position) are signals sampled on it, not spikes.
* **Conditions.**  Beside a matrix, each other variable with one value per
  trial (``direction``) is a column of the trials table; the first is the
  condition.
* **Extent.**  ``t_start`` defaults to the time vector's start, else to 0
  (the file's clock origin; earlier spikes require ``t_start``).  ``t_stop``
  comes from the matrix (``t_start + n_bins * bin_width``) or the time
  vector; spike-time files without either **require** ``t_stop``: it is never
  the last spike.
* **Units of the numbers.**  ``time_unit`` (default seconds) is the unit of
  spike times and of ``t``; recordings are returned in seconds.

NWB files of real neurons (any writer): the Units table (``spike_times``,
``obs_intervals`` kept per unit, scalar columns; the unit's name from a
``unit_name`` or ``name`` column, else ``"unit <id>"``), and the trials
table when there is one (one trial per row, spikes cut to ``[start_time,
stop_time)``, its other scalar columns the conditions).  Without trials the
recording spans the units' observation intervals, or ``[0, t_stop)`` with a
required ``t_stop`` when there are none.  See :mod:`ann2neo.io.nwb_units`.

Anything else goes to Neo (:func:`neo.io.get_io`) in one place,
:func:`_safe_neo_io`, which refuses formats that unpickle (Neo's ``PickleIO``:
``.pkl``, ``.pickle``): opening a pickle runs any code it holds.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import neo
import numpy as np
import quantities as pq

from ..core.recording import Recording
from ..core.units import UnitError, as_time

__all__ = ["read_mat", "read_neo", "load_recording", "AmbiguousVariablesError", "MissingVariableError",
           "UnsafeFormatError", "TIME_VARIABLES", "UNSAFE_NEO_IOS", "SAFE_FORMATS"]

#: Neo IO classes that unpickle the file (running any code it holds): never instantiated.
UNSAFE_NEO_IOS = ("PickleIO",)
#: Extensions of pickle-based files (Python pickle, joblib, dill), refused whatever IO claims them.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pck", ".pcl", ".joblib", ".dill")
#: What to use instead, for the messages.
SAFE_FORMATS = ".mat, .nwb, .nix, .npy, .zarr, or a recording-system format Neo reads (Blackrock, Plexon, Spike2, ...)"

#: Names of the MATLAB variable that holds the time of each bin or sample.
TIME_VARIABLES = ("t", "time")
_NAMED_UNITS = ((pq.s, "s"), (pq.ms, "ms"), (pq.us, "us"), (pq.min, "min"))


class AmbiguousVariablesError(ValueError):
    """The file holds several candidate spike variables, or none; pass ``variables=``."""


class MissingVariableError(KeyError, ValueError):
    """A variable named in ``variables=`` is not in the MATLAB file (a KeyError and a ValueError)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def _file_format_error():
    from .nwb import FileFormatError

    return FileFormatError


class UnsafeFormatError(ValueError):
    """A file whose format would run code when opened (a pickle); ann2neo never opens one."""


def _refuse_pickle(path, why):
    raise UnsafeFormatError(f"{str(path)!r} is {why}: opening it would run any code it holds, so ann2neo never "
                            f"unpickles. Save the spikes as {SAFE_FORMATS} and load that file")


def _safe_neo_io(path):
    """Neo's ``get_io`` without the IOs that unpickle: refused before any IO class is instantiated."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        _refuse_pickle(path, "a Python pickle")
    try:
        candidates = neo.io.list_candidate_ios(str(path))
    except (OSError, ValueError) as exc:
        raise _file_format_error()(f"{str(path)!r}: no Neo IO reads this file ({exc}); ann2neo reads "
                                   f"{SAFE_FORMATS}") from exc
    safe = [io for io in candidates if io.__name__ not in UNSAFE_NEO_IOS and "pickle" not in io.__name__.lower()]
    if candidates and not safe:
        _refuse_pickle(path, f"read only by {', '.join(io.__name__ for io in candidates)}, which unpickles")
    for io in safe:  # as neo.io.get_io, over the safe candidates only
        try:
            return io(str(path))
        except Exception:  # noqa: BLE001, S112 - get_io tries the next candidate on any failure
            continue
    raise _file_format_error()(f"{str(path)!r}: no Neo IO reads this file; ann2neo reads {SAFE_FORMATS}")


def _describe(mat: dict) -> str:
    return ", ".join(f"{k} {getattr(v, 'shape', '?')} {getattr(v, 'dtype', type(v).__name__)}"
                     for k, v in mat.items())


def _cli(python, cli):
    """One hint that works from Python and from the command line."""
    return f"pass {cli} ({python} in Python)"


def check_extent_args(t_start, t_stop, bin_width, time_unit):
    """Check the reader's time arguments: times with units, a time unit; returns them in seconds/unit."""
    start = None if t_start is None else float(as_time(t_start, "t_start", unit=pq.s).magnitude)
    stop = None if t_stop is None else float(as_time(t_stop, "t_stop", unit=pq.s).magnitude)
    width = None if bin_width is None else float(as_time(bin_width, "bin_width", unit=pq.s).magnitude)
    if width is not None and not width > 0:
        raise ValueError(f"bin_width must be positive, got {bin_width}")
    unit = None
    if time_unit is not None:
        if isinstance(time_unit, str):
            try:
                time_unit = pq.Quantity(1.0, time_unit)
            except (LookupError, ValueError):
                raise UnitError(f"time_unit {time_unit!r} is not a time unit: give s, ms or us") from None
        q = time_unit if isinstance(time_unit, pq.Quantity) else pq.Quantity(1.0, time_unit)
        unit = float(as_time(pq.Quantity(1.0, q.units), "time_unit", unit=pq.s).magnitude)
    if start is not None and stop is not None and not stop > start:
        raise ValueError(f"t_stop ({t_stop}) must be after t_start ({t_start})")
    return start, stop, width, unit


# ----------------------------------------------------------------------------- MATLAB


def _vector(value):
    """A 1-D float64 view of a numeric vector (n,), (n, 1) or (1, n), else None."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.size == 0:
        return None
    if value.ndim > 2 or max(value.shape) != value.size:
        return None
    return value.astype(np.float64, copy=False).ravel()


def _time_vector(mat):
    """``(name, values)`` of the time variable, or ``(None, None)``."""
    for key in mat:
        if key.lower() in TIME_VARIABLES:
            v = _vector(mat[key])
            if v is not None and v.size >= 2 and np.isfinite(v).all():
                step = np.diff(v)
                if step[0] > 0 and np.allclose(step, step[0], rtol=1e-6, atol=0):
                    return key, v
    return None, None


def _matlab_object(value):
    """'function handle' / 'MATLAB object' / 'opaque MATLAB object' for such loadmat results, else None."""
    from scipy.io.matlab import MatlabFunction, MatlabObject, MatlabOpaque

    for kind, name in ((MatlabFunction, "a MATLAB function handle"), (MatlabOpaque, "an opaque MATLAB object"),
                       (MatlabObject, "a MATLAB class object")):
        if isinstance(value, kind):
            return name
    if isinstance(value, np.ndarray) and value.dtype == object:
        return next((k for k in map(_matlab_object, value.ravel()) if k), None)
    return None


def _kind(value):
    """'cell', 'matrix' (0/1, NaN allowed for the error), 'counts', 'vector' or None."""
    if not isinstance(value, np.ndarray) or _matlab_object(value):
        return None
    if value.dtype == object:
        items = [np.asarray(v) for v in value.ravel()]
        if items and all(v.dtype.kind in "iuf" and v.size == max(v.shape, default=v.size) for v in items):
            return "cell"
        return None
    if value.dtype.kind not in "biuf" or value.size == 0:
        return None
    if value.ndim == 2 and min(value.shape) > 1:
        finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
        if np.isin(finite, (0, 1)).all():
            return "matrix"
        if finite.size and (finite >= 0).all() and (finite == np.round(finite)).all():
            return "counts"
        return None
    if _vector(value) is not None:
        return "vector"
    return None


def _sorted_finite(v):
    return bool(np.isfinite(v).all() and (v.size < 2 or (np.diff(v) >= 0).all()))


def _expected(path, mat):
    return (f"{str(path)!r}: cannot tell which variable holds the spikes. ann2neo reads spike times (a sorted "
            f"vector per neuron, or a cell array of them), or a 0/1 trial x bin matrix of one neuron (with "
            f"--bin-width, bin_width= in Python); {_cli('variables=[...]', '--variables NAME,...')}. "
            f"Variables found: {_describe_kinds(mat)}")


def _describe_kinds(mat):
    t_name, t = _time_vector(mat)
    out = []
    for k, v in mat.items():
        shape = getattr(v, "shape", "?")
        dtype = getattr(v, "dtype", type(v).__name__)
        kind = _kind(v)
        if k == t_name:
            what = "time vector"
        elif kind == "matrix":
            what = "0/1 matrix"
        elif kind == "counts":
            what = f"whole numbers up to {int(np.nanmax(v))}: spike counts, not spike times"
        elif kind == "cell":
            what = "cell array of vectors"
        elif kind == "vector":
            vec = _vector(v)
            if t is not None and vec.size == t.size:
                what = "signal sampled on the time vector"
            elif not np.isfinite(vec).all():
                what = "vector with NaN or Inf"
            elif not _sorted_finite(vec):
                what = ("unsorted vector of whole numbers: spike counts?" if (vec == np.round(vec)).all()
                        else "unsorted vector, not spike times")
            else:
                what = "sorted vector: spike times?"
        else:
            what = "not spikes"
        out.append(f"{k} {shape} {dtype} ({what})")
    return ", ".join(out)


def _pick_variables(path, mat, t_name, t):
    kinds = {k: _kind(v) for k, v in mat.items() if k != t_name}
    matrices = [k for k, kind in kinds.items() if kind == "matrix"]
    cells = [k for k, kind in kinds.items() if kind == "cell"]
    vectors = [k for k, kind in kinds.items() if kind == "vector" and _sorted_finite(_vector(mat[k]))
               and not (t is not None and _vector(mat[k]).size == t.size)]
    if len(matrices) == 1:
        return matrices
    if not matrices and len(cells) == 1:
        return cells
    if not matrices and not cells and len(vectors) == 1:
        return vectors
    candidates = matrices + cells + vectors
    if not candidates:
        raise AmbiguousVariablesError(_expected(path, mat))
    raise AmbiguousVariablesError(
        f"{str(path)!r}: several variables could hold the spikes ({', '.join(candidates)}); "
        f"{_cli('variables=[...]', '--variables NAME,...')}: several spike-time variables are read as units "
        f"named after them, or with variables_as='trials' as trials of one neuron. "
        f"Variables found: {_describe_kinds(mat)}")


def _load_mat_dict(path):
    import scipy.io

    try:
        return {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    except Exception as exc:  # noqa: BLE001 - scipy raises ValueError, TypeError, MatReadError...
        from .nwb import FileFormatError

        raise FileFormatError(f"{str(path)!r} cannot be read as a MATLAB file: {type(exc).__name__}: {exc}") \
            from exc


def read_mat(path, *, name=None, variables=None, bin_width=None, t_start=None, t_stop=None, time_unit=None,
             variables_as="units") -> dict:
    """Read a MATLAB file of real neurons into a Recording (seconds), by the rules of this module.

    Parameters
    ----------
    path : str or Path
    name : str, optional
        The recording's name (default: the file's stem).
    variables : str or list of str, optional
        The variables holding the spikes (default: found by the rules above).
    bin_width : pq.Quantity, optional
        Width of a bin of a 0/1 trial x bin matrix (required for one, unless
        ``time_unit`` and a time vector give it).
    t_start, t_stop : pq.Quantity, optional
        Override the extent found in the file.  ``t_stop`` is required for
        spike times without a time vector.
    time_unit : pq unit or str, optional
        Unit of the numbers in the file (spike times, ``t``); default seconds
        for spike times, inferred for the time vector beside a matrix.
    variables_as : {"units", "trials"}, default "units"
        What several spike-time variables are: units, or trials of one neuron
        (trials table column ``variable``, the condition).

    Returns
    -------
    dict of str to Recording
        One entry: ``{name: Recording}`` in seconds.

    Raises
    ------
    AmbiguousVariablesError
        If the spikes cannot be told apart; the message describes every variable.
    KeyError
        If a named variable is not in the file.
    ValueError
        For a repeated variable, NaN bins or spike times, infinite spike
        times, a missing ``bin_width`` or ``t_stop``, a time vector whose unit
        is ambiguous, or spikes outside ``[t_start, t_stop]``.
    ann2neo.UnitError
        For times that are not physical times.

    Examples
    --------
    >>> import scipy.io, quantities as pq
    >>> scipy.io.savemat("/tmp/doc.mat", {"spk": np.array([[0.5, 1.5, 2.5]])})
    >>> read_mat("/tmp/doc.mat", t_stop=4 * pq.s)["doc"]
    Recording(1 unit x 1 trial in s)
    """
    path = Path(path)
    start, stop, width, unit = check_extent_args(t_start, t_stop, bin_width, time_unit)
    if variables_as not in ("units", "trials"):
        raise ValueError(f"variables_as must be 'units' or 'trials', got {variables_as!r}")
    mat = _load_mat_dict(path)
    t_name, t = _time_vector(mat)
    if variables is None:
        variables = _pick_variables(path, mat, t_name, t)
    elif isinstance(variables, str):
        variables = [variables]
    elif not (isinstance(variables, (list, tuple)) and variables and all(isinstance(v, str) for v in variables)):
        raise TypeError(f"variables must be a variable name or a list of names, got {variables!r}")
    variables = list(variables)
    repeated = sorted({v for v in variables if variables.count(v) > 1})
    if repeated:
        raise ValueError(f"variables names {repeated[0]!r} more than once; each variable is read once (a unit "
                         "given twice is not two units)")
    missing = [v for v in variables if v not in mat]
    if missing:
        raise MissingVariableError(f"{str(path)!r} has no variable {missing[0]!r}; variables found: "
                                   f"{_describe(mat)}")
    for v in variables:
        what = _matlab_object(mat[v])
        if what:
            raise ValueError(f"{str(path)!r}: variable {v!r} is {what}; ann2neo reads only numeric arrays and cell "
                             "arrays of numbers (spike times or a 0/1 trial x bin matrix), never MATLAB code or "
                             "objects")
    name = name if name is not None else path.stem
    kinds = [_kind(mat[v]) for v in variables]
    ann = {"source": str(path), "variables": list(variables)}
    if any(k in ("matrix", "counts") for k in kinds):
        if not all(k in ("matrix", "counts") for k in kinds):
            raise ValueError(f"{str(path)!r}: variables {variables} mix trial x bin matrices and spike times; "
                             "read them separately")
        rec = _binned_from_mat(path, mat, variables, t_name, t, start, stop, width, unit, ann)
        return {name: rec}
    for v, kind in zip(variables, kinds, strict=True):
        if kind not in ("cell", "vector"):
            raise ValueError(f"{str(path)!r}: variable {v!r} ({getattr(mat[v], 'shape', '?')} "
                             f"{getattr(mat[v], 'dtype', type(mat[v]).__name__)}) is neither spike times nor a 0/1 "
                             "trial x bin matrix. " + _expected(path, mat).split(". ", 1)[1])
    return {name: _times_from_mat(path, mat, variables, kinds, t_name, t, start, stop, unit, variables_as, ann)}


def _unit_of_t(path, t_name, t, width, unit):
    """The unit (in s) of the time vector beside a matrix, and the bin width (s)."""
    step = float(np.median(np.diff(t)))
    if unit is not None:
        implied = step * unit
        if width is not None and not np.isclose(implied, width, rtol=1e-6):
            raise ValueError(f"{str(path)!r}: the step of {t_name!r} ({step:g} {_unit_text(unit)}) disagrees with "
                             f"bin_width ({width:g} s)")
        return unit, width if width is not None else implied
    if width is None:
        return None, None
    ratio = width / step
    for q, _ in _NAMED_UNITS:
        if np.isclose(ratio, float(q.rescale(pq.s).magnitude), rtol=1e-6):
            return float(q.rescale(pq.s).magnitude), width
    raise ValueError(f"{str(path)!r}: cannot tell the unit of {t_name!r}: its step {step:g} against a bin width "
                     f"of {width:g} s is neither s, ms, us nor min; {_cli('time_unit=pq.ms', '--time-unit ms')} "
                     f"(the unit of {t_name!r}), or {_cli('t_start=...', '--t-start ...')}")


def _unit_text(unit_s):
    for q, text in _NAMED_UNITS:
        if np.isclose(unit_s, float(q.rescale(pq.s).magnitude)):
            return text
    return f"x {unit_s:g} s"


def _binned_from_mat(path, mat, variables, t_name, t, start, stop, width, unit, ann):
    arrays = [np.asarray(mat[v]) for v in variables]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"{str(path)!r}: the trial x bin matrices {variables} differ in shape {sorted(shapes)}")
    n_trials, n_bins = arrays[0].shape
    for v, a in zip(variables, arrays, strict=True):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).sum())
            raise ValueError(f"{str(path)!r}: variable {v!r} has {bad} NaN or Inf bins; a missing bin is not "
                             "silence and not a spike: drop those trials or fill them in MATLAB first")
    time_axis = t is not None and t.size == n_bins
    t_unit, width_given = None, width is not None
    if time_axis:
        t_unit, width = _unit_of_t(path, t_name, t, width, unit)
    if width is None:
        hint = (f"; or give the unit of {t_name!r} ({_cli('time_unit=pq.ms', '--time-unit ms')})" if time_axis
                else "")
        raise ValueError(f"{str(path)!r}: variable {variables[0]!r} is a trial x bin matrix {arrays[0].shape}, and "
                         f"the file does not say how wide a bin is: {_cli('bin_width=1 * pq.ms', '--bin-width 1ms')}"
                         f"{hint}. Variables found: {_describe(mat)}")
    if stop is not None:
        raise ValueError(f"{str(path)!r}: a trial x bin matrix ends where its last bin ends (t_start + {n_bins} "
                         "bins); do not pass t_stop")
    if start is None:
        if time_axis:
            start = float(t[0]) * t_unit
            ann["extent"] = f"t_start = {t_name}[0] ({t[0]:g} {_unit_text(t_unit)}); {n_bins} bins"
        else:
            start = 0.0
            ann["extent"] = f"trials start at 0 (no time vector); {n_bins} bins"
    else:
        ann["extent"] = f"t_start given; {n_bins} bins"
    cols = {}
    for k, v in mat.items():
        if k in variables or k == t_name or not isinstance(v, np.ndarray):
            continue
        vec = _vector(v)
        if vec is not None and vec.size == n_trials and (n_trials != n_bins or v.shape[0] == n_trials):
            values = np.asarray(v).ravel()
            cols[k] = values
    counts = np.stack([a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays], axis=1)
    if counts.dtype.kind == "f":
        if (counts != np.round(counts)).any() or (counts < 0).any():
            raise ValueError(f"{str(path)!r}: {variables} hold numbers that are not spike counts")
    binned = counts.astype(bool) if counts.max(initial=0) <= 1 else counts.astype(np.uint16 if counts.max() < 2 ** 16
                                                                                   else np.uint64)
    condition = next(iter(cols), None)
    ann["bin_width_source"] = "given" if width_given else f"step of {t_name!r}"
    return Recording.from_binned(binned, width * pq.s, t_start=start * pq.s, time_unit=pq.s,
                                 unit_names=list(variables), trials=cols or None, condition=condition,
                                 annotations=ann)


def _times_from_mat(path, mat, variables, kinds, t_name, t, start, stop, unit, variables_as, ann):
    scale = 1.0 if unit is None else unit
    given_start = start is not None
    units_times, names = [], []
    for v, kind in zip(variables, kinds, strict=True):
        cells = [np.asarray(c, dtype=np.float64).ravel() for c in mat[v].ravel()] if kind == "cell" \
            else [_vector(mat[v])]
        for i, times in enumerate(cells):
            label = f"{v}[{i}]" if kind == "cell" else v
            if np.isnan(times).any():
                raise ValueError(f"{str(path)!r}: {label} holds NaN spike times; remove them in MATLAB first")
            if np.isinf(times).any():
                raise ValueError(f"{str(path)!r}: {label} holds an infinite spike time; spike times must be finite")
            if times.size > 1 and (np.diff(times) < 0).any():
                raise ValueError(f"{str(path)!r}: {label} is not sorted, so it does not look like spike times "
                                 "(spike counts?); sort it in MATLAB if it holds times")
            units_times.append(times * scale if scale != 1.0 else times)
            names.append(label)
    everything = [x for x in units_times if x.size]
    first = min((float(x[0]) for x in everything), default=None)
    last = max((float(x[-1]) for x in everything), default=None)
    if t is not None:
        dt = float(np.median(np.diff(t)))
        if start is None:
            start = float(t[0]) * scale
        if stop is None:
            stop = (float(t[-1]) + dt) * scale
        ann["extent"] = f"{t_name!r}: [{t_name}[0], {t_name}[-1] + step)"
        ann["resolution"] = dt * scale  # spike times are on the time vector's grid (seconds)
    else:
        if start is None:
            if first is not None and first < 0:
                raise ValueError(f"{str(path)!r}: spikes before 0 s (first at {first:g} s) and no time vector: "
                                 f"{_cli('t_start=... * pq.s', '--t-start ...')}")
            start = 0.0
        if stop is None:
            at = f"; its last spike is at {last:g} s" if last is not None else ""
            raise ValueError(f"{str(path)!r} holds spike times but does not say when the recording stopped{at}. "
                             f"{_cli('t_stop=1000 * pq.s', '--t-stop 1000s')} (the recording's end, not the last "
                             "spike)")
        ann["extent"] = "t_start " + ("given" if given_start else "0 (clock origin)") + ", t_stop given"
    for label, times in zip(names, units_times, strict=True):
        if times.size and (times[0] < start or times[-1] > stop):
            raise ValueError(f"{str(path)!r}: {label} has spikes outside [t_start, t_stop] = [{start:g}, {stop:g}] s")
    if variables_as == "trials":
        return Recording.from_spike_times([[x] for x in units_times], t_start=start * pq.s, t_stop=stop * pq.s,
                                          unit_names=[path.stem], trials={"variable": names}, condition="variable",
                                          annotations=ann)
    return Recording.from_spike_times(units_times, t_start=start * pq.s, t_stop=stop * pq.s, unit_names=names,
                                      annotations=ann)


# ----------------------------------------------------------------------------- Neo fallback


def read_neo(path, *, name=None, t_start=None, t_stop=None, **_ignored) -> dict:
    """Read any file Neo reads: one Recording per Neo block (its segments are trials).

    Parameters
    ----------
    path : str or Path
    name : str, optional
        Keep only the block of this name.
    t_start, t_stop : pq.Quantity, optional
        Not used: a Neo file's trains state their extent.  Refused if given.

    Returns
    -------
    dict of str to Recording
        Block names (``"block <i>"`` for unnamed ones) to recordings; trains
        matched across segments by :class:`neo.Group`, ``unit`` annotation or
        name (see :meth:`ann2neo.Recording.from_neo`).

    Raises
    ------
    ann2neo.io.nwb.FileFormatError
        If no Neo IO reads the file.
    """
    if t_start is not None or t_stop is not None:
        raise ValueError(f"{str(path)!r}: Neo files state each train's t_start and t_stop; do not pass them")
    io = _safe_neo_io(path)
    try:
        blocks = io.read_all_blocks() if hasattr(io, "read_all_blocks") else [io.read_block()]
    finally:
        close = getattr(io, "close", None)
        if callable(close):
            close()
    out = {}
    for i, block in enumerate(blocks):
        if not any(seg.spiketrains for seg in block.segments):
            continue
        key = str(block.name) if block.name else f"block {i}"
        out[key] = Recording.from_neo(block)
    if not out:
        from .nwb import FileFormatError

        raise FileFormatError(f"{str(path)!r}: Neo reads it, but it holds no spike trains")
    return out


# ----------------------------------------------------------------------------- deprecated


def load_recording(path, *, variables=None, units=pq.s, t_start=None, t_stop=None, bin_width=None) -> neo.Block:
    """Deprecated: use :func:`ann2neo.read` (a Recording) and :meth:`ann2neo.Recording.to_neo`.

    Reads as :func:`ann2neo.read` does (the same rules: ``t_stop`` is taken
    from the file or required, never the last spike) and returns
    ``read(...).to_neo()``, with the trains rescaled to ``units``.

    Parameters
    ----------
    path : str or Path
    variables : str or list of str, optional
        MATLAB variables holding the spikes, as :func:`ann2neo.read`.
    units : pq unit, default pq.s
        Unit of the numbers in a MATLAB file and of the returned trains.
    t_start, t_stop : pq.Quantity, optional
        The recording's extent where the file does not state it, as :func:`ann2neo.read`.
    bin_width : pq.Quantity, optional
        Bin width of a MATLAB trial x bin matrix, as :func:`ann2neo.read`.

    Returns
    -------
    neo.Block
        One Segment per trial, one Group per unit.

    Examples
    --------
    >>> block = load_recording("10_spikes-1.mat", bin_width=1 * pq.ms)  # doctest: +SKIP
    """
    from .formats import read

    warnings.warn("ann2neo.load_recording is deprecated: use ann2neo.read(path, ...) (a Recording) and "
                  "Recording.to_neo() for Neo objects", DeprecationWarning, stacklevel=2)
    if not isinstance(units, pq.Quantity):
        raise TypeError(f"units must be a quantities time unit such as pq.s or pq.ms, got {units!r}")
    as_time(pq.Quantity(1.0, units.units), "units")
    rec = read(path, variables=variables, t_start=t_start, t_stop=t_stop, bin_width=bin_width,
               time_unit=units if Path(path).suffix.lower() == ".mat" else None)
    if not np.isclose(float(pq.Quantity(1.0, units.units).rescale(rec.time_unit).magnitude), 1.0):
        rec = rec.rescaled(units)
    return rec.to_neo()
