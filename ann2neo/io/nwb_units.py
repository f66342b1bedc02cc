"""NWB files of real neurons: Recordings in physical time as a Units table and a trials table.

**Writing** (:func:`add_units_recordings`, called by :func:`ann2neo.write_nwb`
for recordings in seconds or ms).  The file is plain NWB that any NWB reader
understands:

* ``units``: one row per unit and recording; ``spike_times`` in seconds on the
  file's clock, ``obs_intervals`` (the unit's own observation intervals, else
  the windows of its trials), ``unit_name``, ``recording`` and the units
  table's other scalar columns (``layer``, ``node``, ...); ``resolution`` is
  the bin width of a binned recording, else the recording's annotation
  ``resolution`` (seconds; the step of a MATLAB time vector, or an NWB
  file's own resolution, set by the readers; a warning when it is unknown).
* ``trials``: one row per trial with ``start_time``/``stop_time`` on the file's
  clock, ``recording``, ``time_offset`` and the condition columns
  (``direction``, ``label``, ...).  Trials that overlap on the recording's clock
  (aligned to a cue: every STN trial spans -1 s to 1 s) are laid out one after
  the other from 0 s; ``time_offset`` is what was added (file time =
  recording time + ``time_offset``).  Trials already in order, without
  overlap and at or after 0 keep their times (offset 0).
* processing module ``ann2neo``, table ``recordings``: per recording its
  name and ann2neo's tagged JSON of what NWB has no field for (time unit, bin
  width and count dtype, the exact trial extents, which units had
  observation intervals, column dtypes, condition, annotations).

Binned trials are stored as spike times at the start of their bins and
re-binned exactly on reading (``ndx-binned-spikes`` installs from PyPI and
works with pynwb 4.2, but is not a dependency of ann2neo yet).  The write is
exact for recordings in seconds (what :func:`ann2neo.read` returns) and for
binned recordings in any unit; spike times of a recording in another unit,
or moved by a ``time_offset``, are refused when seconds cannot hold them
exactly.

**Reading** (:func:`read_nwb_units`): any NWB file with a Units table, as
described in :mod:`ann2neo.io.loaders`; files written here come back equal
(:meth:`ann2neo.Recording.equals`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import quantities as pq

from ..core.recording import Recording, floor_bins
from . import _json

__all__ = ["add_units_recordings", "read_nwb_units"]

_RESERVED = ("start_time", "stop_time", "tags", "timeseries", "id", "recording", "time_offset")


def _factor(rec) -> float:
    """Seconds per unit of the recording's time base."""
    return float(pq.Quantity(1.0, rec.time_unit).rescale(pq.s).magnitude)


def _offsets(rec) -> np.ndarray:
    """Per trial, the shift onto the file's clock (recording units): 0 unless the trials overlap."""
    s, e = rec.t_start, rec.t_stop
    if rec.n_trials == 0 or (s[0] >= 0 and (s[1:] >= e[:-1]).all()):
        return np.zeros(rec.n_trials)
    starts = np.concatenate([[0.0], np.cumsum(rec.duration)[:-1]])
    return starts - s


def _column(values, what):
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr
    if arr.dtype.kind in "OUS" and all(isinstance(v, str) for v in arr.ravel().tolist()):
        return np.array(arr.tolist(), dtype=object)
    raise TypeError(f"{what}: NWB columns hold numbers, bools or strings; got {arr.dtype} values "
                    f"such as {arr.ravel()[:2].tolist()}")


