"""NWB export and import of ANN spike recordings (pynwb), lossless and fast.

Recordings of neurons (physical time) are written and read by
:mod:`ann2neo.io.nwb_units`; this module's :func:`write_nwb` and
:func:`read_nwb_recordings` dispatch to it, and :class:`open_nwb` is the one
place any NWB file is opened for reading.

**Time convention.**  NWB stores spike times in seconds.  ann2neo gives each
segment (recording, e.g. a data split) its own range on one file time axis:
segment ``i`` occupies samples ``[o_i + t_start, o_i + t_stop)`` where the
sample offset ``o_i`` is one sample after the end of the previous segment
(``o_0 = 0``; the empty sample keeps epochs from touching, which pynapple
would otherwise trim with a warning).  Sample ``k`` of segment ``i`` is
written at the *centre* of its bin, ``(o_i + k + 0.5) * sample_duration``
(``sampling_rate = 1 / sample_duration``, the nominal rate), with a
``sample_duration`` of 1 ms by default (one sample is a nominal
millisecond, so a window of 100 samples is 0.1 s).  Spike times are
therefore never integers (nwbinspector's ``check_spike_times_not_in_samples``
passes), the Units table's ``resolution`` is ``1 / sampling_rate`` s (0.001 s;
nwbinspector flags resolutions above 0.01 s, which is why the nominal rate is
not 1 Hz), and binning at ``1 / sampling_rate`` from ``o_i`` returns the spike
matrix exactly.  Each segment is an epoch (``tags = [segment name]``), so
pynapple's ``restrict`` or Neo's ``time_slice`` on an epoch gives that segment
alone.  :func:`read_nwb` refuses spike times that are not on this grid instead
of rounding them.

**Layout.**

* ``units``: one row per spike train (node) and segment; columns
  ``spike_times`` (+ index; gzip, shuffle and Fletcher-32, written block by
  block), ``obs_intervals`` (the train's range), ``segment``, ``node``,
  ``layer`` (empty for none), ``layer_shape`` (JSON list, ``null`` for none),
  ``threshold`` (NaN for none), ``_name`` (train name), ``block`` and
  ``annotations`` (ann2neo's tagged JSON of every other annotation of the
  train, lossless); built from whole arrays, never row by row.  ``segment``,
  ``block`` and ``_name`` are the columns Neo's ``NWBIO`` uses to rebuild
  blocks and segments.
* ``epochs``: one row per segment with ``segment``, ``data_split``,
  ``condition``, ``dataset``, ``sample_offset``, ``n_samples``,
  ``annotations`` (tagged JSON: name, description, annotations), ``block`` and
  ``_name``.
* stimulus ``TimeSeries`` ``labels_<i>`` and ``sample_index_<i>``: the class
  label and the dataset index of the input sample fed at each time step of
  segment ``i`` (when the segment has ``labels`` / ``sample_index`` annotations).
* processing module ``ann2neo`` with a one-row table ``block``: block name,
  description, annotations (tagged JSON), sampling rate, ann2neo version.
* ``subject``: built from the block annotations when not given (species
  NCBITaxon_32630 "synthetic construct", sex "U", subject_id from model and
  seed, date of birth = the network's initialization time when the block has
  ``initialized``, else the session start).

Files written by ann2neo 0.1.0 (sample k at k / rate s, all segments on
``[0, n)``) are still read.
"""
from __future__ import annotations

import datetime
import json
import logging
import uuid
from pathlib import Path

import neo
import numpy as np

from ..core.units import sample
from ..core.validation import check_option, check_real
from . import _json
from ._atomic import atomic_path
from ._hdf5 import check_self_contained
from ._names import check_storable_name
from ._recordings import SERIES_KEYS, ann_payload, ann_recording, recordings_of, split_recordings

__all__ = ["write_nwb", "add_recordings", "read_nwb", "read_nwb_matrices", "read_nwb_recordings", "open_nwb",
           "FileFormatError", "SYNTHETIC_SPECIES"]


class _NeoUnitFilter(logging.Filter):
    """Drop Neo's "Can't handle unit 'n/a'" warning: NWB's "n/a" means no unit, and Neo reads it dimensionless.

    ann2neo writes the label and dataset-index series of a segment with
    ``unit="n/a"`` (a class label has no unit); Neo's NWBIO warns once per
    series when it reads them, although dimensionless is the right reading.
    Only that exact message is dropped; every other Neo message passes.
    """

    def filter(self, record):
        return not record.getMessage().startswith("Can't handle unit 'n/a'.")


if not any(isinstance(f, _NeoUnitFilter) for f in logging.getLogger("Neo").filters):
    logging.getLogger("Neo").addFilter(_NeoUnitFilter())

#: NCBI Taxonomy "synthetic construct", the species of an artificial network.
SYNTHETIC_SPECIES = "http://purl.obolibrary.org/obo/NCBITaxon_32630"
_GRID_TOL = 1e-6  # samples


class FileFormatError(ValueError):
    """A file is damaged, truncated or not in the layout ann2neo wrote."""


def _rate(sample_duration, sampling_rate) -> float:
    """Samples per second from ``sample_duration`` (a time), or the deprecated ``sampling_rate`` (Hz)."""
    import warnings

    import quantities as pq

    from ..core.units import as_time

    if sampling_rate is not None:
        warnings.warn("sampling_rate= is deprecated: give sample_duration= (e.g. 1 * pq.ms), the time one input "
                      "sample stands for in the file", DeprecationWarning, stacklevel=3)
        return check_real(sampling_rate, "sampling_rate", min_value=0, include_min=False)
    duration = float(as_time(sample_duration, "sample_duration", unit=pq.s).magnitude)
    if not duration > 0:
        raise ValueError(f"sample_duration must be positive, got {sample_duration}")
    return 1.0 / duration


