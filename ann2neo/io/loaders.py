"""Load recordings of real neurons into Neo objects in physical time.

Three kinds of source:

* **MATLAB files** (``.mat``, read with :func:`scipy.io.loadmat`): spike-time
  vectors, cell arrays of spike-time vectors (one cell per unit), and binary
  trial × bin matrices (``1`` = a spike in that bin) with a bin width;
* **NWB files** from any writer: the Units table's spike times, one train per
  unit;
* **anything Neo reads** (:func:`neo.io.get_io`: NIX, Blackrock, Plexon, Spike2, ...),
  except formats that unpickle (Neo's ``PickleIO``: ``.pkl``, ``.pickle``):
  opening a pickle runs any code it holds, so ann2neo refuses them before any
  Neo IO is created (:data:`UNSAFE_NEO_IOS`).

Layout of the returned :class:`neo.Block`:

* spike times (vectors, cells, NWB units, Neo files): one :class:`neo.Segment`
  with one :class:`neo.SpikeTrain` per unit (annotated ``unit`` = its index and
  the source variable or the Units-table columns);
* a binary trial × bin matrix: **one Segment per trial** (Neo's convention for
  trials), each holding one SpikeTrain (the neuron) whose spikes lie at the
  *start* of their bins, ``t_start + j * bin_width``, with ``sampling_rate =
  1 / bin_width``; ``t_stop = t_start + n_bins * bin_width``.  Every other
  variable with one value per trial (e.g. ``direction``) becomes an
  annotation of the trial's segment (and its train), together with ``trial``.
"""
from __future__ import annotations

from pathlib import Path

import neo
import numpy as np
import quantities as pq

from ..core.units import UnitError

__all__ = ["load_recording", "AmbiguousVariablesError", "MissingVariableError", "UnsafeFormatError",
           "UNSAFE_NEO_IOS", "SAFE_FORMATS"]

#: Neo IO classes that unpickle the file (running any code it holds): never instantiated.
UNSAFE_NEO_IOS = ("PickleIO",)
#: Extensions of pickle-based files (Python pickle, joblib, dill), refused whatever IO claims them.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pck", ".pcl", ".joblib", ".dill")
#: What to use instead, for the messages.
SAFE_FORMATS = ".mat, .nwb, .nix, .npy, .zarr, or a recording-system format Neo reads (Blackrock, Plexon, Spike2, ...)"


class AmbiguousVariablesError(ValueError):
    """The file holds several candidate spike variables; pass ``variables=``."""


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


def _time_quantity(value, name):
    if value is None:
        return None
    if not isinstance(value, pq.Quantity):
        raise TypeError(f"{name} must be a quantities time (e.g. 0.5 * pq.s), got {value!r}")
    if value.size != 1:
        raise ValueError(f"{name} must be a scalar time, got shape {value.shape}")
    if value.dimensionality.simplified != pq.s.dimensionality:
        raise UnitError(f"{name} must be a physical time (s, ms, ...), got units {value.dimensionality}")
    return value.rescale(pq.s)


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
    """'cell', 'binary', 'vector' or None for a MATLAB variable."""
    if not isinstance(value, np.ndarray) or _matlab_object(value):
        return None
    if value.dtype == object:
        items = [np.asarray(v) for v in value.ravel()]
        if items and all(v.dtype.kind in "iuf" and v.size == max(v.shape, default=v.size) for v in items):
            return "cell"
        return None
    if value.dtype.kind not in "biuf" or value.size < 2:
        return None
    if value.ndim == 2 and min(value.shape) > 1:
        finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
        return "binary" if np.isin(finite, (0, 1)).all() else None
    if value.ndim <= 2 and max(value.shape) == value.size:
        return "vector"
    return None


def _load_mat(path, variables, units, t_start, t_stop, bin_width):
    import scipy.io

    try:
        mat = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    except Exception as exc:  # noqa: BLE001 - scipy raises ValueError, TypeError, MatReadError...
        from .nwb import FileFormatError

        raise FileFormatError(f"{str(path)!r} cannot be read as a MATLAB file: {type(exc).__name__}: {exc}") \
            from exc
    if variables is None:
        kinds = {k: _kind(v) for k, v in mat.items()}
        strong = [k for k, kind in kinds.items() if kind in ("cell", "binary")]
        vectors = [k for k, kind in kinds.items() if kind == "vector"]
        if len(strong) == 1:
            variables = strong
        elif not strong and len(vectors) == 1:
            variables = vectors
        else:
            raise AmbiguousVariablesError(
                f"{str(path)!r}: cannot tell which variable holds the spikes; pass variables=[...]. "
                f"Variables found: {_describe(mat)}")
    if isinstance(variables, str):
        variables = [variables]
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
    kinds = [_kind(mat[v]) for v in variables]
    if "binary" in kinds:
        if len(variables) != 1:
            raise ValueError("a binary trial x bin matrix must be loaded on its own (one variable)")
        return _load_trial_matrix(path, mat, variables[0], units, t_start, bin_width)
    trains = []
    for var, kind in zip(variables, kinds, strict=True):
        if kind == "cell":
            cells = [np.asarray(c, dtype=np.float64).ravel() for c in mat[var].ravel()]
        elif kind == "vector":
            cells = [np.asarray(mat[var], dtype=np.float64).ravel()]
        else:
            raise ValueError(f"variable {var!r} ({mat[var].shape} {mat[var].dtype}) is neither spike times nor a "
                             "binary trial x bin matrix")
        for i, times in enumerate(cells):
            trains.append((var, i if kind == "cell" else None, times))
    return _block_of_times(trains, units, t_start, t_stop, source=str(path))