def add_units_recordings(nwbfile, recordings: dict) -> None:
    """Add Recordings in physical time to an in-memory NWBFile: Units, trials, ann2neo provenance.

    Parameters
    ----------
    nwbfile : pynwb.NWBFile
        Without a Units table, trials table or ``ann2neo`` processing module.
    recordings : dict of str to Recording
        Recordings in a physical time unit.

    Raises
    ------
    ValueError
        If the file already has units or trials, a column name is reserved,
        or spike times cannot be stored exactly in seconds.
    TypeError
        For table columns or annotations NWB cannot hold.
    """
    from hdmf.common import DynamicTable, ElementIdentifiers, VectorData

    if nwbfile.units is not None or nwbfile.trials is not None:
        raise ValueError("nwbfile already has a Units or trials table; ann2neo writes its own (use a fresh NWBFile)")
    if "ann2neo" in nwbfile.processing:
        raise ValueError("nwbfile already has an 'ann2neo' processing module")
    unit_cols, trial_cols = _add_columns(nwbfile, recordings)
    metas = []
    resolution, missing_resolution = None, False
    for rec_name, rec in recordings.items():
        f = _factor(rec)
        off = _offsets(rec)
        columns = {c: _column(rec.units[c].to_numpy(), f"recording {rec_name!r} unit column {c!r}")
                   if c in rec.units else None for c in unit_cols}
        tcols = {c: _column(rec.trials[c].to_numpy(), f"recording {rec_name!r} trial column {c!r}")
                 if c in rec.trials else None for c in trial_cols}
        if any(v is None for v in columns.values()) or any(v is None for v in tcols.values()):
            raise ValueError("recordings written to one NWB file must have the same unit and trial columns; write "
                             "them to separate files")
        obs_given = [("obs_intervals" in rec.units and rec.units["obs_intervals"].iloc[u] is not None)
                     for u in range(rec.n_units)]
        if any(obs_given) and off.any():
            raise ValueError(f"recording {rec_name!r}: units with obs_intervals and trials that overlap on the "
                             "recording's clock cannot share one NWB clock")
        res = rec.bin_width * f if rec.is_binned else rec.annotations.get("resolution")
        if res is not None:
            resolution = float(res) if resolution is None else min(resolution, float(res))
        else:
            missing_resolution = True
        windows = np.column_stack([(rec.t_start + off) * f, (rec.t_stop + off) * f])
        for u in range(rec.n_units):
            seconds = _unit_seconds(rec, rec_name, u, f, off)
            obs = rec.units["obs_intervals"].iloc[u] * f if obs_given[u] else windows
            nwbfile.add_unit(spike_times=seconds, obs_intervals=obs, unit_name=str(rec.units["name"].iloc[u]),
                             recording=str(rec_name), **{c: _scalar(v[u]) for c, v in columns.items()})
        for k in range(rec.n_trials):
            nwbfile.add_trial(start_time=float(windows[k, 0]), stop_time=float(windows[k, 1]),
                              recording=str(rec_name), time_offset=float(off[k] * f),
                              **{c: _scalar(v[k]) for c, v in tcols.items()})
        meta = {"time_unit": rec.unit_name, "t_start": rec.t_start, "t_stop": rec.t_stop, "offset": off,
                "binned": None if not rec.is_binned else
                {"bin_width": rec.bin_width, "dtype": str(rec.binned.dtype), "n_bins": rec.n_bins},
                "condition": rec.condition, "obs_given": obs_given, "n_units": rec.n_units,
                "unit_columns": [c for c in rec.units.columns if c != "obs_intervals"],
                "unit_dtypes": {c: str(rec.units[c].dtype) for c in rec.units.columns if c != "obs_intervals"},
                "trial_columns": list(rec.trials.columns),
                "trial_dtypes": {c: str(rec.trials[c].dtype) for c in rec.trials.columns},
                "annotations": _storable(rec.annotations, rec_name)}
        metas.append(_json.dumps(meta, f"recording {rec_name!r}"))
    if resolution is not None and not missing_resolution:
        nwbfile.units.resolution = float(resolution)
    else:
        import warnings

        warnings.warn("the time resolution of these spike times is unknown (NWB's Units.resolution, which "
                      "nwbinspector requires): set rec.annotations['resolution'] in seconds (e.g. 40e-6 for 25 kHz "
                      "sampling) before writing", UserWarning, stacklevel=3)
    module = nwbfile.create_processing_module("ann2neo", "ann2neo provenance: how the recordings were stored")
    module.add(DynamicTable(name="recordings", description="ann2neo recordings in this file, one row each",
                            id=ElementIdentifiers(name="id", data=np.arange(len(metas))), columns=[
                                VectorData(name="recording", description="recording name",
                                           data=[str(n) for n in recordings]),
                                VectorData(name="meta", description="what NWB has no field for (time unit, bins, "
                                           "exact trial extents, dtypes, condition, annotations), as ann2neo's "
                                           "tagged JSON", data=metas)]))