class open_nwb:  # noqa: N801 - used as a function: ``with open_nwb(path) as nwbfile``
    """Open an NWB file for reading: the one place ann2neo opens NWB (checks, errors, closing).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    context manager giving a pynwb.NWBFile

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    FileFormatError
        If pynwb cannot read it.
    """

    def __init__(self, path):
        self.path = Path(path)
        if self.path.is_dir():
            raise IsADirectoryError(f"path {str(self.path)!r} is a directory, not an NWB file")
        if not self.path.exists():
            raise FileNotFoundError(f"no such file: {str(self.path)!r}")

    def __enter__(self):
        from pynwb import NWBHDF5IO

        check_self_contained(self.path)  # no external links, virtual datasets or external storage
        try:
            self._io = NWBHDF5IO(str(self.path), "r")
            return self._io.read()
        except Exception as exc:  # noqa: BLE001 - h5py/hdmf raise OSError, KeyError, RuntimeError...
            if getattr(self, "_io", None) is not None:
                self._io.close()
            raise _open_error(self.path, exc) from exc

    def __exit__(self, *exc):
        self._io.close()
        return False


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("ann2neo")
    except Exception:  # noqa: BLE001
        import ann2neo

        return getattr(ann2neo, "__version__", "unknown")


class _SpikeTimes:
    """hdmf data-chunk iterator over all spike times in seconds, block by block."""

    def __init__(self, recs, offsets, rate, total):
        from hdmf.data_utils import DataChunk

        self._chunk = DataChunk
        self._total = int(total)
        self._pos = 0
        self._gen = (((idx.astype(np.float64) + (off + 0.5)) / rate)
                     for rec, off in zip(recs, offsets, strict=True) for idx in rec.spike_index_blocks())

    def __iter__(self):
        return self

    def __next__(self):
        data = next(self._gen)
        while data.size == 0:
            data = next(self._gen)
        sel = np.s_[self._pos:self._pos + data.size]
        self._pos += data.size
        return self._chunk(data=data, selection=sel)

    def __len__(self):
        return self._total

    def recommended_chunk_shape(self):
        return None

    def recommended_data_shape(self):
        return (self._total,)

    @property
    def dtype(self):
        return np.dtype(np.float64)

    @property
    def maxshape(self):
        return (self._total,)


def _iterator_class():
    from hdmf.data_utils import AbstractDataChunkIterator

    return type("SpikeTimesIterator", (_SpikeTimes, AbstractDataChunkIterator), {})


def _dataio(data, compression, chunk=None):
    from hdmf.backends.hdf5.h5_utils import H5DataIO

    if compression is None:
        return H5DataIO(data, chunks=chunk) if chunk is not None else data
    if len(data) == 0:
        return data
    kwargs = {"compression": compression, "shuffle": True, "fletcher32": True}  # checksum: bit flips are caught
    if compression == "gzip":
        kwargs["compression_opts"] = 1  # level 1: 1.7x faster than 4, files 5 % larger
    if chunk is not None:
        kwargs["chunks"] = chunk
    return H5DataIO(data, **kwargs)


def _aware(dt):
    if isinstance(dt, str):
        dt = datetime.datetime.fromisoformat(dt)
    if isinstance(dt, datetime.date) and not isinstance(dt, datetime.datetime):
        dt = datetime.datetime(dt.year, dt.month, dt.day)
    return dt if dt.tzinfo is not None else dt.astimezone()


def _default_subject(block_ann, start):
    from pynwb.file import Subject

    model = block_ann.get("model")
    model_name = str(model).split(":")[0] if model is not None else "network"
    seed = block_ann.get("seed")
    subject_id = model_name + (f" seed {seed}" if seed is not None else "")
    birth = block_ann.get("initialized")
    return Subject(subject_id=subject_id, species=SYNTHETIC_SPECIES, sex="U",
                   date_of_birth=_aware(birth) if birth is not None else start,
                   description="artificial neural network; its nodes are the recorded units"
                               + (f"; model: {model}" if model is not None else ""))


