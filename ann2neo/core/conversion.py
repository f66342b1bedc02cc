"""Conversion between boolean spike matrices and Neo objects.

The Neo layout used throughout ann2neo:

* one :class:`neo.SpikeTrain` per node, times in :data:`ann2neo.sample`,
  ``t_start = 0``, ``t_stop = n_samples``, annotated with ``node`` (flat index),
  ``node_position`` (index in the layer's shape), ``layer``, ``threshold`` and
  whatever the caller adds (model, split, condition);
* one :class:`neo.Segment` per recording (a data split or a condition);
* one :class:`neo.Block` per experiment, with one :class:`neo.Group` per node
  collecting that node's spike trains across segments (the Neo way to say
  "the same unit in several recordings").
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import neo
import numpy as np
from neo.core.spiketrainlist import SpikeTrainList

from .binarize import SpikeMatrix
from .units import check_sample_units, sample
from .validation import check_spike_array

__all__ = ["as_spike_matrix", "to_spiketrains", "iter_spiketrains", "from_spiketrains", "to_segment", "to_block",
           "spike_matrix"]


#: Nodes transposed at a time: bounds the transposed copy to n_samples x 1024 bytes.
_NODE_BLOCK = 1024


def iter_spike_times(spikes: np.ndarray, dtype=np.int64):
    """Yield the spike sample indices of each node in turn, transposing 1,024 nodes at a time.

    ``np.flatnonzero`` over a contiguous row of a transposed block is ~10x
    faster than a 2-D ``np.nonzero`` over the matrix; the block keeps the extra
    memory at ``n_samples * 1024`` bytes instead of a whole transposed copy.
    """
    for j0 in range(0, spikes.shape[1], _NODE_BLOCK):
        block = np.ascontiguousarray(spikes[:, j0:j0 + _NODE_BLOCK].T)
        for row in block:
            yield np.flatnonzero(row).astype(dtype, copy=False)


def spike_times_by_node(spikes: np.ndarray) -> list[np.ndarray]:
    """Spike sample indices of every node (int64 arrays), see :func:`iter_spike_times`."""
    return list(iter_spike_times(spikes))


def iter_spiketrains(spikes, *, layer=None, threshold=None, dtype=np.float64, **annotations):
    """Yield the :class:`neo.SpikeTrain` of each node in turn, without holding them all.

    The lazy form of :func:`to_spiketrains` (same arguments, same trains), for
    layers whose trains together would not fit in memory: each train is built
    when asked for and can be dropped after use, so memory stays at the matrix
    plus one block of 1,024 transposed nodes plus one train.

    Yields
    ------
    neo.SpikeTrain

    Examples
    --------
    >>> import elephant.statistics as es
    >>> m = np.eye(6, 3, dtype=bool)
    >>> [float(es.mean_firing_rate(st)) for st in iter_spiketrains(m)]
    [0.16666666666666666, 0.16666666666666666, 0.16666666666666666]
    """
    matrix = as_spike_matrix(spikes)
    n_samples = matrix.shape[0]
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise TypeError(f"dtype must be float64 or float32, got {dtype}")
    if dtype == np.float32 and n_samples > 2**24:
        raise ValueError(f"float32 holds sample indices exactly only up to 2**24 = {2**24:,}; this recording has "
                         f"{n_samples:,} samples: use float64")
    layer = layer if layer is not None else matrix.layer
    threshold = threshold if threshold is not None else matrix.threshold
    layer_shape = matrix.layer_shape
    positions = np.unravel_index(matrix.nodes, layer_shape)
    t_stop = float(n_samples) * sample
    t_start = 0.0 * sample
    rate = 1.0 / sample
    base = dict(annotations, layer=layer, threshold=threshold, layer_shape=layer_shape)
    for j, times in enumerate(iter_spike_times(matrix, dtype)):
        node = int(matrix.nodes[j])
        st = neo.SpikeTrain(times, t_stop=t_stop, units=sample, t_start=t_start, sampling_rate=rate,
                            dtype=dtype, copy=None,
                            name=f"{layer}#{node}" if layer is not None else f"node {node}")
        st.annotations.update(base)
        st.annotations["node"] = node
        if np.ndim(threshold) > 0:  # per-unit thresholds: each train carries its own
            st.annotations["threshold"] = float(np.asarray(threshold)[j])
        st.annotations["node_position"] = tuple(int(p[j]) for p in positions)
        yield st


def to_spiketrains(spikes, *, layer=None, threshold=None, dtype=np.float64, **annotations) -> list[neo.SpikeTrain]:
    """Convert a boolean spike matrix into one :class:`neo.SpikeTrain` per node.

    Parameters
    ----------
    spikes : array_like of bool, shape (n_samples, n_nodes)
        Spike matrix, e.g. from :func:`ann2neo.binarize` or :func:`ann2neo.record`.
        Row ``k`` becomes time ``k`` samples.
    layer : str, optional
        Layer name; defaults to ``spikes.layer`` for a :class:`SpikeMatrix`.
    threshold : float, optional
        Threshold used; defaults to ``spikes.threshold`` for a :class:`SpikeMatrix`.
    dtype : {numpy.float64, numpy.float32}, default float64
        dtype of the spike times.  float32 halves the trains' memory and is exact
        up to 2**24 samples.
    **annotations
        Extra annotations for every train (e.g. ``model=``, ``split=``,
        ``condition=``); values must be types Neo accepts as annotations.

    Returns
    -------
    list of neo.SpikeTrain, length n_nodes
        Train ``j`` holds the sample indices at which column ``j`` spiked, as
        times in :data:`ann2neo.sample`; ``t_start = 0``, ``t_stop = n_samples``,
        ``sampling_rate = 1 / sample``.  Annotations: ``node`` (int, the node's flat
        index in the layer: ``spikes.nodes[j]`` for a :class:`SpikeMatrix` holding
        a subset of nodes), ``node_position`` (tuple, index in ``layer_shape``),
        ``layer``, ``threshold``, ``layer_shape`` and the caller's.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_spike_matrix`; for a dtype other than float64/float32, or
        float32 beyond 2**24 samples.

    Notes
    -----
    Memory: the trains hold ``8 * n_spikes`` bytes of float64 times (at rate λ,
    ``8 λ`` times the boolean matrix: 3.2x at λ = 0.4), and the conversion adds
    one block of 1,024 transposed nodes, so the peak is about the matrix plus
    its trains.  For layers whose trains do not fit, use
    :func:`iter_spiketrains` (one train at a time), ``dtype=np.float32``, or
    analyse the matrix directly: every ann2neo statistic takes it as it is.

    Examples
    --------
    >>> trains = to_spiketrains(np.array([[True, False], [True, True]]), layer="hidden")
    >>> trains[1].magnitude, trains[1].annotations["node"]
    (array([1.]), 1)
    """
    return list(iter_spiketrains(spikes, layer=layer, threshold=threshold, dtype=dtype, **annotations))


def from_spiketrains(spiketrains: Sequence[neo.SpikeTrain]) -> SpikeMatrix:
    """Rebuild the boolean spike matrix from per-node spike trains.

    The exact inverse of :func:`to_spiketrains`: column ``j`` is ``spiketrains[j]``.

    Parameters
    ----------
    spiketrains : sequence of neo.SpikeTrain
        Trains in :data:`ann2neo.sample`, all with ``t_start = 0`` and the same
        integer ``t_stop = n_samples``; spike times on the integer sample grid,
        at most one spike per sample.

    Returns
    -------
    SpikeMatrix, shape (n_samples, n_nodes), dtype bool
        ``layer``, ``threshold`` and ``layer_shape`` are restored from the trains'
        annotations when all trains agree on them, and ``nodes`` from their
        ``node`` annotations when these are distinct indices into the layer.

    Raises
    ------
    ann2neo.UnitError
        If a train is not in samples (e.g. seconds or ms).
    ValueError
        If there are no trains, ``t_start``/``t_stop`` differ or are not
        integers, a spike time is off the sample grid or outside
        ``[0, n_samples)``, or a node spikes twice on one sample.
    """
    trains = list(spiketrains)
    if not trains:
        raise ValueError("no spike trains given: the layer is empty")
    for i, st in enumerate(trains):
        check_sample_units(st, what=f"spike train {i}")
    t_stops = {float(st.t_stop.magnitude) for st in trains}
    t_starts = {float(st.t_start.magnitude) for st in trains}
    if t_starts != {0.0}:
        raise ValueError(f"spike trains must start at sample 0, got t_start values {sorted(t_starts)}")
    if len(t_stops) != 1:
        raise ValueError(f"spike trains have different t_stop values {sorted(t_stops)[:5]}; "
                         "they must come from one recording")
    n_samples = t_stops.pop()
    if n_samples != int(n_samples) or n_samples < 1:
        raise ValueError(f"t_stop must be a positive whole number of samples, got {n_samples}")
    n_samples = int(n_samples)
    counts = np.fromiter((len(st) for st in trains), dtype=np.int64, count=len(trains))
    times = np.concatenate([np.asarray(st.magnitude, dtype=np.float64) for st in trains]) \
        if counts.sum() else np.zeros(0)
    idx = times.astype(np.int64)
    if not np.array_equal(idx, times):
        raise ValueError("spike times are not on the integer sample grid; ann2neo spike trains "
                         "have one spike per sample index")
    if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
        raise ValueError(f"spike times outside [0, {n_samples}) samples")
    nodes = np.repeat(np.arange(len(trains)), counts)
    matrix = np.zeros((n_samples, len(trains)), dtype=bool)
    matrix[idx, nodes] = True
    if np.count_nonzero(matrix) != idx.size:
        raise ValueError("a spike train has two spikes on the same sample; a binary spike matrix "
                         "holds at most one spike per node and sample")

    def common(key):
        values = {repr(st.annotations.get(key)) for st in trains}
        return trains[0].annotations.get(key) if len(values) == 1 else None

    layer_shape = common("layer_shape")  # NIX returns a 1-tuple as a scalar
    layer_shape = None if layer_shape is None else tuple(int(n) for n in np.atleast_1d(layer_shape))
    nodes = [st.annotations.get("node") for st in trains]
    size = None if layer_shape is None else int(np.prod(layer_shape))
    if all(isinstance(n, (int, np.integer)) for n in nodes) and len(set(nodes)) == len(nodes) \
            and size is not None and all(0 <= n < size for n in nodes):
        nodes = np.asarray(nodes, dtype=np.int64)
    else:  # no consistent node identity: number the columns
        nodes = None
        if size != len(trains):
            layer_shape = None
    threshold = common("threshold")
    per_unit = [st.annotations.get("threshold") for st in trains]
    if threshold is None and all(isinstance(t, (float, np.floating)) and not np.isnan(t) for t in per_unit):
        threshold = np.asarray(per_unit, dtype=np.float64)  # per-unit thresholds, one per train
    return SpikeMatrix(matrix, layer_shape=layer_shape, threshold=threshold, layer=common("layer"),
                       nodes=nodes)


def _trains_of(data, annotations) -> list[neo.SpikeTrain]:
    if isinstance(data, Mapping):  # several layers of one recording
        trains = []
        for name, spikes in data.items():
            trains.extend(to_spiketrains(spikes, layer=name, **annotations))
        return trains
    if isinstance(data, np.ndarray):
        return to_spiketrains(data, **annotations)
    if isinstance(data, neo.SpikeTrain):
        data = [data]
    trains = list(data)
    if not all(isinstance(st, neo.SpikeTrain) for st in trains):
        raise TypeError("expected a spike matrix, a {layer: spike matrix} mapping or a list of neo.SpikeTrain")
    # The caller's trains stay as they are (annotations, segment link): the segment gets copies.
    copies = []
    for st in trains:
        copy = st.copy()
        copy.annotations = dict(st.annotations, **annotations)
        copy.segment = None
        copies.append(copy)
    return copies


def to_segment(data, *, name=None, description=None, **annotations) -> neo.Segment:
    """Group one recording's spike trains into a :class:`neo.Segment`.

    Parameters
    ----------
    data : array_like of bool (n_samples, n_nodes), mapping of str to such arrays, or list of neo.SpikeTrain
        One recording: a layer's spike matrix, several layers recorded on the
        same samples (``{layer name: spike matrix}``), or ready spike trains.
    name, description : str, optional
        Segment name (e.g. ``"train"``) and description.
    **annotations
        Annotations set on the segment and on each of its spike trains
        (e.g. ``split="test"``, ``condition="Generalizing"``).

    Returns
    -------
    neo.Segment
        With ``spiketrains`` in node order (layer by layer).  Spike trains
        passed in are copied, so the caller's trains keep their annotations
        and their own segment link.

    Raises
    ------
    ValueError, TypeError
        On an invalid spike matrix or objects that are not spike trains.
    """
    trains = _trains_of(data, annotations)
    segment = neo.Segment(name=name, description=description, **annotations)
    segment.spiketrains.extend(trains)
    for st in trains:
        st.segment = segment
    return segment


def to_block(segments, *, name=None, description=None, group_nodes=True, **annotations) -> neo.Block:
    """Collect segments into a :class:`neo.Block` for one experiment.

    Parameters
    ----------
    segments : neo.Segment or sequence of neo.Segment, or a mapping of str to recordings
        Segments, e.g. from :func:`to_segment`.  A mapping ``{segment name: data}``
        is converted with :func:`to_segment` first.
    name, description : str, optional
    group_nodes : bool, default True
        Add one :class:`neo.Group` per (layer, node) holding that node's trains
        across all segments, named ``"<layer>#<node>"``.
    **annotations
        Block annotations (e.g. ``model=``, ``dataset=``).

    Returns
    -------
    neo.Block
    """
    if isinstance(segments, neo.Segment):
        segments = [segments]
    elif isinstance(segments, Mapping):
        segments = [to_segment(data, name=str(key)) for key, data in segments.items()]
    block = neo.Block(name=name, description=description, **annotations)
    block.segments.extend(segments)
    for seg in segments:
        seg.block = block
    if group_nodes:
        groups: dict = {}
        for seg in segments:
            for st in seg.spiketrains:
                key = (st.annotations.get("layer"), st.annotations.get("node"))
                if key[1] is None:
                    continue
                if key not in groups:
                    groups[key] = neo.Group(name=f"{key[0]}#{key[1]}", allowed_types=[neo.SpikeTrain],
                                            layer=key[0], node=key[1])
                groups[key].add(st)
        block.groups.extend(groups.values())
        for g in groups.values():
            g.block = block
    return block


def as_spike_matrix(data, name: str = "spikes") -> SpikeMatrix:
    """Return the boolean spike matrix of any supported recording input, validated.

    The one entry point through which every ann2neo function reads a recording.

    Parameters
    ----------
    data : array_like of bool (n_samples, n_nodes), SpikeMatrix, neo.SpikeTrain, list of them, or neo.Segment
        A spike matrix (bool, or numbers that are all 0 or 1), a single
        node's train, per-node spike trains in samples, or a segment holding
        them.
    name : str, default "spikes"
        Argument name for error messages.

    Returns
    -------
    SpikeMatrix, shape (n_samples, n_nodes), dtype bool
        ``data`` itself when it already is a valid SpikeMatrix (no copy), a
        bool view or copy otherwise, with ``layer``, ``threshold``,
        ``layer_shape`` and ``nodes`` restored from spike-train annotations.

    Raises
    ------
    TypeError
        For a pandas object, a mapping of layers (analyse one layer at a
        time), or data that is neither an array nor spike trains.
    ValueError
        For an empty list or segment, a matrix that is not 2-D and binary or
        holds no samples or nodes, and as :func:`from_spiketrains`.
    ann2neo.UnitError
        For spike trains not in samples.

    Examples
    --------
    >>> as_spike_matrix([[0, 1], [1, 1]]).dtype
    dtype('bool')
    """
    if isinstance(data, SpikeMatrix) and data.ndim == 2:
        check_spike_array(data, name)
        return data
    if isinstance(data, neo.Segment):
        if not data.spiketrains:
            raise ValueError(f"{name}: segment {data.name!r} holds no spike trains")
        return from_spiketrains(data.spiketrains)
    if isinstance(data, neo.SpikeTrain):
        return from_spiketrains([data])
    if isinstance(data, Mapping):
        raise TypeError(f"{name}: got a mapping of {len(data)} layers ({', '.join(map(str, list(data)[:4]))}); "
                        f"analyse one layer at a time, e.g. spikes[{next(iter(data), 'layer')!r}]")
    if isinstance(data, SpikeTrainList):
        data = list(data)
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError(f"{name}: got an empty list: no spike trains and no samples")
        if any(isinstance(st, neo.SpikeTrain) for st in data):
            if not all(isinstance(st, neo.SpikeTrain) for st in data):
                raise TypeError(f"{name}: a list mixing neo.SpikeTrain and other objects")
            return from_spiketrains(data)
    elif not isinstance(data, np.ndarray) and not hasattr(data, "__array__") \
            and not (hasattr(data, "iloc") or type(data).__module__.startswith("pandas")):
        raise TypeError(f"{name}: expected a spike matrix, spike trains or a neo.Segment, got {type(data).__name__}")
    arr = check_spike_array(data, name)
    return SpikeMatrix(arr)


def spike_matrix(data, name: str = "spikes") -> SpikeMatrix:
    """Deprecated alias of :func:`as_spike_matrix` (ann2neo 0.1).

    .. deprecated:: 0.2
        Use :func:`as_spike_matrix`.
    """
    warnings.warn("ann2neo.spike_matrix is deprecated; use ann2neo.as_spike_matrix", DeprecationWarning,
                  stacklevel=2)
    return as_spike_matrix(data, name)
