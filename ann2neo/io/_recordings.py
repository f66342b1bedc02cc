"""Internal: one view of a recording for the writers, from a spike matrix or from Neo spike trains.

A writer needs, per segment: its name, its annotations, its time range in
samples, and per unit (spike train or matrix column) the spike count, the
spike sample indices in order, and the per-unit metadata.  For a spike matrix
the spike indices are produced block by block, so that a 60,000 × 4,096
recording is never held as 98 M float64 times at once.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import neo
import numpy as np

from ..core.binarize import SpikeMatrix
from ..core.units import check_sample_units
from ..core.validation import check_spike_array

#: Train annotations that have their own columns in the files.
STANDARD_TRAIN_KEYS = ("node", "layer", "layer_shape", "threshold")
#: Segment annotations stored as per-sample series instead of JSON.
SERIES_KEYS = ("labels", "sample_index")
_CHUNK_SPIKES = 1 << 20  # spikes per block written at a time (8 MB of float64)


@dataclass
class Recording:
    """One segment as the writers see it."""

    name: str | None
    description: str | None
    annotations: dict
    t_start: int
    t_stop: int
    counts: np.ndarray                       # spikes per unit
    node: np.ndarray                         # int64
    layer: list                              # str or None
    layer_shape: list                        # tuple
    threshold: np.ndarray                    # float64, NaN = None
    unit_t_start: np.ndarray                 # int64 samples
    unit_t_stop: np.ndarray
    unit_names: list
    unit_extras: list                        # dict of other annotations per unit (or None)
    _matrix: np.ndarray | None = field(default=None, repr=False)
    _trains: list | None = field(default=None, repr=False)

    @property
    def n_units(self) -> int:
        return len(self.counts)

    def spike_index_blocks(self):
        """Yield int64 arrays of spike sample indices, unit after unit, in blocks."""
        if self._matrix is not None:
            m = self._matrix
            n_samples, n_nodes = m.shape
            per_node = max(1, int(self.counts.mean()) if self.n_units else 1)
            step = int(max(1, min(n_nodes, _CHUNK_SPIKES // per_node)))
            for j0 in range(0, n_nodes, step):
                sub = np.ascontiguousarray(m[:, j0:j0 + step].T)
                flat = np.flatnonzero(sub)
                del sub
                np.remainder(flat, n_samples, out=flat)
                yield flat
            return
        block, size = [], 0
        for st in self._trains:
            block.append(st)
            size += len(st)
            if size >= _CHUNK_SPIKES:
                yield _train_indices(block)
                block, size = [], 0
        if block:
            yield _train_indices(block)


def _train_indices(trains) -> np.ndarray:
    return np.concatenate([np.asarray(st.magnitude, dtype=np.float64) for st in trains]).astype(np.int64)


def _same(a, b) -> bool:
    if a is b:
        return True
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable objects are simply not the same
        return False


def _whole(value, what) -> int:
    v = float(value)
    if not v.is_integer():
        raise ValueError(f"{what} = {v} is not a whole number of samples")
    return int(v)


def from_matrix(name, spikes, annotations=None) -> Recording:
    """A Recording from a boolean (n_samples, n_nodes) spike matrix."""
    matrix = check_spike_array(spikes, f"recording {name!r}")
    n_samples, n_nodes = matrix.shape
    layer = getattr(spikes, "layer", None)
    layer_shape = tuple(getattr(spikes, "layer_shape", None) or (n_nodes,))
    thr = getattr(spikes, "threshold", None)
    counts = np.count_nonzero(matrix, axis=0).astype(np.int64)
    return Recording(
        name=name, description=None, annotations=dict(annotations or {}), t_start=0, t_stop=n_samples,
        counts=counts, node=np.arange(n_nodes, dtype=np.int64), layer=[layer] * n_nodes,
        layer_shape=[layer_shape] * n_nodes,
        threshold=(np.full(n_nodes, np.nan if thr is None else float(thr)) if np.ndim(thr) == 0 else
                   np.asarray(thr, dtype=np.float64).reshape(n_nodes)),  # per-unit thresholds: one per node
        unit_t_start=np.zeros(n_nodes, dtype=np.int64), unit_t_stop=np.full(n_nodes, n_samples, dtype=np.int64),
        unit_names=[None] * n_nodes, unit_extras=[None] * n_nodes, _matrix=matrix)


def from_segment(segment: neo.Segment, index: int) -> Recording:
    """A Recording from a Neo segment whose spike trains are in samples on the integer grid."""
    trains = list(segment.spiketrains)
    seg_ann = dict(segment.annotations)
    label = segment.name if segment.name is not None else f"segment {index}"
    if not trains:
        raise ValueError(f"segment {label!r} has no spike trains")
    n = len(trains)
    counts = np.empty(n, dtype=np.int64)
    node = np.empty(n, dtype=np.int64)
    thr = np.empty(n)
    t0 = np.empty(n, dtype=np.int64)
    t1 = np.empty(n, dtype=np.int64)
    layers, shapes, names, extras = [], [], [], []
    for j, st in enumerate(trains):
        what = f"segment {label!r} spike train {j}"
        check_sample_units(st, what=what)
        times = np.asarray(st.magnitude, dtype=np.float64)
        if times.size and not np.array_equal(times, np.floor(times)):
            bad = times[times != np.floor(times)][:3]
            raise ValueError(f"{what} has spike times off the integer sample grid (e.g. {bad.tolist()}); "
                             "ann2neo files store one spike per sample index")
        t0[j] = _whole(st.t_start.magnitude, f"{what} t_start")
        t1[j] = _whole(st.t_stop.magnitude, f"{what} t_stop")
        counts[j] = times.size
        ann = st.annotations
        node[j] = int(ann.get("node", j))
        layers.append(ann.get("layer"))
        shape = ann.get("layer_shape")
        shapes.append(None if shape is None else tuple(int(s) for s in np.atleast_1d(shape)))
        t = ann.get("threshold")
        thr[j] = np.nan if t is None else float(t)
        names.append(st.name)
        own = {k: v for k, v in ann.items()
               if k not in STANDARD_TRAIN_KEYS and not (k in seg_ann and _same(v, seg_ann[k]))}
        absent = [k for k in seg_ann if k not in ann]
        if "node" not in ann:
            absent.append("node")
        if "threshold" in ann and ann["threshold"] is not None and not isinstance(ann["threshold"], float):
            own["__threshold__"] = ann["threshold"]  # keep an int or numpy threshold's exact type
        if "layer_shape" in ann and not isinstance(ann["layer_shape"], tuple):
            own["__layer_shape__"] = ann["layer_shape"]
        for key in ("layer", "layer_shape", "threshold"):
            if key not in ann:
                absent.append(key)
        if absent:
            own["__absent__"] = absent
        if st.description is not None:
            own["__description__"] = st.description
        extras.append(own or None)
    if t0.min() < 0:
        raise ValueError(f"segment {label!r}: t_start must be >= 0 samples, got {t0.min()}")
    if np.any(t1 <= t0):
        raise ValueError(f"segment {label!r}: every spike train needs t_stop > t_start")
    for j, st in enumerate(trains):
        if counts[j] and (st.magnitude.min() < t0[j] or st.magnitude.max() >= t1[j]):
            raise ValueError(f"segment {label!r} spike train {j} has spikes outside [t_start, t_stop)")
    return Recording(
        name=segment.name, description=segment.description, annotations=seg_ann, t_start=int(t0.min()),
        t_stop=int(t1.max()), counts=counts, node=node, layer=layers, layer_shape=shapes, threshold=thr,
        unit_t_start=t0, unit_t_stop=t1, unit_names=names, unit_extras=extras, _trains=trains)


def recordings_of(data):
    """Return ``(list of Recording, block or None)`` for a Block, Segment, mapping or matrix."""
    if isinstance(data, neo.Block):
        recs = [from_segment(seg, i) for i, seg in enumerate(data.segments)]
        block = data
    elif isinstance(data, neo.Segment):
        recs, block = [from_segment(data, 0)], None
    elif isinstance(data, Mapping):
        recs, block = [], None
        for key, value in data.items():
            if isinstance(value, neo.Segment):
                rec = from_segment(value, len(recs))
                rec.name = str(key)
            elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping):
                rec = from_matrix(str(key), value[0], value[1])  # (spike matrix, segment annotations)
            else:
                rec = from_matrix(str(key), value)
            recs.append(rec)
    elif isinstance(data, (np.ndarray, SpikeMatrix)):
        recs, block = [from_matrix("recording", data)], None
    else:
        raise TypeError(f"data must be a neo.Block, a neo.Segment, a {{segment name: spike matrix}} mapping or "
                        f"a spike matrix, got {type(data).__name__}")
    if not recs:
        raise ValueError("data has no segments: nothing to write")
    names = [r.name if r.name is not None else f"segment {i}" for i, r in enumerate(recs)]
    seen = set()
    for n in names:
        if n in seen:
            raise ValueError(f"two segments are named {n!r}; segment names must be unique within a file "
                             "(a reader would merge them into one recording)")
        seen.add(n)
    for rec in recs:
        for key in SERIES_KEYS:
            if key in rec.annotations and rec.annotations[key] is not None:
                arr = np.asarray(rec.annotations[key])
                if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.size != rec.t_stop - rec.t_start:
                    raise ValueError(f"segment {rec.name!r} annotation {key!r} must be a 1-D integer array with one "
                                     f"value per time step ({rec.t_stop - rec.t_start}), got dtype {arr.dtype} "
                                     f"shape {arr.shape}")
    return recs, block


# ----------------------------------------------------------------------------- ann2neo.Recording of a layer

#: Segment annotations that carry a layer Recording's trials/units tables beyond the labels series.
RECORDING_KEYS = ("ann2neo_condition", "ann2neo_trials", "ann2neo_units", "ann2neo_columns")


def ann_payload(rec) -> tuple:
    """``(SpikeMatrix, segment annotations, unit names)`` of a network-layer Recording (one-bin trials).

    The condition column goes to the compact ``labels`` series (8 bytes per
    sample) when it holds integers, the ``sample_index`` column to its series;
    every other trials or units column is kept in tagged JSON annotations.
    """
    from ..core.recording import Recording

    if not isinstance(rec, Recording) or rec.time_base != "sample":
        raise TypeError("expected a Recording in samples")
    m = rec.spike_matrix()
    if not np.array_equal(rec.t_start, np.arange(rec.n_trials)):
        raise ValueError("a network-layer recording is written as samples 0, 1, ..., n - 1 in order; this one's "
                         "trials start elsewhere (a selection?): rebuild it with Recording.from_matrix")
    ann = {k: v for k, v in rec.annotations.items() if k not in ("trials",)}
    trials = rec.trials

    def plain(values):  # Neo refuses object arrays in annotations: strings become a str array
        if values.dtype == object and all(isinstance(v, str) for v in values.tolist()):
            return np.array(values.tolist(), dtype=str)
        return values

    extra_trials = {}
    for col in trials.columns:
        values = plain(trials[col].to_numpy())
        if col == rec.condition and values.dtype.kind in "iu":
            ann["labels"] = values
        elif col == "sample_index" and values.dtype.kind in "iu":
            ann["sample_index"] = values
        else:
            extra_trials[col] = values
    ann["ann2neo_condition"] = rec.condition
    ann["ann2neo_columns"] = {"trials": list(trials.columns), "units": [c for c in rec.units.columns]}
    if extra_trials:
        ann["ann2neo_trials"] = extra_trials
    extra_units = {c: plain(rec.units[c].to_numpy()) for c in rec.units.columns if c not in ("name", "node", "layer")}
    if extra_units:
        ann["ann2neo_units"] = extra_units
    return m, ann, rec.units["name"].tolist()


def ann_recording(matrix, annotations: dict, unit_names):
    """Inverse of :func:`ann_payload`: a layer Recording from a matrix, segment annotations and unit names."""
    import pandas as pd

    from ..core.recording import Recording

    ann = dict(annotations)
    labels = ann.pop("labels", None)
    cond = ann.pop("ann2neo_condition", "label" if labels is not None else None)
    columns = ann.pop("ann2neo_columns", None)
    extra_trials = dict(ann.pop("ann2neo_trials", None) or {})
    extra_units = ann.pop("ann2neo_units", None) or {}
    if "sample_index" in ann and ann["sample_index"] is not None:
        extra_trials["sample_index"] = np.asarray(ann.pop("sample_index"))
    names = [str(n) for n in unit_names] if unit_names is not None and all(unit_names) \
        and len(set(unit_names)) == len(unit_names) else None
    label_col = cond if cond is not None else "label"
    rec = Recording.from_matrix(matrix, labels=labels, layer=getattr(matrix, "layer", None), unit_names=names,
                                condition=label_col, trials=extra_trials or None, annotations=ann)
    if labels is None and cond is not None:
        rec.condition = cond
    for c, v in extra_units.items():
        rec.units[c] = v
    if columns is not None:
        rec.trials = rec.trials[list(columns["trials"])]
        rec.units = rec.units[[c for c in columns["units"] if c in rec.units]]
    rec.trials = pd.DataFrame(rec.trials).reset_index(drop=True)
    return rec


def split_recordings(data):
    """``(kind, {name: Recording})`` when ``data`` is a Recording or a mapping of them, else ``(None, None)``.

    ``kind`` is ``"sample"`` or ``"physical"``; a mapping that mixes both is refused.
    """
    from ..core.recording import Recording

    if isinstance(data, Recording):
        data = {str(data.annotations.get("name") or "recording"): data}
    if not isinstance(data, Mapping) or not data or not all(isinstance(v, Recording) for v in data.values()):
        if isinstance(data, Mapping) and any(isinstance(v, Recording) for v in data.values()):
            raise TypeError("a mapping to write holds Recordings and other objects; give one kind")
        return None, None
    kinds = {v.time_base for v in data.values()}
    if len(kinds) != 1:
        raise ValueError("recordings in samples (network layers) and in physical time (neurons) go to separate "
                         "files")
    return kinds.pop(), {str(k): v for k, v in data.items()}