def add_recordings(nwbfile, data, *, sample_duration=None, compression="gzip", sampling_rate=None):
    """Add ann2neo recordings (Units, epochs, per-sample series, provenance) to an NWBFile in memory.

    Parameters
    ----------
    nwbfile : pynwb.NWBFile
        File to add to; it must not have a Units table, an epochs table or an
        ``ann2neo`` processing module yet.
    data : neo.Block, neo.Segment or mapping of str to spike matrix
        See :func:`write_nwb`.
    sample_duration : pq.Quantity, default 1 ms
        The time one input sample stands for in the file (a nominal 1 kHz).
    compression : {"gzip", "lzf", None}, default "gzip"
        HDF5 filter for the large datasets.
    sampling_rate : float, optional
        Deprecated: ``1 / sample_duration`` in Hz.

    Returns
    -------
    pynwb.NWBFile
        ``nwbfile``, with the recordings added.

    Raises
    ------
    ValueError
        If the file already holds units/epochs/ann2neo data, a segment name is
        repeated or holds a NUL character, a spike time is off the sample grid,
        or an annotation cannot be stored; see :func:`write_nwb`.

    Examples
    --------
    >>> nwbfile = pynwb.NWBFile(session_description="s", identifier="i",
    ...                         session_start_time=datetime.datetime.now().astimezone())  # doctest: +SKIP
    >>> add_recordings(nwbfile, {"test": spikes})                                         # doctest: +SKIP
    """
    rate = _rate(_default_duration(sample_duration), sampling_rate)
    check_option(compression, "compression", ("gzip", "lzf", None))
    kind, mapping = split_recordings(data)
    if kind == "physical":
        from .nwb_units import add_units_recordings

        add_units_recordings(nwbfile, mapping)
        return nwbfile
    if kind == "sample":
        data = {name: ann_payload(rec)[:2] for name, rec in mapping.items()}
        unit_names = {name: ann_payload(rec)[2] for name, rec in mapping.items()}
    recs, block = recordings_of(data)
    if kind == "sample":
        for rec in recs:
            rec.unit_names = unit_names[rec.name]
    _check_fresh(nwbfile)
    names = [r.name if r.name is not None else f"segment {i}" for i, r in enumerate(recs)]
    block_name = str(block.name) if block is not None and block.name is not None else "default"
    _check_storable(recs, names, block_name)
    offsets, end = [], 0
    for rec in recs:
        offsets.append(end)
        end += rec.t_stop + 1  # one empty sample between segments: epochs do not touch
    # encode every annotation before touching nwbfile, so a bad one leaves it as it was
    for rec, name in zip(recs, names, strict=True):
        _json.dumps({k: v for k, v in rec.annotations.items() if k not in SERIES_KEYS}, f"segment {name!r} annotations")
    if block is not None:
        _json.dumps(dict(block.annotations), "block annotations")
    nwbfile.units = _units_table(recs, names, offsets, rate, block_name, compression)
    _add_epochs(nwbfile, recs, names, offsets, rate, block_name, compression)
    _add_provenance(nwbfile, block, rate)
    return nwbfile


def _check_fresh(nwbfile):
    """Raise if ``nwbfile`` already holds a Units table, an epochs table or an ``ann2neo`` module."""
    if nwbfile.units is not None:
        raise ValueError("nwbfile already has a Units table; ann2neo writes its own (use a fresh NWBFile)")
    if nwbfile.epochs is not None:
        raise ValueError("nwbfile already has an epochs table; ann2neo marks its segments as epochs")
    if "ann2neo" in nwbfile.processing:
        raise ValueError("nwbfile already has an 'ann2neo' processing module")


def _check_storable(recs, names, block_name):
    """Raise for a block, segment, annotation, spike-train or layer name that HDF5 cannot store."""
    check_storable_name(block_name, f"block name {block_name!r}")
    for rec, name in zip(recs, names, strict=True):  # HDF5 strings end at NUL: say which name, before writing
        check_storable_name(name, f"segment {name!r}")
        for key in ("split", "condition", "dataset"):
            check_storable_name(rec.annotations.get(key), f"segment {name!r} annotation {key!r}")
        for j, unit in enumerate(rec.unit_names):
            check_storable_name(unit, f"segment {name!r} spike train {j} name {unit!r}")
        for layer in dict.fromkeys(x for x in rec.layer if isinstance(x, str)):
            check_storable_name(layer, f"segment {name!r} layer {layer!r}")


def _strings(values):
    """An object array of strings, as hdmf stores text columns."""
    return np.array(values, dtype=object)


def _unit_annotations(recs):
    """Each spike train's extra annotations as tagged JSON (empty: none); raise for a name that is not a string."""
    unit_annotations = []
    for r in recs:
        for extra in r.unit_extras:
            what = f"segment {r.name!r} train annotations"
            unit_annotations.append("" if extra is None else _json.dumps(extra, what))
    for r in recs:
        for name in r.unit_names:
            if name is not None and not isinstance(name, str):
                raise TypeError(f"segment {r.name!r}: spike train names must be strings, got {name!r}")
    return unit_annotations


def _units_table(recs, names, offsets, rate, block_name, compression):
    """The Units table, one row per node and segment, built from whole arrays."""
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb.misc import Units

    counts = np.concatenate([r.counts for r in recs])
    n_units, total = counts.size, int(counts.sum())
    ends = np.cumsum(counts)
    iterator = _iterator_class()(recs, offsets, rate, total)
    times_data = _dataio(iterator, compression, chunk=(min(total, 1 << 18),)) if total else np.zeros(0)
    spike_times = VectorData(name="spike_times", data=times_data,
                             description=f"spike times in seconds: sample k of a segment with sample offset o is "
                                         f"at (o + k + 0.5) / {rate:g} s")
    spike_index = VectorIndex(name="spike_times_index", data=_dataio(ends.astype(np.uint64), compression),
                              target=spike_times)
    intervals = np.concatenate([np.column_stack([(r.unit_t_start + o), (r.unit_t_stop + o)])
                                for r, o in zip(recs, offsets, strict=True)]).astype(np.float64) / rate
    obs = VectorData(name="obs_intervals", data=intervals, description="the segment's time range in seconds")
    obs_index = VectorIndex(name="obs_intervals_index", data=np.arange(1, n_units + 1, dtype=np.uint64), target=obs)
    unit_annotations = _unit_annotations(recs)
    columns = [
        spike_index, spike_times, obs, obs_index,  # index first: hdmf drops iterator columns from its check
        VectorData(name="segment", description="name of the segment (recording, e.g. the data split)",
                   data=_strings([n for n, r in zip(names, recs, strict=True) for _ in range(r.n_units)])),
        VectorData(name="node", description="flat (C-order) node index within the layer",
                   data=np.concatenate([r.node for r in recs])),
        VectorData(name="layer", description="name of the recorded layer (empty: not given)",
                   data=_strings(["" if x is None else str(x) for r in recs for x in r.layer])),
        VectorData(name="layer_shape", description="shape of one sample's activation in the layer, as JSON "
                                                   "(null: not given)",
                   data=_strings([json.dumps(None if x is None else list(x)) for r in recs for x in r.layer_shape])),
        VectorData(name="threshold", description="activation threshold: activation > threshold is a spike "
                                                 "(NaN: not given)",
                   data=np.concatenate([r.threshold for r in recs])),
        VectorData(name="_name", description="name of the spike train (empty: none); the column Neo's NWBIO reads",
                   data=_strings(["" if x is None else x for r in recs for x in r.unit_names])),
        VectorData(name="block", description="block (experiment) name; with 'segment', lets Neo's NWBIO rebuild the "
                                             "segments", data=_strings([block_name] * n_units)),
        VectorData(name="annotations", description="other annotations of the spike train, as ann2neo's tagged JSON "
                                                   "(empty: none beyond the segment's)",
                   data=_strings(unit_annotations)),
    ]
    return Units(name="units", id=ElementIdentifiers(name="id", data=np.arange(n_units)), columns=columns,
                 description="ann2neo: one row per artificial-network node and segment",
                 resolution=1.0 / rate)


