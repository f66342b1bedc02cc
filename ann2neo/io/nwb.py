"""NWB export and import of ANN spike recordings (pynwb).

Time convention: NWB stores spike times in seconds.  ann2neo writes sample
``k`` at ``k / sampling_rate`` seconds, with a nominal ``sampling_rate`` of
1 Hz by default (sample k -> k s).  The rate is stated in the file's
``session_description`` and stored in the Units table's ``sampling_rate``
column, and :func:`read_nwb` uses it to return to sample indices.

Layout: one Units-table row per node and recording (segment), with columns
``node`` (flat index in the layer), ``layer``, ``segment`` (e.g. the data
split), ``threshold`` and ``sampling_rate``; ``obs_intervals`` is the recording
``[0, n_samples / sampling_rate)``.  The model description goes into
``experiment_description``.
"""
from __future__ import annotations

import datetime
import uuid

import neo
import numpy as np

from ..core.conversion import to_segment
from ..core.units import sample
from ._atomic import atomic_path

__all__ = ["write_nwb", "read_nwb"]


def _segments(data):
    if isinstance(data, neo.Block):
        return list(data.segments), data
    if isinstance(data, neo.Segment):
        return [data], None
    return [to_segment(data, name="recording")], None


def write_nwb(path, data, *, sampling_rate=1.0, model_description=None, session_description=None,
              identifier=None, overwrite=False) -> None:
    """Write a recording to an NWB file, atomically.

    Parameters
    ----------
    path : str or Path
        Target ``.nwb`` file.
    data : neo.Block, neo.Segment, or spike matrix (n_samples, n_nodes)
        The recording(s).  Every spike train must be in :data:`ann2neo.sample`;
        each segment becomes a set of Units rows tagged with its name.
    sampling_rate : float, default 1.0
        Nominal samples per second for the seconds NWB requires (sample k is
        written at k / sampling_rate s).
    model_description : str, optional
        Stored as ``experiment_description`` (defaults to the block's
        ``model`` annotation).
    session_description, identifier : str, optional
    overwrite : bool, default False

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ann2neo.UnitError
        If a train is not in samples.
    ValueError
        If ``sampling_rate`` is not positive or there are no spike trains.
    """
    from pynwb import NWBHDF5IO, NWBFile

    from ..core.units import check_sample_units

    rate = float(sampling_rate)
    if not rate > 0 or not np.isfinite(rate):
        raise ValueError(f"sampling_rate must be a positive number, got {sampling_rate}")
    segments, block = _segments(data)
    if not any(seg.spiketrains for seg in segments):
        raise ValueError("nothing to write: no spike trains")
    if model_description is None and block is not None:
        model_description = block.annotations.get("model")
    convention = (f"ann2neo recording of artificial-network nodes: one input sample is one time step; "
                  f"sample k is stored at k / {rate:g} s (nominal sampling rate {rate:g} Hz).")
    nwbfile = NWBFile(
        session_description=session_description or convention,
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=datetime.datetime.now(datetime.timezone.utc),
        experiment_description=str(model_description) if model_description is not None else "",
        notes=convention,
    )
    nwbfile.add_unit_column("node", "flat node index within the layer")
    nwbfile.add_unit_column("layer", "name of the recorded layer")
    nwbfile.add_unit_column("segment", "recording (segment) name, e.g. the data split")
    nwbfile.add_unit_column("threshold", "activation threshold: activation > threshold is a spike")
    nwbfile.add_unit_column("sampling_rate", "nominal samples per second used to store sample indices as seconds")
    for s_index, seg in enumerate(segments):
        seg_name = seg.name if seg.name is not None else f"segment{s_index}"
        for j, st in enumerate(seg.spiketrains):
            check_sample_units(st)
            thr = st.annotations.get("threshold")
            nwbfile.add_unit(
                spike_times=np.asarray(st.magnitude, dtype=np.float64) / rate,
                obs_intervals=[[float(st.t_start.magnitude) / rate, float(st.t_stop.magnitude) / rate]],
                node=int(st.annotations.get("node", j)),
                layer=str(st.annotations.get("layer")),
                segment=str(seg_name),
                threshold=float("nan") if thr is None else float(thr),
                sampling_rate=rate,
            )
    with atomic_path(path, overwrite=overwrite) as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)


def read_nwb(path) -> neo.Block:
    """Read an NWB file written by :func:`write_nwb` back into a :class:`neo.Block`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    neo.Block
        One segment per recorded segment, spike trains in :data:`ann2neo.sample`
        in the order written, annotated with ``node``, ``layer`` and ``threshold``;
        the block's ``model`` annotation holds the model description.

    Raises
    ------
    OSError
        If the file cannot be opened as HDF5/NWB.
    ValueError
        If the file lacks the ann2neo Units columns.
    """
    from pynwb import NWBHDF5IO

    from ..core.conversion import to_block

    with NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        units = nwbfile.units
        required = {"node", "layer", "segment", "threshold", "sampling_rate"}
        if units is None or not required <= set(units.colnames):
            raise ValueError(f"{path} is not an ann2neo NWB file: its Units table lacks {sorted(required)}")
        segments: dict = {}
        for i in range(len(units)):
            rate = float(units["sampling_rate"][i])
            times = np.rint(np.asarray(units["spike_times"][i], dtype=np.float64) * rate)
            interval = np.asarray(units["obs_intervals"][i], dtype=np.float64)[0] * rate
            thr = float(units["threshold"][i])
            st = neo.SpikeTrain(times, t_start=np.rint(interval[0]) * sample, t_stop=np.rint(interval[1]) * sample,
                                units=sample, sampling_rate=1 / sample,
                                node=int(units["node"][i]), layer=str(units["layer"][i]),
                                threshold=None if np.isnan(thr) else thr)
            segments.setdefault(str(units["segment"][i]), []).append(st)
        model = nwbfile.experiment_description
    segs = [to_segment(trains, name=name) for name, trains in segments.items()]
    return to_block(segs, name=str(path), model=model or None)
