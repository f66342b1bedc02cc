"""NIX export and import (through Neo's ``NixIO``) that plain Neo can read without ann2neo.

Neo's NIX files store unit strings; a train in :data:`ann2neo.sample` would
need ann2neo imported before reading (``LookupError: Unable to parse units:
"sample"``).  :func:`write_nix` therefore stores physical seconds at a
nominal rate, with the same convention as the NWB writer: sample ``k`` is at
the centre of its bin, ``(k + 0.5) / sampling_rate`` s, ``t_start`` and
``t_stop`` are ``t_start / sampling_rate`` and ``t_stop / sampling_rate`` s,
the nominal rate defaults to 1000 Hz (a sample is a nominal millisecond).
Neo's ``NixIO`` does not store a spike train's ``sampling_rate``, so every
object carries the annotation ``ann2neo_sampling_rate`` (Hz) and, for an exact return, ``ann2neo_annotations``
(ann2neo's tagged JSON of the original annotations, name and description);
the annotations that NIX stores natively (strings, numbers, bools) are also
kept as plain annotations for readers without ann2neo.  :func:`read_nix`
turns the file back into samples exactly and refuses times off the grid.

A reader with only Neo::

    block = neo.NixIO("rec.nix", mode="ro").read_block()
    st = block.segments[0].spiketrains[0]          # seconds
    samples = np.floor(st.rescale("s").magnitude * st.annotations["ann2neo_sampling_rate"])
"""
from __future__ import annotations

import numbers
from pathlib import Path

import neo
import numpy as np
import pandas as pd
import quantities as pq

from ..core.units import check_sample_units, sample
from . import _json
from ._atomic import atomic_path
from ._hdf5 import check_self_contained
from ._names import check_storable_name
from ._recordings import _same, ann_payload, ann_recording, split_recordings
from .nwb import FileFormatError

__all__ = ["write_nix", "read_nix", "read_nix_recordings"]

_GRID_TOL = 1e-6


def _plain(annotations):
    """Annotations NIX stores natively (for readers without ann2neo)."""
    out = {}
    for k, v in annotations.items():
        if isinstance(v, str) and "\x00" in v:
            continue  # HDF5 cannot store it as a plain string; it is kept in the tagged JSON
        if isinstance(v, (str, bool)) or (isinstance(v, numbers.Real) and np.isfinite(float(v))):
            out[k] = v.item() if isinstance(v, np.generic) else v
    return out


def _tag(obj, annotations, rate):
    obj.annotations.update(_plain(annotations))
    obj.annotations["ann2neo_sampling_rate"] = float(rate)
    obj.annotations["ann2neo_annotations"] = _json.dumps(
        {"name": obj.name, "description": obj.description, "annotations": dict(annotations)}, "annotations")