def _add_epochs(nwbfile, recs, names, offsets, rate, block_name, compression):
    """One epoch per segment (its annotations as tagged JSON), and its per-sample series as stimuli."""
    from pynwb import TimeSeries

    for col, desc in (("segment", "segment name"), ("data_split", "data split (empty: not given)"),
                      ("condition", "network condition (empty: not given)"),
                      ("dataset", "dataset (empty: not given)"),
                      ("sample_offset", "sample offset o of the segment on the file's time axis"),
                      ("n_samples", "number of time steps (input samples) in the segment"),
                      ("annotations", "segment name, description and annotations as ann2neo's tagged JSON"),
                      ("block", "block (experiment) name"),
                      ("_name", "epoch name (= segment name); with 'segment' and 'block', read by Neo's NWBIO")):
        nwbfile.add_epoch_column(col, desc)
    for i, (rec, name, off) in enumerate(zip(recs, names, offsets, strict=True)):
        ann = dict(rec.annotations)
        series = {}
        for key in SERIES_KEYS:
            value = ann.pop(key, None)
            if value is not None:
                arr = np.asarray(value)
                ts = TimeSeries(name=f"{key}_{i}", data=_dataio(arr.astype(np.int64), compression),
                                unit="n/a",  # NWB's "no unit"; Neo's NWBIO reads it dimensionless (_NeoUnitFilter)
                                comments=json.dumps({"block": block_name, "segment": name}),  # Neo's NWBIO layout
                                starting_time=(off + rec.t_start + 0.5) / rate, rate=rate,
                                description=(f"class label of the input sample fed at each time step of segment "
                                             f"{name!r}" if key == "labels" else
                                             f"dataset index of the input sample fed at each time step of segment "
                                             f"{name!r}"))
                nwbfile.add_stimulus(ts)
                series[key] = {"series": ts.name, "dtype": str(arr.dtype), "is_array": isinstance(value, np.ndarray)}
            elif key in rec.annotations:
                ann[key] = None
        payload = {"name": rec.name, "description": rec.description, "annotations": ann, "series": series}

        def text(key, annotations=rec.annotations):
            v = annotations.get(key)
            return "" if v is None else str(v)

        nwbfile.add_epoch(start_time=(off + rec.t_start) / rate, stop_time=(off + rec.t_stop) / rate, tags=[name],
                          segment=name, data_split=text("split"), condition=text("condition"), dataset=text("dataset"),
                          sample_offset=int(off), n_samples=int(rec.t_stop - rec.t_start),
                          annotations=_json.dumps(payload, f"segment {name!r} annotations"), block=block_name,
                          _name=name)


def _add_provenance(nwbfile, block, rate):
    """The ``ann2neo`` processing module: block metadata, sampling rate and ann2neo version."""
    from hdmf.common import DynamicTable, ElementIdentifiers, VectorData

    block_payload = {"present": block is not None}
    if block is not None:
        block_payload.update(name=block.name, description=block.description, annotations=dict(block.annotations),
                             groups=bool(block.groups), rec_datetime=block.rec_datetime)
    module = nwbfile.create_processing_module("ann2neo", "ann2neo provenance: how the recordings were made")
    table = DynamicTable(name="block", description="ann2neo block (experiment) metadata, one row",
                         id=ElementIdentifiers(name="id", data=[0]), columns=[
                             VectorData(name="annotations", description="block name, description and annotations "
                                        "(model, seed, dataset, condition, ...) as ann2neo's tagged JSON",
                                        data=[_json.dumps(block_payload, "block annotations")]),
                             VectorData(name="sampling_rate", description="nominal samples per second (Hz)",
                                        data=[rate]),
                             VectorData(name="ann2neo_version", description="ann2neo version that wrote the file",
                                        data=[_version()]),
                         ])
    module.add(table)


def _s():
    import quantities as pq

    return pq.s


def _default_duration(value):
    import quantities as pq

    return 1 * pq.ms if value is None else value