def _block_of_times(trains, units, t_start, t_stop, source, extra=None):
    all_times = [t for _, _, t in trains if t.size]
    if any(np.isnan(t).any() for t in all_times):
        raise ValueError(f"{source}: spike times contain NaN")
    lo = min((t.min() for t in all_times), default=0.0)
    hi = max((t.max() for t in all_times), default=0.0)
    start = t_start.rescale(units).magnitude.item() if t_start is not None else min(0.0, lo)
    stop = t_stop.rescale(units).magnitude.item() if t_stop is not None else hi
    if stop <= start:
        stop = start + 1.0 if not all_times else stop
    segment = neo.Segment(name="recording", source=source)
    for n, (var, i, times) in enumerate(trains):
        if times.size and (times.min() < start or times.max() > stop):
            raise ValueError(f"{source}: unit {n} has spikes outside [t_start, t_stop] = [{start}, {stop}] {units}")
        st = neo.SpikeTrain(np.sort(times) * units, t_start=start * units, t_stop=stop * units,
                            name=f"{var}[{i}]" if i is not None else str(var))
        st.annotate(unit=n, variable=str(var), **(extra[n] if extra else {}))
        if i is not None:
            st.annotate(index=i)
        st.segment = segment
        segment.spiketrains.append(st)
    block = neo.Block(name=Path(source).name, source=source)
    block.segments.append(segment)
    segment.block = block
    return block


def _load_trial_matrix(path, mat, var, units, t_start, bin_width):
    if bin_width is None:
        raise ValueError(f"{str(path)!r}: variable {var!r} is a binary trial x bin matrix {mat[var].shape}; pass "
                         f"bin_width= (e.g. 1 * pq.ms) and, if the first bin is not at 0, t_start=. "
                         f"Variables found: {_describe(mat)}")
    width = _time_quantity(bin_width, "bin_width").rescale(units)
    if not float(width.magnitude) > 0:
        raise ValueError(f"bin_width must be positive, got {bin_width}")
    start = t_start.rescale(units) if t_start is not None else 0.0 * units
    m = np.asarray(mat[var])
    n_trials, n_bins = m.shape
    labels = {}
    for k, v in mat.items():
        if k != var and isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.size == n_trials \
                and max(v.shape) == n_trials:
            labels[k] = v.ravel()
    block = neo.Block(name=Path(path).name, source=str(path), variable=var, layout="one segment per trial")
    stop = start + n_bins * width
    for trial in range(n_trials):
        ann = {k: v[trial].item() for k, v in labels.items()}
        seg = neo.Segment(name=f"trial {trial}", trial=trial, **ann)
        bins = np.flatnonzero(m[trial])
        st = neo.SpikeTrain(start.magnitude + bins * width.magnitude, units=units, t_start=start, t_stop=stop,
                            sampling_rate=(1 / width).rescale(pq.Hz), name=f"{var} trial {trial}")
        st.annotate(trial=trial, variable=var, **ann)
        st.segment = seg
        seg.spiketrains.append(st)
        seg.block = block
        block.segments.append(seg)
    return block