def write_nix(path, data, *, sample_duration=None, sampling_rate=None, subject=None, experimenter=None,
              institution=None, keywords=None, session_description=None, experiment_description=None,
              model_description=None, identifier=None, session_start_time=None, nwbfile=None, compression=None,
              overwrite=False) -> None:
    """Write recordings to a NIX file that plain Neo can read, atomically; the parameters of :func:`write_nwb`.

    Parameters
    ----------
    path : str or Path
        Target ``.nix`` file; parent folders are created.
    data : neo.Block, neo.Segment, Recording, or mapping of str to Recording or spike matrix
        Spike trains in :data:`ann2neo.sample` (spike times on the integer
        grid), or Recordings.  Network-layer Recordings become one segment
        each (labels and other trial columns as annotations); Recordings in
        physical time become one Neo block each (:meth:`ann2neo.Recording.to_neo`:
        a Segment per trial, times in the recording's own unit, exact) with
        ann2neo's tagged JSON of the tables in the annotation
        ``ann2neo_recording``.
    sample_duration : pq.Quantity, default 1 ms
        The time one input sample stands for in the file.
    sampling_rate : float, optional
        Deprecated: ``1 / sample_duration`` in Hz.
    subject : pynwb.file.Subject or dict, optional
        As :func:`write_nwb`; kept as an annotation of the (first) block when
        given (as text), like each of the metadata below.
    experimenter, institution : str, optional
        As :func:`write_nwb`; kept as annotations when given.
    keywords : list of str, optional
        As :func:`write_nwb`; kept as an annotation when given.
    session_description, experiment_description : str, optional
        As :func:`write_nwb`; these and ``model_description``, ``identifier``,
        ``session_start_time`` are kept as annotations of the (first) block when given.
    nwbfile : None
        NWB only; refused.
    compression : None
        NWB only (Neo's NixIO does not compress); ignored.
    overwrite : bool, default False

    Raises
    ------
    FileExistsError, IsADirectoryError
        As :func:`ann2neo.io.nwb.write_nwb`.
    ann2neo.UnitError
        If a train is not in samples.
    ValueError
        If a spike time is off the sample grid, two segments share a name, a
        name holds a NUL character, or ``sampling_rate`` is not positive.
    TypeError
        If ``block`` is not a Block or Segment, or an annotation cannot be stored.

    Notes
    -----
    Groups (one per node, from :func:`ann2neo.to_block`) are rebuilt on reading
    rather than written, which keeps the file small.

    Examples
    --------
    >>> write_nix("rec.nix", ann2neo.to_block([ann2neo.to_segment(spikes, name="test")]))  # doctest: +SKIP
    """
    from .nwb import _default_duration, _rate

    rate = _rate(_default_duration(sample_duration), sampling_rate)
    if nwbfile is not None:
        raise TypeError("nwbfile= is for write_nwb; a NIX file has no NWBFile")
    metadata = {k: (v if isinstance(v, (str, list, tuple)) else str(v)) for k, v in {
        "subject": subject, "experimenter": experimenter, "institution": institution, "keywords": keywords,
        "session_description": session_description, "experiment_description": experiment_description,
        "model_description": model_description, "identifier": identifier,
        "session_start_time": session_start_time}.items() if v is not None}
    kind, mapping = split_recordings(data)
    if kind == "physical":
        _write_physical(path, mapping, metadata, overwrite)
        return
    if kind == "sample":
        data = neo.Block(name=None)
        for rec_name, rec in mapping.items():
            seg = _layer_segment(rec_name, rec)
            seg.block = data
            data.segments.append(seg)
    elif isinstance(data, dict):
        from ._recordings import recordings_of

        recordings_of(data)  # the writer's checks
        data = neo.Block(segments=[_matrix_segment(k, v) for k, v in data.items()])
    block = data
    block.annotations.update(metadata)
    if isinstance(block, neo.Segment):
        block = neo.Block(segments=[block])
    if not isinstance(block, neo.Block):
        raise TypeError(f"block must be a neo.Block or neo.Segment, got {type(block).__name__}")
    names = [s.name if s.name is not None else f"segment {i}" for i, s in enumerate(block.segments)]
    check_storable_name(block.name, f"block name {block.name!r}")
    for name, seg in zip(names, block.segments, strict=True):  # HDF5 names end at NUL: say which, before writing
        check_storable_name(name, f"segment {name!r}")
        for j, st in enumerate(seg.spiketrains):
            check_storable_name(st.name, f"segment {name!r} spike train {j} name {st.name!r}")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two segments are named {dup!r}; segment names must be unique within a file")
    out = neo.Block(name=block.name, description=block.description)
    _tag(out, block.annotations, rate)
    out.annotations["ann2neo_groups"] = bool(block.groups)
    for i, seg in enumerate(block.segments):
        new_seg = neo.Segment(name=seg.name, description=seg.description)
        _tag(new_seg, seg.annotations, rate)
        for j, st in enumerate(seg.spiketrains):
            what = f"segment {names[i]!r} spike train {j}"
            check_sample_units(st, what=what)
            times = np.asarray(st.magnitude, dtype=np.float64)
            if times.size and not np.array_equal(times, np.floor(times)):
                raise ValueError(f"{what} has spike times off the integer sample grid")
            own = {k: v for k, v in st.annotations.items()
                   if not (k in seg.annotations and _same(v, seg.annotations[k]))}
            absent = [k for k in seg.annotations if k not in st.annotations]
            new = neo.SpikeTrain((times + 0.5) / rate * pq.s, t_start=float(st.t_start.magnitude) / rate * pq.s,
                                 t_stop=float(st.t_stop.magnitude) / rate * pq.s, sampling_rate=rate * pq.Hz,
                                 name=st.name, description=st.description)
            _tag(new, {**own, "__absent__": absent} if absent else own, rate)
            new.annotations.pop("__absent__", None)
            new.segment = new_seg
            new_seg.spiketrains.append(new)
        new_seg.block = out
        out.segments.append(new_seg)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with neo.NixIO(str(tmp), mode="ow") as io:
            io.write_block(out)