def write_nwb(path, data, *, sample_duration=None, sampling_rate=None, subject=None, experimenter=None,
              institution=None, keywords=None,
              session_description=None, experiment_description=None, model_description=None, identifier=None,
              session_start_time=None, nwbfile=None, compression="gzip", overwrite=False) -> None:
    """Write recordings to an NWB file, atomically and without loss.

    Parameters
    ----------
    path : str or Path
        Target ``.nwb`` file.  Missing parent folders are created; a path that
        is a directory is refused.
    data : Recording, mapping of str to Recording, neo.Block, neo.Segment, or mapping of str to SpikeMatrix
        The recordings.  Recordings of network layers (samples) are written as
        below; Recordings of neurons (physical time) as a Units table and a
        trials table (:mod:`ann2neo.io.nwb_units`).  Spike trains must be in :data:`ann2neo.sample` with
        spike times on the integer grid.  A ``{segment name: spike matrix}``
        mapping (bool, shape (n_samples, n_nodes)) is written straight from the
        matrices, without building Neo objects (fastest for large recordings);
        a value may also be ``(spike matrix, {annotation: value})`` to give the
        segment annotations (e.g. ``labels``).
        Stored and restored by :func:`read_nwb`: segment names, descriptions and
        annotations (``split``, ``condition``, ``dataset``, ``seed``,
        ``model_summary``, ``labels`` and ``sample_index`` — int arrays with one
        value per time step — and any other JSON-able value), block name and
        annotations (``model``, ``seed``, ``dataset``, ``condition``, ...), and
        per train ``layer``, ``node``, ``layer_shape``, ``threshold``, name and
        other annotations.
    sample_duration : pq.Quantity, default 1 ms
        The time one input sample stands for in the file (the one concept
        ``compare`` uses too): sample k of a segment with offset o is written
        at (o + k + 0.5) * sample_duration; see the module notes.  Not used for
        recordings of neurons (already in seconds).
    sampling_rate : float, optional
        Deprecated alias: ``1 / sample_duration`` in Hz.
    subject : pynwb.file.Subject or dict, optional
        Default: a synthetic-construct subject built from the block annotations.
    experimenter, institution : str, optional
    keywords : list of str, optional
    session_description, experiment_description : str, optional
        Defaults: a statement of the time convention, and the block's ``model``
        annotation (``model_description`` is an older name for the latter).
    identifier : str, optional
        Default: a new UUID.
    session_start_time : datetime, optional
        Default: the block's ``rec_datetime``, else now (UTC).
    nwbfile : pynwb.NWBFile, optional
        An existing in-memory file to add the recordings to; its own metadata
        is kept, and the metadata keywords above must then be left out.
    compression : {"gzip", "lzf", None}, default "gzip"
    overwrite : bool, default False

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    IsADirectoryError
        If ``path`` is a directory.
    ann2neo.UnitError
        If a train is not in samples.
    ValueError
        If ``sampling_rate`` is not positive and finite, two segments share a
        name, a spike time is off the sample grid, there is nothing to write,
        or metadata keywords are combined with ``nwbfile``.
    TypeError
        If ``data`` is of an unsupported kind or an annotation cannot be stored.

    Notes
    -----
    The write is atomic: the file goes to a temporary file in the same folder
    (named after the writer's PID) that replaces ``path`` only when complete;
    stale temporary files of killed writers are removed by the next write into
    the folder.  Spike times are generated and compressed block by block, so
    the peak memory stays near the boolean matrix itself.

    Examples
    --------
    >>> spikes = ann2neo.binarize(activations, layer="hidden")          # doctest: +SKIP
    >>> write_nwb("rec.nwb", {"test": spikes}, overwrite=True)           # doctest: +SKIP
    >>> write_nwb("rec.nwb", {"test": (spikes, {"split": "test", "labels": y})}, overwrite=True)  # doctest: +SKIP
    """
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"path {str(path)!r} is a directory; give a file path such as {str(path / 'x.nwb')!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"path {str(path)!r} exists; pass overwrite=True to replace it")
    rate = _rate(_default_duration(sample_duration), sampling_rate)
    kind, _ = split_recordings(data)
    metadata = {"subject": subject, "experimenter": experimenter, "institution": institution, "keywords": keywords,
                "session_description": session_description, "experiment_description": experiment_description,
                "model_description": model_description, "identifier": identifier,
                "session_start_time": session_start_time}
    given = [k for k, v in metadata.items() if v is not None]
    if nwbfile is not None and given:
        raise ValueError(f"{', '.join(given)} cannot be combined with nwbfile=; set them on the NWBFile you pass")
    if nwbfile is None:
        block = data if isinstance(data, neo.Block) else None
        block_ann = dict(block.annotations) if block is not None else {}
        if session_start_time is None:
            session_start_time = (block.rec_datetime if block is not None and block.rec_datetime is not None
                                  else datetime.datetime.now(datetime.timezone.utc))
        start = _aware(session_start_time)
        if experiment_description is None:
            experiment_description = model_description if model_description is not None else block_ann.get("model")
        convention = (f"ann2neo recording of artificial-network nodes: one input sample is one time step; sample k "
                      f"of a segment with sample offset o is stored at (o + k + 0.5) / {rate:g} s (nominal sampling "
                      f"rate {rate:g} Hz); each segment is an epoch.")
        if kind == "physical":
            convention = ("ann2neo recordings of real neurons: spike times in seconds in the Units table, one row "
                          "of the trials table per trial (see its time_offset column); the ann2neo processing "
                          "module holds what NWB has no field for.")
        if isinstance(subject, dict):
            subject = Subject(**subject)
        elif subject is None and kind != "physical":
            subject = _default_subject(block_ann, start)
        elif subject is None:
            import warnings

            warnings.warn("writing neurons without subject=: NWB (and nwbinspector) need the subject (subject_id, "
                          "species, sex, age); ann2neo does not invent one", UserWarning, stacklevel=2)
        nwbfile = NWBFile(
            session_description=session_description or convention, identifier=identifier or str(uuid.uuid4()),
            session_start_time=start,
            experiment_description=str(experiment_description) if experiment_description is not None else None,
            notes=convention, subject=subject, experimenter=experimenter, institution=institution,
            keywords=list(keywords) if keywords is not None else None)
    add_recordings(nwbfile, data, sample_duration=(1.0 / rate) * _s(), compression=compression)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)