def _add_columns(nwbfile, recordings):
    """Declare the Units and trials columns (the recordings' own, refusing reserved names); return their names."""
    unit_cols = list(dict.fromkeys(c for r in recordings.values() for c in r.units.columns
                                   if c not in ("name", "obs_intervals")))
    trial_cols = list(dict.fromkeys(c for r in recordings.values() for c in r.trials.columns))
    for c in unit_cols + trial_cols:
        if c in _RESERVED or c in ("unit_name", "spike_times", "obs_intervals", "electrodes"):
            raise ValueError(f"column {c!r} has a reserved NWB/ann2neo name; rename it")
    for c in unit_cols:
        nwbfile.add_unit_column(c, f"{c} of the unit (ann2neo units table)")
    nwbfile.add_unit_column("unit_name", "name of the unit (neuron or network node)")
    nwbfile.add_unit_column("recording", "name of the recording the unit belongs to")
    nwbfile.add_trial_column("recording", "name of the recording the trial belongs to")
    nwbfile.add_trial_column("time_offset", "seconds added to the recording's clock to place the trial on the "
                                            "file's clock (non-zero when trials overlap, e.g. aligned to a cue)")
    for c in trial_cols:
        nwbfile.add_trial_column(c, f"trial condition {c!r}")
    return unit_cols, trial_cols


def _unit_seconds(rec, rec_name, u, f, off):
    """Unit ``u``'s spike times of all trials on the file's clock in seconds; raise unless they round-trip exactly."""
    parts = [(rec.spike_times(k, u) + off[k]) for k in range(rec.n_trials)]
    times = np.concatenate(parts) if parts else np.zeros(0)
    seconds = times * f if f != 1.0 else times
    if not rec.is_binned and (f != 1.0 or off.any()):
        back = [(seconds[a:b] / f - o) for (a, b), o in zip(_bounds(parts), off, strict=True)]
        if not all(np.array_equal(x, p - o) for x, p, o in zip(back, parts, off, strict=True)):
            raise ValueError(f"recording {rec_name!r}: its spike times cannot be stored exactly in seconds "
                             "on the file's clock; use a recording in seconds (Recording.rescaled(pq.s))")
    return seconds


def _bounds(parts):
    ends = np.cumsum([p.size for p in parts])
    return list(zip(np.concatenate([[0], ends[:-1]]).astype(int), ends.astype(int), strict=True))


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v


def _storable(annotations, rec_name):
    out = {}
    for k, v in annotations.items():
        if isinstance(v, (pd.DataFrame, pd.Series)):
            continue  # the trials table of a long-train view: not a recording's annotation to keep
        _json.dumps(v, f"recording {rec_name!r} annotation {k!r}")
        out[k] = v
    return out


# ----------------------------------------------------------------------------- reading


def _text(values):
    return [v.decode() if isinstance(v, bytes) else v for v in values]