def _load_nwb_units(path, units, t_start, t_stop):
    from pynwb import NWBHDF5IO

    from ._hdf5 import check_self_contained
    from .nwb import FileFormatError

    check_self_contained(path)
    try:
        with NWBHDF5IO(str(path), "r") as io:
            f = io.read()
            table = f.units
            if table is None or "spike_times" not in table.colnames:
                raise FileFormatError(f"{str(path)!r} is an NWB file without a Units table with spike_times")
            times = np.asarray(table["spike_times"].target.data[:], dtype=np.float64)
            ends = np.asarray(table["spike_times"].data[:], dtype=np.int64)
            ids = np.asarray(table.id.data[:])
            columns = {}
            for col in table.colnames:
                if col in ("spike_times", "obs_intervals", "electrodes", "waveforms", "waveform_mean",
                           "waveform_sd") or col not in table or hasattr(table[col], "target"):
                    continue
                values = table[col].data[:]
                if getattr(values, "ndim", 1) == 1:
                    columns[col] = [v.decode() if isinstance(v, bytes) else v for v in values]
            obs = None
            if "obs_intervals" in table.colnames:
                obs = np.asarray(table["obs_intervals"].target.data[:], dtype=np.float64)
    except FileFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py/hdmf raise many kinds
        raise FileFormatError(f"{str(path)!r} cannot be read as NWB: {type(exc).__name__}: {exc}") from exc
    starts = np.concatenate([[0], ends[:-1]])
    trains = [("units", int(i), times[a:b]) for i, a, b in zip(ids, starts, ends, strict=True)]
    extra = [{k: (v[n].item() if isinstance(v[n], np.generic) else v[n]) for k, v in columns.items()}
             for n in range(len(ids))]
    if t_start is None and obs is not None and obs.size:
        t_start = float(obs.min()) * pq.s
    if t_stop is None and obs is not None and obs.size:
        t_stop = max(float(obs.max()), float(times.max()) if times.size else 0.0) * pq.s
    block = _block_of_times(trains, pq.s, t_start, t_stop, source=str(path), extra=extra)
    if units != pq.s:
        for seg in block.segments:
            seg.spiketrains = [st.rescale(units) for st in seg.spiketrains]
    return block


def load_recording(path, *, variables=None, units=pq.s, t_start=None, t_stop=None, bin_width=None) -> neo.Block:
    """Load spike trains of real neurons from a MATLAB, NWB or Neo-readable file, in physical time.

    Parameters
    ----------
    path : str or Path
    variables : str or list of str, optional
        MATLAB variables holding the spikes.  When omitted and the choice is
        ambiguous (several candidate variables, e.g. spike times next to a
        position vector), :class:`AmbiguousVariablesError` lists the variables
        found.
    units : quantities time unit, default pq.s
        The unit of the times stored in a MATLAB file (which has none) and of
        the returned trains.  NWB times are seconds by definition.
    t_start, t_stop : pq.Quantity, optional
        Recording bounds.  Defaults: for spike times ``min(0, first spike)``
        and the last spike (or the NWB ``obs_intervals``); for trial matrices
        ``t_start = 0`` (the first bin) and ``t_start + n_bins * bin_width``.
    bin_width : pq.Quantity, optional
        Bin width of a binary trial × bin matrix (required for one, e.g.
        ``1 * pq.ms``).

    Returns
    -------
    neo.Block
        See the module notes for the layout (one segment with one train per
        unit, or one segment per trial).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    TypeError
        If ``units``, ``t_start``, ``t_stop`` or ``bin_width`` is not a
        quantity, or ``variables`` is not a name or list of names.
    ann2neo.UnitError
        If one of them is not a physical time (e.g. Hz, or ann2neo's sample).
    AmbiguousVariablesError
        If ``variables`` is needed; the message lists the variables found.
    MissingVariableError
        If a named variable is not in the file (a KeyError and a ValueError;
        the message lists the variables found).
    UnsafeFormatError
        For a pickle-based file (``.pkl``, ``.pickle``, ...): it is refused
        before any Neo IO is created, since unpickling runs code.
    ann2neo.io.nwb.FileFormatError
        If the file cannot be read.
    ValueError
        For a matrix without ``bin_width``, spikes outside ``[t_start, t_stop]``,
        NaN spike times, or a named MATLAB variable that is a function handle
        or class object.

    Examples
    --------
    >>> block = load_recording("10_spikes-1.mat", bin_width=1 * pq.ms, t_start=-1 * pq.s)  # doctest: +SKIP
    >>> [seg.annotations["direction"] for seg in block.segments][:3]                      # doctest: +SKIP
    [0, 0, 1]
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"path {str(path)!r} is a directory, not a recording file")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if not isinstance(units, pq.Quantity):
        raise TypeError(f"units must be a quantities time unit such as pq.s or pq.ms, got {units!r}")
    if units.dimensionality.simplified != pq.s.dimensionality or "sample" in units.dimensionality.string:
        raise UnitError(f"units must be a physical time unit such as pq.s or pq.ms, got {units.dimensionality}")
    if variables is not None and not isinstance(variables, str) and not (
            isinstance(variables, (list, tuple)) and all(isinstance(v, str) for v in variables)):
        raise TypeError(f"variables must be a variable name or a list of names, got {variables!r}")
    t_start = _time_quantity(t_start, "t_start")
    t_stop = _time_quantity(t_stop, "t_stop")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _load_mat(path, variables, units, t_start, t_stop, bin_width)
    if suffix == ".nwb":
        return _load_nwb_units(path, units, t_start, t_stop)
    io = _safe_neo_io(path)
    block = io.read_block()
    for seg in block.segments:
        seg.spiketrains = [st.rescale(units) for st in seg.spiketrains]
    return block