# ----------------------------------------------------------------------------- reading


def _open_error(path, exc):
    return FileFormatError(f"{str(path)!r} cannot be read as an ann2neo NWB file (damaged, truncated or another "
                           f"format): {type(exc).__name__}: {exc}")


def _read_tables(path):
    """Read the arrays of an ann2neo NWB file; every hdmf/h5py failure becomes FileFormatError."""
    path = Path(path)
    opener = open_nwb(path)  # FileNotFoundError, IsADirectoryError as they are
    try:
        with opener as nwbfile:
            units, epochs = nwbfile.units, nwbfile.epochs
            legacy = {"node", "layer", "segment", "threshold", "sampling_rate"}
            if units is not None and legacy <= set(units.colnames) and "ann2neo" not in nwbfile.processing:
                return _legacy_tables(path, nwbfile)
            if units is None or epochs is None or "ann2neo" not in nwbfile.processing or \
                    "sample_offset" not in epochs.colnames:
                raise FileFormatError(f"{str(path)!r} is not an NWB file of network layers written by this "
                                      "ann2neo version (no units/epochs/ann2neo provenance); read NWB files of "
                                      "neurons with ann2neo.read")
            block_table = nwbfile.processing["ann2neo"]["block"]
            out = {
                "rate": float(block_table["sampling_rate"].data[0]),
                "block": _json.loads(block_table["annotations"].data[0]),
                "epochs": [(_json.loads(a), int(o), int(n)) for a, o, n in zip(
                    epochs["annotations"].data[:], epochs["sample_offset"].data[:], epochs["n_samples"].data[:],
                    strict=True)],
                "epoch_names": [str(s) for s in epochs["segment"].data[:]],
                "times": np.asarray(units["spike_times"].target.data[:], dtype=np.float64),
                "ends": np.asarray(units["spike_times"].data[:], dtype=np.int64),
                "intervals": np.asarray(units["obs_intervals"].target.data[:], dtype=np.float64),
                "segment": [s.decode() if isinstance(s, bytes) else str(s) for s in units["segment"].data[:]],
                "node": np.asarray(units["node"].data[:], dtype=np.int64),
                "layer": [s.decode() if isinstance(s, bytes) else str(s) for s in units["layer"].data[:]],
                "layer_shape": [json.loads(s) for s in units["layer_shape"].data[:]],
                "threshold": np.asarray(units["threshold"].data[:], dtype=np.float64),
                "unit_name": [str(s) for s in units["_name"].data[:]],
                "annotations": [str(s) for s in units["annotations"].data[:]],
                "series": {name: np.asarray(ts.data[:]) for name, ts in nwbfile.stimulus.items()},
                "experiment_description": nwbfile.experiment_description,
            }
    except FileFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py/hdmf raise OSError, KeyError, RuntimeError, UnicodeDecodeError...
        raise _open_error(path, exc) from exc
    if len(out["intervals"]) != len(out["node"]) or (len(out["ends"]) and out["ends"][-1] != len(out["times"])):
        raise FileFormatError(f"{str(path)!r}: the Units table is inconsistent (truncated file?)")
    return out


def _legacy_tables(path, nwbfile):
    """Tables of a file from ann2neo 0.1.0 (sample k at k / rate s, all segments on [0, n))."""
    units = nwbfile.units

    def text(col):
        return [s.decode() if isinstance(s, bytes) else str(s) for s in units[col].data[:]]

    rates = np.unique(np.asarray(units["sampling_rate"].data[:], dtype=np.float64))
    if rates.size != 1:
        raise FileFormatError(f"{str(path)!r}: units have different sampling rates {rates.tolist()}")
    rate = float(rates[0])
    times = np.asarray(units["spike_times"].target.data[:], dtype=np.float64) * rate
    k = np.rint(times)
    if times.size and np.abs(times - k).max() > _GRID_TOL:
        raise FileFormatError(f"{str(path)!r}: spike times are not whole samples at {rate:g} Hz; ann2neo refuses "
                              "to round them")
    segment = text("segment")
    names = list(dict.fromkeys(segment))
    intervals = np.asarray(units["obs_intervals"].target.data[:], dtype=np.float64)
    ends = np.asarray(units["spike_times"].data[:], dtype=np.int64)
    n_samples = {n: int(np.rint(intervals[[i for i, s in enumerate(segment) if s == n], 1].max() * rate))
                 for n in names}
    return {
        "rate": rate, "block": {"present": False}, "experiment_description": nwbfile.experiment_description,
        "epochs": [({"name": n, "description": None, "annotations": {}, "series": {}}, 0, n_samples[n])
                   for n in names],
        "epoch_names": names, "times": (k + 0.5) / rate, "ends": ends, "intervals": intervals,
        "segment": segment, "node": np.asarray(units["node"].data[:], dtype=np.int64),
        "layer": ["" if x == "None" else x for x in text("layer")], "layer_shape": [None] * len(segment),
        "threshold": np.asarray(units["threshold"].data[:], dtype=np.float64),
        "unit_name": [""] * len(segment), "annotations": [""] * len(segment), "series": {},
    }