def _ragged(table, col):
    """Per row, a float64 array of a ragged column (spike_times, obs_intervals)."""
    vi = table[col]
    data = np.asarray(vi.target.data[:], dtype=np.float64)
    ends = np.asarray(vi.data[:], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    return [data[a:b] for a, b in zip(starts, ends, strict=True)]


def _scalar_columns(table, skip):
    out = {}
    for col in table.colnames:
        if col in skip or col not in table:
            continue
        item = table[col]
        if hasattr(item, "target") or type(item).__name__ in ("DynamicTableRegion", "VectorIndex"):
            continue
        data = item.data[:]
        arr = np.asarray(data)
        if arr.ndim != 1:
            continue
        out[col] = np.array(_text(arr.tolist()), dtype=object) if arr.dtype.kind in "OSU" else arr
    return out


def read_nwb_units(nwbfile, path, *, name=None, t_start=None, t_stop=None) -> dict:
    """Recordings from an open NWBFile's Units (and trials) tables; see :mod:`ann2neo.io.loaders`.

    Parameters
    ----------
    nwbfile : pynwb.NWBFile
        Open (read inside :func:`ann2neo.io.nwb.open_nwb`).
    path : str or Path
        For messages and the default name (the file's stem).
    name : str, optional
        Read only this recording.
    t_start, t_stop : float (s), optional
        The extent of a file without trials or observation intervals.

    Returns
    -------
    dict of str to Recording
    """
    from .nwb import FileFormatError

    units = nwbfile.units
    if units is None or "spike_times" not in units.colnames:
        raise FileFormatError(f"{str(path)!r} is an NWB file without a Units table with spike_times")
    times = _ragged(units, "spike_times")
    obs = _ragged(units, "obs_intervals") if "obs_intervals" in units.colnames else [None] * len(times)
    obs = [None if o is None else o.reshape(-1, 2) for o in obs]
    ids = np.asarray(units.id.data[:])
    ucols = _scalar_columns(units, skip=("spike_times", "obs_intervals", "electrodes", "waveforms",
                                         "waveform_mean", "waveform_sd", "electrode_group"))
    trials = nwbfile.trials
    tcols = _scalar_columns(trials, skip=("tags", "timeseries")) if trials is not None else None
    metas = {}
    if "ann2neo" in nwbfile.processing and "recordings" in nwbfile.processing["ann2neo"].data_interfaces:
        table = nwbfile.processing["ann2neo"]["recordings"]
        metas = {str(n): _json.loads(m) for n, m in zip(_text(table["recording"].data[:]), _text(table["meta"].data[:]),
                                                        strict=True)}
    if metas:
        names = list(metas)
        unit_rec = np.asarray(ucols.pop("recording"), dtype=object)
        trial_rec = np.asarray(tcols.pop("recording"), dtype=object) if tcols is not None else None
    else:
        names = [Path(path).stem]
        unit_rec = np.full(len(times), names[0], dtype=object)
        trial_rec = np.full(len(trials), names[0], dtype=object) if trials is not None else None
    if name is not None:
        if name not in names:
            raise ValueError(f"{str(path)!r} has no recording {name!r}; it holds {names}")
        names = [name]
    out = {}
    for rec_name in names:
        u_sel = np.flatnonzero(unit_rec == rec_name)
        t_sel = np.flatnonzero(trial_rec == rec_name) if trial_rec is not None else None
        meta = metas.get(rec_name)
        rec_units = {c: v[u_sel] for c, v in ucols.items()}
        rec_trials = {c: v[t_sel] for c, v in tcols.items()} if t_sel is not None else None
        out[rec_name] = _recording(path, rec_name, meta, [times[i] for i in u_sel], [obs[i] for i in u_sel],
                                   ids[u_sel], rec_units, rec_trials, t_start, t_stop,
                                   resolution=getattr(units, "resolution", None))
    return out


def _unit_names(ids, cols):
    for key in ("unit_name", "name", "_name"):
        if key in cols:
            values = [str(v) for v in cols[key]]
            if all(values) and len(set(values)) == len(values):
                del cols[key]
                return values
    return [f"unit {i}" for i in ids]


def _recording(path, rec_name, meta, times, obs, ids, ucols, tcols, t_start, t_stop, resolution=None):
    names = _unit_names(ids, ucols)
    if meta is None:
        ucols = {"id": ids, **ucols}
    if tcols is not None and len(tcols.get("start_time", ())) and meta is None and (t_start is not None
                                                                                      or t_stop is not None):
        raise ValueError(f"{str(path)!r}: its trials table gives each trial's extent; do not pass t_start/t_stop")
    if tcols is not None and len(tcols.get("start_time", ())):
        starts = np.asarray(tcols.pop("start_time"), dtype=np.float64)
        stops = np.asarray(tcols.pop("stop_time"), dtype=np.float64)
        offset = np.asarray(tcols.pop("time_offset"), dtype=np.float64) if "time_offset" in tcols \
            else np.zeros(starts.size)
        extent = "trials table"
    else:
        tcols = {}
        lo = [o[:, 0].min() for o in obs if o is not None and o.size]
        hi = [o[:, 1].max() for o in obs if o is not None and o.size]
        last = max((float(t[-1]) for t in times if t.size), default=None)
        start = t_start if t_start is not None else (min(lo) if lo else 0.0)
        if t_stop is not None:
            stop, extent = t_stop, "t_stop given"
        elif hi:
            stop, extent = max(hi), "observation intervals"
        else:
            at = f" (its last spike is at {last:g} s)" if last is not None else ""
            raise ValueError(f"{str(path)!r}: the NWB file has neither a trials table nor obs_intervals, so it "
                             f"does not say when the recording stopped{at}; pass --t-stop (t_stop=... * pq.s in "
                             "Python): the recording's end, not the last spike")
        starts, stops, offset = np.array([start]), np.array([stop]), np.zeros(1)
    n_trials = starts.size
    order = np.argsort(starts, kind="stable")
    nxt = set(starts.tolist())
    per_trial = [[None] * len(times) for _ in range(n_trials)]
    for u, t in enumerate(times):
        for k in order:
            lo = np.searchsorted(t, starts[k], side="left")
            hi = np.searchsorted(t, stops[k], side="right" if stops[k] not in nxt else "left")
            per_trial[k][u] = t[lo:hi]
    if meta is not None:
        return _restore(meta, per_trial, offset, names, ucols, tcols, obs)
    ann = {"source": str(path), "extent": extent}
    if resolution is not None and np.isfinite(resolution) and resolution > 0:
        ann["resolution"] = float(resolution)
    condition = next(iter(tcols)) if len(tcols) == 1 else None
    return Recording.from_spike_times(per_trial, t_start=starts * pq.s, t_stop=stops * pq.s, time_unit=pq.s,
                                      unit_names=names,
                                      units={**ucols, "obs_intervals": obs}, trials=tcols or None,
                                      condition=condition, annotations=ann)


def _restore(meta, per_trial, offset, names, ucols, tcols, obs):
    unit = pq.s if meta["time_unit"] == "s" else pq.Quantity(1.0, meta["time_unit"]).units
    f = float(pq.Quantity(1.0, unit).rescale(pq.s).magnitude)
    t0, t1 = np.asarray(meta["t_start"], np.float64), np.asarray(meta["t_stop"], np.float64)
    off = np.asarray(meta["offset"], np.float64)
    units = pd.DataFrame({"name": names})
    for c in meta["unit_columns"]:
        if c != "name":
            units[c] = ucols[c]
    for c, dtype in meta["unit_dtypes"].items():
        units[c] = units[c].astype(dtype)
    if any(meta["obs_given"]):
        units["obs_intervals"] = [o / f if given else None for o, given in zip(obs, meta["obs_given"], strict=True)]
    trials = pd.DataFrame({c: tcols[c] for c in meta["trial_columns"]}, index=pd.RangeIndex(t0.size))
    for c, dtype in meta["trial_dtypes"].items():
        trials[c] = trials[c].astype(dtype)
    common = dict(time_unit=unit, t_start=t0, t_stop=t1, units=units, trials=trials, condition=meta["condition"],
                  annotations=meta["annotations"])
    times = [[(x / f if f != 1.0 else x) - off[k] for x in trial] for k, trial in enumerate(per_trial)]
    binned = meta["binned"]
    if binned is None:
        return Recording(spike_times=times, **common)
    width, n_bins = float(binned["bin_width"]), int(binned["n_bins"])
    counts = np.zeros((t0.size, len(names), n_bins), dtype=np.int64)
    for k, trial in enumerate(times):
        for u, x in enumerate(trial):
            idx = floor_bins((x - t0[k]) / width)
            counts[k, u] = np.bincount(idx[(idx >= 0) & (idx < n_bins)], minlength=n_bins)
    return Recording(binned=counts.astype(binned["dtype"]), bin_width=width, **common)