def _layer_segment(name, rec) -> neo.Segment:
    from ..core.conversion import to_segment

    matrix, ann, unit_names = ann_payload(rec)
    seg = to_segment(matrix, name=name, **ann)
    for st, unit in zip(seg.spiketrains, unit_names, strict=True):
        st.name = unit
    return seg


def _matrix_segment(name, value) -> neo.Segment:
    from ..core.conversion import to_segment

    if isinstance(value, tuple):
        return to_segment(value[0], name=name, **dict(value[1]))
    return to_segment(value, name=name)


def _write_physical(path, recordings, metadata, overwrite):
    blocks = []
    for rec_name, rec in recordings.items():
        block = rec.to_neo()
        block.name = rec_name
        block.groups = []  # trains name their unit; groups are rebuilt on reading
        block.annotations.clear()
        if not blocks:
            block.annotate(**metadata)
        units = {c: rec.units[c].to_numpy() for c in rec.units.columns if c != "obs_intervals"}
        obs = list(rec.units["obs_intervals"]) if "obs_intervals" in rec.units else None
        meta = {"time_unit": rec.unit_name, "t_start": rec.t_start, "t_stop": rec.t_stop,
                "binned": None if not rec.is_binned else
                {"bin_width": rec.bin_width, "dtype": str(rec.binned.dtype), "n_bins": rec.n_bins},
                "condition": rec.condition, "units": units, "obs_intervals": obs,
                "trials": {c: rec.trials[c].to_numpy() for c in rec.trials.columns},
                "annotations": {k: v for k, v in rec.annotations.items() if k != "trials"}}
        block.annotations["ann2neo_recording"] = _json.dumps(meta, f"recording {rec_name!r}")
        for seg in block.segments:
            seg.annotations = {k: v for k, v in seg.annotations.items() if not isinstance(v, (np.ndarray,))}
            for st in seg.spiketrains:
                st.annotations = {"unit": st.annotations["unit"], "trial": st.annotations["trial"]}
        blocks.append(block)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with neo.NixIO(str(tmp), mode="ow") as io:
            io.write_all_blocks(blocks)


def _read_physical(blocks, name=None) -> dict:
    from ..core.recording import Recording, floor_bins

    out = {}
    for block in blocks:
        if name is not None and block.name != name:
            continue
        meta = _json.loads(block.annotations["ann2neo_recording"])
        events = Recording.from_neo(block)
        unit = pq.s if meta["time_unit"] == "s" else pq.Quantity(1.0, meta["time_unit"]).units
        units = pd.DataFrame(meta["units"])
        if meta["obs_intervals"] is not None:
            units["obs_intervals"] = meta["obs_intervals"]
        t0 = np.asarray(meta["t_start"], np.float64)
        common = dict(time_unit=unit, t_start=t0, t_stop=np.asarray(meta["t_stop"], np.float64), units=units,
                      trials=pd.DataFrame(meta["trials"], index=pd.RangeIndex(t0.size)),
                      condition=meta["condition"], annotations=meta["annotations"])
        order = [events._unit_index(n) for n in units["name"]]
        times = [[events.spike_times(k, u) for u in order] for k in range(events.n_trials)]
        binned = meta["binned"]
        if binned is None:
            out[block.name] = Recording(spike_times=times, **common)
            continue
        width, n_bins = float(binned["bin_width"]), int(binned["n_bins"])
        counts = np.zeros((t0.size, len(order), n_bins), dtype=np.int64)
        for k, trial in enumerate(times):
            for u, x in enumerate(trial):
                idx = floor_bins((x - t0[k]) / width)
                counts[k, u] = np.bincount(idx[(idx >= 0) & (idx < n_bins)], minlength=n_bins)
        out[block.name] = Recording(binned=counts.astype(binned["dtype"]), bin_width=width, **common)
    return out