def _sample_indices(path, tables):
    """Spike times (s) -> per-unit sample indices, refusing any time off the (k + 0.5) grid.

    Works block by block over runs of units that share a segment offset, so the
    temporaries stay small; returns int32 indices when they fit.
    """
    rate = tables["rate"]
    offsets = {name: off for name, (_, off, _) in zip(tables["epoch_names"], tables["epochs"], strict=True)}
    try:
        unit_off = np.array([offsets[s] for s in tables["segment"]], dtype=np.int64)
    except KeyError as exc:
        raise FileFormatError(f"{str(path)!r}: a unit names segment {exc} that has no epoch") from None
    times = tables["times"]
    counts = np.diff(np.concatenate([[0], tables["ends"]]))
    starts = np.concatenate([[0], np.cumsum(counts)])
    bounds = np.rint(tables["intervals"] * rate).astype(np.int64) - unit_off[:, None]
    big = bounds.size and int(bounds.max()) >= np.iinfo(np.int32).max
    out = np.empty(times.size, dtype=np.int64 if big else np.int32)
    run_edges = np.flatnonzero(np.diff(unit_off)) + 1
    for u0, u1 in zip(np.concatenate([[0], run_edges]), np.concatenate([run_edges, [unit_off.size]]), strict=True):
        shift = float(unit_off[u0]) + 0.5
        for a in range(int(starts[u0]), int(starts[u1]), 1 << 22):
            b = min(a + (1 << 22), int(starts[u1]))
            x = times[a:b] * rate
            x -= shift
            k = np.rint(x)
            dev = np.abs(x - k)
            if dev.size and dev.max() > _GRID_TOL:
                bad = times[a:b][dev > _GRID_TOL][:3]
                n_bad = int((dev > _GRID_TOL).sum())
                raise FileFormatError(f"{str(path)!r}: {n_bad} spike times are not at sample centres "
                                      f"(o + k + 0.5) / {rate:g} s (e.g. {bad.tolist()} s); ann2neo refuses to "
                                      "round them")
            out[a:b] = k
    return out, counts, bounds


def read_nwb_matrices(path) -> dict:
    """Read an ann2neo NWB file straight into spike matrices, one per segment.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict of str to SpikeMatrix
        ``{segment name: bool matrix (n_samples, n_units)}``, columns in the
        order written, with ``layer``, ``threshold`` and ``layer_shape`` when all
        units of the segment agree on them.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    FileFormatError
        If the file is damaged, not written by ann2neo, or holds spike times
        off the sample grid.

    Examples
    --------
    >>> spikes = read_nwb_matrices("rec.nwb")["test"]    # doctest: +SKIP
    >>> spikes.shape, spikes.layer_shape                 # doctest: +SKIP
    ((450, 64), (64,))
    """
    return _matrices(path, _read_tables(path))


def _matrices(path, tables, names=None) -> dict:
    from ..core.binarize import SpikeMatrix

    idx, counts, bounds = _sample_indices(path, tables)
    seg = np.array(tables["segment"], dtype=object)
    starts = np.concatenate([[0], np.cumsum(counts)])
    out = {}
    for name, (_, _, n_samples) in zip(tables["epoch_names"], tables["epochs"], strict=True):
        if names is not None and name not in names:
            continue
        units = np.flatnonzero(seg == name)
        t_stop = int(bounds[units, 1].max()) if units.size else n_samples
        transposed = np.zeros((units.size, t_stop), dtype=bool)  # fill rows (contiguous), transpose once
        for col, u in enumerate(units):
            transposed[col, idx[starts[u]:starts[u + 1]]] = True
        matrix = np.ascontiguousarray(transposed.T)
        del transposed
        layers = {tables["layer"][u] for u in units}
        per_unit = np.asarray([float(tables["threshold"][u]) for u in units], dtype=np.float64)
        thr = set(per_unit.tolist())
        shapes = {repr(tables["layer_shape"][u]) for u in units}
        shape = tables["layer_shape"][units[0]] if len(shapes) == 1 and units.size else None
        if shape is not None and int(np.prod(shape)) != units.size:
            shape = None
        t = thr.pop() if len(thr) == 1 else np.nan
        if len(thr) > 1 and not np.isnan(per_unit).any():  # per-unit thresholds (a rule of record)
            t = per_unit
        out[name] = SpikeMatrix(matrix, layer_shape=shape, threshold=t if np.ndim(t) else None if np.isnan(t) else t,
                                layer=(layers.pop() or None) if len(layers) == 1 else None)
    return out