def read_nix_recordings(path, *, name=None, t_start=None, t_stop=None) -> dict:
    """Read a NIX file written by :func:`write_nix` (or Neo) into Recordings.

    Parameters
    ----------
    path : str or Path
    name : str, optional
        Read only this recording (segment of network layers, or block of neurons).
    t_start, t_stop : None
        Not used (NIX trains state their extent); a ValueError if given.

    Returns
    -------
    dict of str to Recording

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    FileFormatError
        If the file cannot be read.
    ValueError
        For an unknown ``name``.

    Examples
    --------
    >>> read_nix_recordings("rec.nix")                   # doctest: +SKIP
    """
    from ..core.conversion import as_spike_matrix
    from ..core.recording import Recording

    if t_start is not None or t_stop is not None:
        raise ValueError(f"{str(path)!r}: NIX trains state their t_start and t_stop; do not pass them")
    blocks = _read_blocks(path)
    if blocks and all("ann2neo_recording" in b.annotations for b in blocks):
        names = [b.name for b in blocks]
        if name is not None and name not in names:
            raise ValueError(f"{str(path)!r} has no recording {name!r}; it holds {names}")
        return _read_physical(blocks, name)
    try:
        block = _ann_block(path, blocks)
    except FileFormatError:
        if len(blocks) != 1:
            raise
        return {blocks[0].name or Path(path).stem: Recording.from_neo(blocks[0])}  # a Neo file in physical time
    names = [s.name for s in block.segments]
    if name is not None and name not in names:
        raise ValueError(f"{str(path)!r} has no recording {name!r}; it holds {names}")
    out = {}
    for i, seg in enumerate(block.segments):
        if name is not None and seg.name != name:
            continue
        ann = dict(seg.annotations)
        matrix = as_spike_matrix(seg)
        out[seg.name if seg.name is not None else f"segment {i}"] = ann_recording(
            matrix, ann, [st.name for st in seg.spiketrains])
    return out


def _in_samples(block) -> bool:
    from ..core.units import is_sample_unit

    trains = [st for seg in block.segments for st in seg.spiketrains]
    return bool(trains) and all(is_sample_unit(st) for st in trains)


def _restore(obj):
    payload = _json.loads(obj.annotations["ann2neo_annotations"])
    return payload["name"], payload["description"], payload["annotations"]


def read_nix(path) -> neo.Block:
    """Read a NIX file written by :func:`write_nix` back into samples, exactly.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    neo.Block
        As written: names, descriptions, annotations, spike trains in
        :data:`ann2neo.sample` (with node groups when the original had them).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    FileFormatError
        If the file is damaged, not written by :func:`write_nix`, or holds
        spike times off the sample grid.

    Examples
    --------
    >>> block = read_nix("rec.nix")                             # doctest: +SKIP
    >>> ann2neo.from_spiketrains(block.segments[0].spiketrains)  # doctest: +SKIP
    """
    return _ann_block(path, _read_blocks(path))


def _read_blocks(path):
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"path {str(path)!r} is a directory, not a NIX file")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    check_self_contained(path)  # no external links, virtual datasets or external storage
    try:
        with neo.NixIO(str(path), mode="ro") as io:
            blocks = io.read_all_blocks()
    except Exception as exc:  # noqa: BLE001 - nixio/h5py raise many kinds
        raise FileFormatError(f"{str(path)!r} cannot be read as a NIX file: {type(exc).__name__}: {exc}") from exc
    return blocks


def _ann_block(path, blocks):
    from ..core.conversion import to_block

    if len(blocks) == 1 and "ann2neo_annotations" not in blocks[0].annotations and _in_samples(blocks[0]):
        return blocks[0]  # written with neo.NixIO directly from ann2neo objects (ann2neo 0.1.0 way)
    if len(blocks) != 1 or "ann2neo_annotations" not in blocks[0].annotations:
        raise FileFormatError(f"{str(path)!r} was not written by ann2neo.write_nix; read it with neo.NixIO")
    src = blocks[0]
    segments = []
    for seg in src.segments:
        name, description, seg_ann = _restore(seg)
        new_seg = neo.Segment(name=name, description=description, **seg_ann)
        for st in seg.spiketrains:
            rate = float(st.annotations["ann2neo_sampling_rate"])
            t_name, t_description, own = _restore(st)
            absent = set(own.pop("__absent__", []))
            x = st.rescale(pq.s).magnitude * rate - 0.5
            k = np.rint(x)
            if np.any(np.abs(x - k) > _GRID_TOL):
                raise FileFormatError(f"{str(path)!r}: spike train {t_name!r} has times off the sample grid")
            new = neo.SpikeTrain(k * sample, t_start=np.rint(float(st.t_start.rescale(pq.s)) * rate) * sample,
                                 t_stop=np.rint(float(st.t_stop.rescale(pq.s)) * rate) * sample,
                                 sampling_rate=1 / sample, name=t_name, description=t_description)
            new.annotations.update({k2: v for k2, v in seg_ann.items() if k2 not in absent})
            new.annotations.update(own)
            new.segment = new_seg
            new_seg.spiketrains.append(new)
        segments.append(new_seg)
    name, description, block_ann = _restore(src)
    return to_block(segments, name=name, description=description,
                    group_nodes=bool(src.annotations.get("ann2neo_groups", False)), **block_ann)