def read_nwb(path) -> neo.Block:
    """Read an NWB file written by :func:`write_nwb` back into a :class:`neo.Block`, losslessly.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    neo.Block
        One segment per written segment, in order, with its name, description
        and annotations (``labels`` and ``sample_index`` as int arrays); spike
        trains in :data:`ann2neo.sample` in the order written, with their
        names and annotations (``node``, ``layer``, ``layer_shape``,
        ``threshold``, ``node_position``, ...); block name and annotations as
        written (for a Block; otherwise the block is named after the file).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    FileFormatError
        If the file is damaged or truncated (any h5py/hdmf failure is wrapped),
        not written by ann2neo, or holds spike times off the sample grid.

    Examples
    --------
    >>> block = read_nwb("rec.nwb")                                  # doctest: +SKIP
    >>> ann2neo.from_spiketrains(block.segments[0].spiketrains)      # doctest: +SKIP
    """
    from ..core.conversion import to_block

    tables = _read_tables(path)
    idx, counts, bounds = _sample_indices(path, tables)
    starts = np.concatenate([[0], np.cumsum(counts)])
    rate_unit = 1 / sample
    segments = []
    by_segment: dict = {}
    for u, name in enumerate(tables["segment"]):
        by_segment.setdefault(name, []).append(u)
    for seg_name, (payload, _, _) in zip(tables["epoch_names"], tables["epochs"], strict=True):
        ann = dict(payload["annotations"])
        for key, info in payload["series"].items():
            arr = tables["series"][info["series"]].astype(info["dtype"])
            ann[key] = arr if info["is_array"] else arr.tolist()
        segment = neo.Segment(name=payload["name"], description=payload["description"], **ann)
        for u in by_segment.get(seg_name, []):
            extra = _json.loads(tables["annotations"][u]) if tables["annotations"][u] else {}
            absent = set(extra.pop("__absent__", []))
            description = extra.pop("__description__", None)
            train_ann = {k: v for k, v in ann.items() if k not in absent}
            layer = tables["layer"][u] or None
            shape = tables["layer_shape"][u]
            thr = float(tables["threshold"][u])
            standard = {"node": int(tables["node"][u]), "layer": layer,
                        "layer_shape": tuple(shape) if shape is not None else None,
                        "threshold": None if np.isnan(thr) else thr}
            if "__threshold__" in extra:
                standard["threshold"] = extra.pop("__threshold__")
            if "__layer_shape__" in extra:
                standard["layer_shape"] = extra.pop("__layer_shape__")
            train_ann.update({k: v for k, v in standard.items() if k not in absent})
            train_ann.update(extra)
            st = neo.SpikeTrain(idx[starts[u]:starts[u + 1]].astype(np.float64), units=sample,
                                t_start=float(bounds[u, 0]) * sample, t_stop=float(bounds[u, 1]) * sample,
                                sampling_rate=rate_unit, name=tables["unit_name"][u] or None,
                                description=description)
            st.annotations.update(train_ann)
            st.segment = segment
            segment.spiketrains.append(st)
        segments.append(segment)
    info = tables["block"]
    if info.get("present"):
        block = to_block(segments, name=info["name"], description=info["description"],
                         group_nodes=info["groups"], **info["annotations"])
        block.rec_datetime = info.get("rec_datetime")
    else:
        block = to_block(segments, name=str(path), group_nodes=False)
        if tables["experiment_description"]:
            block.annotate(model=tables["experiment_description"])
    return block


def _is_layer_file(path) -> bool:
    """True for an NWB file of network layers written by ann2neo (this layout or 0.1.0's)."""
    import h5py

    try:
        with h5py.File(Path(path), "r") as f:
            if "processing/ann2neo/block" in f:
                return True
            units = f.get("units")
            return units is not None and all(c in units for c in ("node", "layer", "segment", "sampling_rate"))
    except Exception:  # noqa: BLE001 - open_nwb reports an unreadable file
        return False


def read_nwb_recordings(path, *, name=None, t_start=None, t_stop=None) -> dict:
    """Read any NWB file into Recordings: ann2neo network layers, or the Units/trials tables of neurons.

    Parameters
    ----------
    path : str or Path
    name : str, optional
        Read only this recording (a segment such as ``"test"``, or a recording
        name); an unknown name raises and lists the names.
    t_start, t_stop : float (seconds), optional
        Extent of a file of neurons without trials or observation intervals.

    Returns
    -------
    dict of str to Recording
        Network layers: one Recording of one-bin trials per segment (labels as
        the condition ``label``).  Neurons: see :mod:`ann2neo.io.loaders` and
        :mod:`ann2neo.io.nwb_units`.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    FileFormatError
        If the file is damaged or has no Units table.
    ValueError
        For an unknown ``name``, or a missing ``t_stop``.

    Examples
    --------
    >>> read_nwb_recordings("rec.nwb")["test"]       # doctest: +SKIP
    Recording(64 units x 450 trials x 1 bin of 1 sample; condition 'label': 0 (45), ...)
    """
    if not _is_layer_file(path):
        from .nwb_units import read_nwb_units

        with open_nwb(path) as nwbfile:
            return read_nwb_units(nwbfile, path, name=name, t_start=t_start, t_stop=t_stop)
    if t_start is not None or t_stop is not None:
        raise ValueError(f"{str(path)!r} holds network layers in samples; t_start/t_stop do not apply")
    tables = _read_tables(path)
    names = tables["epoch_names"]
    if name is not None and name not in names:
        raise ValueError(f"{str(path)!r} has no recording {name!r}; it holds {names}")
    matrices = _matrices(path, tables, None if name is None else [name])
    out = {}
    for seg_name, (payload, _, _) in zip(names, tables["epochs"], strict=True):
        if seg_name not in matrices:
            continue
        ann = dict(payload["annotations"])
        for key, info in payload["series"].items():
            ann[key] = tables["series"][info["series"]].astype(info["dtype"])
        unit_names = [n for n, s in zip(tables["unit_name"], tables["segment"], strict=True) if s == seg_name]
        out[seg_name] = ann_recording(matrices[seg_name], ann, unit_names)
    return out
