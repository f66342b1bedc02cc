"""The data model: spikes of units over trials, in one time base.

A :class:`Recording` holds what a neuroscience experiment and a recorded network
layer have in common: **units** (neurons, or the nodes of a layer) observed over
**trials** (repetitions of a stimulus, or input samples), each trial of one
**condition** (a movement direction, or the sample's class label), with spikes
in one **time base**: :data:`ann2neo.sample` for network layers, a physical
time (s, ms) for real neurons.

Two storages, one interface:

* **binned** — an array ``(n_trials, n_units, n_bins)`` of spike counts (bool
  where at most one spike falls in a bin) with a ``bin_width``; bins start at
  each trial's ``t_start``.  An ANN layer recorded on ``n`` input samples is
  ``n`` trials of **one bin** each: the spike matrix ``(n_samples, n_units)``
  viewed as ``(n_samples, n_units, 1)`` without a copy, with trial ``k``
  spanning ``[k, k + 1)`` samples.  A real trial × 1 ms-bin matrix (the STN
  recording) is binned too.
* **events** — spike times per trial and unit (float64, in the time unit, on
  the recording's clock, not relative to the trial).

The paper's view of an ANN layer — the samples in input order as one long
spike train per node — is the same data seen as one trial:
:meth:`Recording.as_one_trial` (a view, no copy, for binned recordings whose
trials follow each other without gaps).

Neo mapping (:meth:`Recording.to_neo`, :meth:`Recording.from_neo`): one
:class:`neo.Segment` per trial, its conditions as annotations; one
:class:`neo.SpikeTrain` per unit and trial named by the unit; one
:class:`neo.Group` per unit holding its trains across trials.  This is what
NWB's trials table and Units table describe too.

Memory: a binned ANN recording costs its spike matrix (1 byte per sample and
unit, or 1 bit when packed on disk) plus 16 bytes per trial for ``t_start`` /
``t_stop`` and its labels.  :meth:`Recording.to_neo` builds one Segment per
trial and one SpikeTrain per trial and unit (about 2 kB each): 60,000 trials
of 128 units would need about 15 GB, so network layers are converted to Neo
through :meth:`Recording.as_one_trial` (one Segment, one train per unit,
8 bytes per spike) unless per-trial segments are asked for.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import neo
import numpy as np
import pandas as pd
import quantities as pq

from .units import UnitError, as_time, is_physical_time, is_sample_unit, sample

__all__ = ["Recording", "BIN_TOLERANCE"]

#: Relative tolerance of bin assignment: a spike within this fraction of a bin
#: below an edge counts in the next bin, as Elephant's ``BinnedSpikeTrain`` does
#: (12.3 s / 0.1 s = 122.99999999999999 in floating point is bin 123).
BIN_TOLERANCE = 1e-8


def floor_bins(values, tolerance=BIN_TOLERANCE):
    """``floor`` of positions measured in bins, moving values within ``tolerance`` below an edge onto it."""
    values = np.asarray(values, dtype=np.float64)
    result = np.floor(values)
    result = np.where(1 - tolerance <= values % 1, result + 1, result).astype(np.int64)
    return int(result) if result.ndim == 0 else result


def _time_unit(unit):
    """The recording's time unit: :data:`sample` or a physical time unit."""
    if unit is None:
        raise TypeError("time_unit is required: ann2neo.sample for network layers, or a time unit such as pq.s")
    if isinstance(unit, str):
        unit = {"sample": sample, "samples": sample}.get(unit) or pq.Quantity(1.0, unit)
    q = unit if isinstance(unit, pq.Quantity) else pq.Quantity(1.0, unit)
    if is_sample_unit(q):
        return sample
    if not is_physical_time(q):
        raise UnitError(f"time_unit must be ann2neo.sample or a physical time unit (s, ms), got {q.dimensionality}")
    return pq.Quantity(1.0, q.dimensionality.string).units


def _in_unit(value, unit, name):
    """A scalar time given as a number (in ``unit``) or a quantity, as a float in ``unit``."""
    if isinstance(value, pq.Quantity):
        if unit is sample or is_sample_unit(pq.Quantity(1.0, unit)):
            if not is_sample_unit(value):
                raise UnitError(f"{name} = {value} is not in samples, but the recording's time base is samples")
            return float(value.magnitude)
        return float(as_time(value, name, unit=unit).magnitude)
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    return v


def _per_trial(value, n, unit, name):
    if value is None:
        return None
    if isinstance(value, pq.Quantity):
        if value.ndim == 0:
            return np.full(n, _in_unit(value, unit, name))
        if is_sample_unit(value) if unit is sample else is_physical_time(value):
            arr = np.asarray(value.rescale(unit).magnitude if unit is not sample else value.magnitude, np.float64)
        else:
            raise UnitError(f"{name} is in {value.dimensionality}, not in the recording's time unit")
    else:
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must hold one value per trial ({n}), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr[~np.isfinite(arr)][:3]}")
    return arr


def _table(value, n, what):
    if value is None:
        return pd.DataFrame(index=pd.RangeIndex(n))
    if isinstance(value, pd.DataFrame):
        table = value.reset_index(drop=True).copy()
    elif isinstance(value, Mapping):
        table = pd.DataFrame({str(k): list(np.asarray(v).ravel()) if not isinstance(v, list) else v
                              for k, v in value.items()})
    else:
        raise TypeError(f"{what} must be a pandas.DataFrame or a mapping of column -> values, got "
                        f"{type(value).__name__}")
    if len(table) != n and not (len(table.columns) == 0):
        raise ValueError(f"{what} has {len(table)} rows; it needs one per {what.split()[0][:-1]} ({n})")
    if len(table.columns) == 0:
        table = pd.DataFrame(index=pd.RangeIndex(n))
    return table


def _trials_with_labels(trials, labels, n_samples, condition):
    """The trials table of a layer's recording, with the class of each sample in column ``condition``."""
    table = _table(trials, n_samples, "trials table")
    if labels is not None:
        lab = np.asarray(labels).ravel()
        if lab.shape != (n_samples,):
            raise ValueError(f"labels must hold one class per sample ({n_samples}), got shape {np.shape(labels)}")
        table[condition] = lab
    return table


class Recording:
    """Spikes of units over trials, in one time base: the ann2neo data model.

    Parameters
    ----------
    time_unit : :data:`ann2neo.sample` or a time unit (``pq.s``, ``pq.ms``)
        The time base of every time in the recording.
    t_start, t_stop : array_like of float (n_trials,), or quantities
        Extent of each trial on the recording's clock, in ``time_unit``.
    binned : ndarray (n_trials, n_units, n_bins), bool or unsigned int, optional
        Spike counts per trial, unit and bin; bin ``b`` of trial ``k`` spans
        ``t_start[k] + [b, b + 1) * bin_width``.
    bin_width : float or quantity, optional
        Width of a bin in ``time_unit``; required with ``binned``.  ``n_bins *
        bin_width`` must equal ``t_stop - t_start`` for every trial.
    spike_times : sequence (n_trials) of sequences (n_units) of 1-D arrays, optional
        Spike times (float64, ``time_unit``, on the recording's clock), each
        within its trial's ``[t_start, t_stop]``.  Give either this or ``binned``.
    units : pandas.DataFrame or mapping, optional
        One row per unit.  Column ``name`` (unique strings; default ``"unit 0"``,
        ...); optional ``layer``, ``node`` and ``obs_intervals`` (per unit a
        float64 array ``(k, 2)`` of ``[start, stop)`` intervals in
        ``time_unit`` during which the unit was observed; default: always).
    trials : pandas.DataFrame or mapping, optional
        One row per trial: its conditions (e.g. ``label``, ``direction``).
    condition : str, optional
        The column of ``trials`` that is the default condition (e.g.
        ``"label"`` for a network's classes).
    annotations : mapping, optional
        Provenance (model, layer, split, source file, threshold, ...).

    Attributes
    ----------
    n_trials, n_units, n_bins : int
        ``n_bins`` is None for event storage.
    time_unit : pq unit
    time_base : {"sample", "physical"}
    null : {"bernoulli", "poisson"}
        The process of independent spiking in this time base: at most one
        spike per sample for a thresholded layer (Bernoulli), a Poisson
        process for recorded spike times.
    units, trials : pandas.DataFrame
    t_start, t_stop : ndarray of float64 (n_trials,)

    Raises
    ------
    TypeError
        For a missing ``time_unit``, both or neither of ``binned`` and
        ``spike_times``, or tables of the wrong kind.
    ValueError
        For shapes that disagree, negative counts, unsorted, NaN or infinite
        spike times, spikes outside their trial, ``t_stop <= t_start``,
        duplicate unit names, or bins that do not tile a trial.
    ann2neo.UnitError
        For times in a unit other than the recording's time base.

    See Also
    --------
    Recording.from_matrix : A network layer, one trial of one bin per input sample.
    Recording.from_binned : Trials of binned spike counts (trial x bin matrices).
    Recording.from_spike_times : Spike times of units over trials.
    Recording.from_neo : A Block's segments as trials, its spike trains as units.

    Examples
    --------
    A network layer: 4 input samples (trials of one bin) of classes 0, 1, 0, 1:

    >>> import numpy as np, ann2neo
    >>> m = np.array([[1, 0], [0, 0], [1, 1], [0, 1]], bool)
    >>> rec = Recording.from_matrix(m, labels=[0, 1, 0, 1], layer="hidden")
    >>> rec
    Recording(2 units x 4 trials x 1 bin of 1 sample; condition 'label': 0 (2), 1 (2))
    >>> rec.trial_counts()[:, 0]
    array([1, 0, 1, 0])
    >>> rec.as_one_trial().spike_times(0, 0)
    array([0., 2.])
    """

    def __init__(self, *, time_unit, t_start, t_stop, binned=None, bin_width=None, spike_times=None, units=None,
                 trials=None, condition=None, annotations=None):
        self.time_unit = _time_unit(time_unit)
        if (binned is None) == (spike_times is None):
            raise TypeError("give the spikes either binned (an array (n_trials, n_units, n_bins)) or as spike_times "
                            "(per trial, per unit, an array of times), not both or neither")
        if binned is not None:
            n_trials, n_units = self._set_binned(binned, bin_width)
        else:
            n_trials, n_units = self._set_times(spike_times)
        self._set_extent(t_start, t_stop, n_trials)
        self._set_units(units, n_units)
        self.trials = _table(trials, n_trials, "trials table")
        if condition is not None and condition not in self.trials:
            raise ValueError(f"condition {condition!r} is not a column of the trials table "
                             f"(columns: {list(self.trials.columns)})")
        self.condition = condition
        self.annotations = dict(annotations or {})

    def _set_binned(self, binned, bin_width):
        arr = np.asarray(binned)
        if arr.ndim != 3:
            raise ValueError(f"binned must have shape (n_trials, n_units, n_bins), got {arr.shape}")
        if arr.dtype != bool:
            if arr.dtype.kind not in "iu":
                raise TypeError(f"binned must hold bool or integer spike counts, got dtype {arr.dtype}")
            if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
                raise ValueError("binned spike counts must not be negative")
        if bin_width is None:
            raise TypeError("binned spikes need bin_width (e.g. 1 * pq.ms, or 1 for one sample)")
        self.bin_width = _in_unit(bin_width, self.time_unit, "bin_width")
        if not self.bin_width > 0:
            raise ValueError(f"bin_width must be positive, got {bin_width}")
        self._binned, self._times = arr, None
        return arr.shape[0], arr.shape[1]

    def _set_times(self, spike_times):
        times = [list(trial) for trial in spike_times]
        n_trials = len(times)
        n_units = len(times[0]) if n_trials else 0
        if any(len(trial) != n_units for trial in times):
            raise ValueError("spike_times must give every trial the same units "
                             f"(got {sorted({len(t) for t in times})} units per trial)")
        self._times = [[self._checked_times(t, k, u) for u, t in enumerate(trial)] for k, trial in enumerate(times)]
        self._binned, self.bin_width = None, None
        return n_trials, n_units

    def _set_extent(self, t_start, t_stop, n_trials):
        self.t_start = _per_trial(t_start, n_trials, self.time_unit, "t_start")
        self.t_stop = _per_trial(t_stop, n_trials, self.time_unit, "t_stop")
        if self.t_start is None or self.t_stop is None:
            raise TypeError("t_start and t_stop are required: the extent of each trial sets every rate")
        if n_trials and not (self.t_stop > self.t_start).all():
            k = int(np.flatnonzero(~(self.t_stop > self.t_start))[0])
            raise ValueError(f"trial {k}: t_stop ({self.t_stop[k]}) must be after t_start ({self.t_start[k]})")
        if self._binned is not None:
            n_bins = self._binned.shape[2]
            widths = (self.t_stop - self.t_start) / self.bin_width
            if not np.allclose(widths, n_bins, rtol=1e-9, atol=1e-9):
                raise ValueError(f"{n_bins} bins of {self.bin_width} {self.unit_name} do not tile the trials "
                                 f"(t_stop - t_start = {(self.t_stop - self.t_start)[:3]} ...)")
            return
        for k, trial in enumerate(self._times):
            for u, t in enumerate(trial):
                if t.size and (t[0] < self.t_start[k] or t[-1] > self.t_stop[k]):
                    raise ValueError(f"trial {k}, unit {u}: spikes outside the trial's "
                                     f"[{self.t_start[k]}, {self.t_stop[k]}] {self.unit_name}")

    def _set_units(self, units, n_units):
        self.units = _table(units, n_units, "units table")
        if "name" not in self.units:
            self.units.insert(0, "name", [f"unit {i}" for i in range(n_units)])
        names = self.units["name"].astype(str)
        if names.duplicated().any():
            raise ValueError(f"unit names must be unique; repeated: {sorted(set(names[names.duplicated()]))[:5]}")
        self.units["name"] = names
        if "obs_intervals" in self.units:
            self.units["obs_intervals"] = [self._checked_intervals(v, i) for i, v in
                                           enumerate(self.units["obs_intervals"])]

    # -- validation helpers -------------------------------------------------------------------------------------
    def _checked_times(self, times, k, u):
        if isinstance(times, pq.Quantity):
            times = times.rescale(self.time_unit).magnitude if self.time_unit is not sample else times.magnitude
        t = np.asarray(times, dtype=np.float64).ravel()
        if not np.isfinite(t).all():
            raise ValueError(f"trial {k}, unit {u}: spike times must be finite (found NaN or Inf)")
        if t.size > 1 and (np.diff(t) < 0).any():
            raise ValueError(f"trial {k}, unit {u}: spike times are not sorted; sort them (np.sort) first")
        return t

    def _checked_intervals(self, value, i):
        if value is None or (np.ndim(value) == 0 and pd.isna(value)):
            return None
        arr = np.asarray(value, dtype=np.float64).reshape(-1, 2) if np.size(value) else np.zeros((0, 2))
        if not np.isfinite(arr).all() or (arr[:, 1] < arr[:, 0]).any():
            raise ValueError(f"unit {i}: obs_intervals must be finite [start, stop] pairs with stop >= start")
        return arr

    # -- constructors --------------------------------------------------------------------------------------------
    @classmethod
    def from_matrix(cls, spikes, labels=None, *, layer=None, unit_names=None, condition="label", trials=None,
                    annotations=None):
        """A network layer recorded on ``n_samples`` inputs: one trial of one bin per sample.

        Parameters
        ----------
        spikes : array_like of bool, shape (n_samples, n_units)
            The spike matrix (e.g. from :func:`ann2neo.record`); a
            :class:`ann2neo.SpikeMatrix` passes its layer, nodes and threshold on.
        labels : array_like (n_samples,), optional
            The class of each sample: its condition, stored as the column
            ``condition`` of the trials table.
        layer : str, optional
            The layer's name (default: ``spikes.layer``).
        unit_names : sequence of str, optional
            Default ``"<layer>#<node>"`` (``"node <j>"`` without a layer).
        condition : str, default "label"
            Column name of ``labels``.
        trials : pandas.DataFrame or mapping, optional
            Further per-sample columns (e.g. ``sample_index`` in the dataset).
        annotations : mapping, optional

        Returns
        -------
        Recording
            Time base :data:`ann2neo.sample`; trial ``k`` spans ``[k, k + 1)``.
            The spike matrix is not copied.

        Examples
        --------
        >>> rec = Recording.from_matrix(np.eye(3, dtype=bool), labels=["a", "b", "c"])
        >>> rec.n_trials, rec.n_units, rec.units["name"].tolist()
        (3, 3, ['node 0', 'node 1', 'node 2'])
        """
        from .conversion import as_spike_matrix

        m = as_spike_matrix(spikes)
        n_samples, n_units = m.shape
        layer = layer if layer is not None else getattr(m, "layer", None)
        nodes = np.asarray(getattr(m, "nodes", np.arange(n_units)))
        if unit_names is None:
            unit_names = [f"{layer}#{j}" if layer else f"node {j}" for j in nodes]
        units = {"name": list(unit_names), "node": nodes}
        if layer is not None:
            units["layer"] = [layer] * n_units
        table = _trials_with_labels(trials, labels, n_samples, condition)
        ann = dict(annotations or {})
        ann.setdefault("layer", layer)
        if getattr(m, "threshold", None) is not None:
            ann.setdefault("threshold", m.threshold)
        start = np.arange(n_samples, dtype=np.float64)
        return cls(time_unit=sample, t_start=start, t_stop=start + 1, binned=np.asarray(m)[:, :, None], bin_width=1,
                   units=units, trials=table, condition=condition if labels is not None else None, annotations=ann)

    @classmethod
    def from_sequence(cls, spikes, labels=None, *, time_axis=0, layer=None, condition="label", trials=None,
                      annotations=None):
        """A layer with a position axis (tokens, time steps): one trial per input, one bin per position.

        A transformer or recurrent layer recorded with :func:`ann2neo.record`
        gives a spike matrix whose nodes are the C-order flattening of a
        per-sample ``layer_shape`` such as ``(n_positions, n_features)``.  Here
        the position axis becomes the time bins of each trial and the other
        axes the units: units × trials × positions.

        Parameters
        ----------
        spikes : SpikeMatrix, shape (n_samples, prod(layer_shape))
            A whole layer (its ``layer_shape`` says where the axes are; a
            subset of its nodes cannot be reshaped).
        labels : array_like (n_samples,), optional
            The class of each input: the trials' condition.
        time_axis : int, default 0
            Axis of ``layer_shape`` that holds the positions.
        layer : str, optional
            As in :meth:`from_matrix`.
        condition : str, default "label"
            As in :meth:`from_matrix`.
        trials : pandas.DataFrame or mapping, optional
            As in :meth:`from_matrix`.
        annotations : mapping, optional
            As in :meth:`from_matrix`.

        Returns
        -------
        Recording
            Time base :data:`ann2neo.sample` with one bin per position (a
            position is a step, not a physical time); trial ``k`` spans
            ``[k * n_positions, (k + 1) * n_positions)``, so
            :meth:`as_one_trial` concatenates the sequences in input order.
            Unit ``j`` is the ``j``-th feature (the other axes, C order).

        Raises
        ------
        ValueError
            If ``spikes`` is not a whole layer with at least two axes, or
            ``time_axis`` is not one of them.

        Examples
        --------
        >>> from ann2neo import SpikeMatrix
        >>> m = SpikeMatrix(np.zeros((2, 12), bool), layer_shape=(4, 3), layer="attn")  # 4 tokens x 3 features
        >>> rec = Recording.from_sequence(m, labels=[0, 1])
        >>> rec.n_trials, rec.n_units, rec.n_bins
        (2, 3, 4)
        """
        from .conversion import as_spike_matrix

        m = as_spike_matrix(spikes)
        shape = tuple(getattr(m, "layer_shape", (m.shape[1],)))
        if len(shape) < 2 or not np.array_equal(getattr(m, "nodes", np.arange(m.shape[1])),
                                                np.arange(int(np.prod(shape)))):
            raise ValueError(f"a sequence layer needs the whole layer with a position axis; got layer_shape {shape} "
                             f"with {m.shape[1]} nodes")
        if not isinstance(time_axis, (int, np.integer)) or not -len(shape) <= time_axis < len(shape):
            raise ValueError(f"time_axis must be an axis of layer_shape {shape}, got {time_axis!r}")
        n_samples, n_pos = m.shape[0], shape[time_axis]
        cube = np.moveaxis(np.asarray(m).reshape(n_samples, *shape), 1 + time_axis % len(shape), -1)
        binned = cube.reshape(n_samples, -1, n_pos)
        layer = layer if layer is not None else getattr(m, "layer", None)
        n_units = binned.shape[1]
        units = {"name": [f"{layer}#{j}" if layer else f"unit {j}" for j in range(n_units)]}
        table = _trials_with_labels(trials, labels, n_samples, condition)
        ann = dict(annotations or {}, layer=layer, layer_shape=shape, time_axis=int(time_axis))
        start = np.arange(n_samples, dtype=np.float64) * n_pos
        return cls(time_unit=sample, t_start=start, t_stop=start + n_pos, binned=binned, bin_width=1, units=units,
                   trials=table, condition=condition if labels is not None else None, annotations=ann)

    @classmethod
    def from_binned(cls, binned, bin_width, *, t_start=0.0, time_unit=None, unit_names=None, trials=None,
                    condition=None, units=None, annotations=None):
        """Trials of binned spike counts, e.g. a trial × 1 ms-bin matrix of one neuron.

        Parameters
        ----------
        binned : array_like (n_trials, n_bins) for one unit, or (n_trials, n_units, n_bins)
            Spike counts (bool or unsigned integers).
        bin_width : pq.Quantity or float
            Width of a bin: a time (``1 * pq.ms``), or samples.
        t_start : quantity or float, scalar or (n_trials,), default 0
            Start of each trial's first bin, on the recording's clock.  Trials
            of aligned data (time relative to a cue) may all start at the same
            time (e.g. ``-1 * pq.s``).
        time_unit : pq unit, optional
            Default: the unit of ``bin_width``.
        unit_names, trials, condition, units, annotations : optional
            As in :class:`Recording`.

        Returns
        -------
        Recording

        Examples
        --------
        >>> import quantities as pq
        >>> rec = Recording.from_binned(np.zeros((50, 2000), bool), 1 * pq.ms, t_start=-1 * pq.s,
        ...                             trials={"direction": np.repeat([0, 1], 25)}, condition="direction")
        >>> rec.n_units, rec.n_trials, rec.n_bins, float(rec.t_start[0]), float(rec.t_stop[0])
        (1, 50, 2000, -1000.0, 1000.0)
        """
        arr = np.asarray(binned)
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError("binned spike counts contain NaN or Inf: a missing bin is not silence; "
                                 "drop those trials or fill them explicitly")
            if (arr != np.round(arr)).any() or (arr < 0).any():
                raise ValueError("binned spike counts must be whole numbers >= 0")
            arr = arr.astype(np.uint16 if arr.max(initial=0) < 2 ** 16 else np.int64)
            if arr.max(initial=0) <= 1:
                arr = arr.astype(bool)
        if arr.ndim == 2:
            arr = arr[:, None, :]
        if time_unit is None:
            time_unit = bin_width.units if isinstance(bin_width, pq.Quantity) else sample
        unit = _time_unit(time_unit)
        width = _in_unit(bin_width, unit, "bin_width")
        n_trials, _, n_bins = arr.shape
        start = _per_trial(t_start, n_trials, unit, "t_start")
        if unit_names is not None:
            units = dict(units or {}, name=list(unit_names))
        return cls(time_unit=unit, t_start=start, t_stop=start + n_bins * width, binned=arr, bin_width=width,
                   units=units, trials=trials, condition=condition, annotations=annotations)

    @classmethod
    def from_spike_times(cls, spike_times, *, t_start, t_stop, time_unit=None, unit_names=None, trials=None,
                         condition=None, units=None, annotations=None):
        """Spike times of units over trials (or of one long recording: a single trial).

        Parameters
        ----------
        spike_times : list of arrays (one trial: per unit), or list (trials) of lists (units) of arrays
            Times in ``time_unit`` (or quantities), sorted, on the recording's clock.
        t_start, t_stop : quantity or float, scalar or (n_trials,)
            Required: a recording's extent is not its first and last spike.
        time_unit : pq unit, optional
            Default: the unit of ``t_start`` when it is a quantity.
        unit_names, trials, condition, units, annotations : optional
            As in :class:`Recording`.

        Returns
        -------
        Recording

        Examples
        --------
        >>> import quantities as pq
        >>> rec = Recording.from_spike_times([[0.5, 1.5], [0.2]], t_start=0 * pq.s, t_stop=2 * pq.s,
        ...                                  unit_names=["a", "b"])
        >>> rec.n_trials, rec.n_units, rec.spike_times(0, "a")
        (1, 2, array([0.5, 1.5]))
        """
        data = list(spike_times)
        nested = bool(data) and all(isinstance(x, (list, tuple)) and all(isinstance(y, (list, tuple)) or np.ndim(y) >= 1
                                                                         for y in x) for x in data)
        trials_times = data if nested else [data]
        if time_unit is None:
            ref = t_start if isinstance(t_start, pq.Quantity) else t_stop
            if not isinstance(ref, pq.Quantity):
                raise TypeError("give time_unit, or t_start/t_stop as quantities (e.g. 0 * pq.s)")
            time_unit = ref.units
        if unit_names is not None:
            units = dict(units or {}, name=list(unit_names))
        return cls(time_unit=time_unit, t_start=t_start, t_stop=t_stop, spike_times=trials_times, units=units,
                   trials=trials, condition=condition, annotations=annotations)

    @classmethod
    def from_neo(cls, data, *, condition=None):
        """A Recording from Neo: a Block's segments are trials, its spike trains units.

        Parameters
        ----------
        data : neo.Block, neo.Segment, or list of neo.SpikeTrain
            Segments are trials (their scalar annotations shared by every
            segment become the trials table); trains are matched to units
            across segments by :class:`neo.Group` membership, else by the
            ``unit`` annotation, else by name, else by position.
        condition : str, optional
            Default condition column (default: a ``condition`` annotation of
            the block, if any).

        Returns
        -------
        Recording

        Raises
        ------
        ValueError
            If segments hold different units, or trains of one segment differ
            in ``t_start``/``t_stop``.
        ann2neo.UnitError
            If trains mix samples and physical time.
        """
        block = None
        if isinstance(data, neo.Block):
            block, segments = data, list(data.segments)
        elif isinstance(data, neo.Segment):
            segments = [data]
        else:
            seg = neo.Segment()
            seg.spiketrains.extend(list(data))
            segments = [seg]
        if not segments or not any(s.spiketrains for s in segments):
            raise ValueError("no spike trains to build a recording from")
        keys, names = _unit_keys(block, segments)
        first = segments[0].spiketrains[0]
        unit = sample if is_sample_unit(first) else _time_unit(first.units)
        times, starts, stops = [], [], []
        for k, seg in enumerate(segments):
            by_key = dict(zip(keys[k], seg.spiketrains, strict=True))
            trains = [by_key[key] for key in keys[0]]
            for st in trains:
                if is_sample_unit(st) != (unit is sample):
                    raise UnitError(f"segment {k}: spike trains mix samples and physical time")
            t0 = {float(_in_unit(st.t_start, unit, "t_start")) for st in trains}
            t1 = {float(_in_unit(st.t_stop, unit, "t_stop")) for st in trains}
            if len(t0) != 1 or len(t1) != 1:
                raise ValueError(f"segment {k} ({seg.name!r}): its spike trains differ in t_start/t_stop; "
                                 "one trial has one extent")
            starts.append(t0.pop())
            stops.append(t1.pop())
            times.append([np.asarray(st.rescale(unit).magnitude if unit is not sample else st.magnitude,
                                     dtype=np.float64) for st in trains])
        trial_table = _shared_annotations([s.annotations for s in segments])
        unit_table = pd.DataFrame({"name": names})
        extra = _shared_annotations([st.annotations for st in segments[0].spiketrains], skip=("unit", "name", "trial"))
        for col in extra:
            order = dict(zip(keys[0], range(len(keys[0])), strict=True))
            unit_table[col] = [extra[col].iloc[order[key]] for key in keys[0]]
        ann = dict(block.annotations) if block is not None else {}
        if condition is None and isinstance(ann.get("condition"), str) and ann["condition"] in trial_table:
            condition = ann["condition"]
        return cls(time_unit=unit, t_start=np.array(starts), t_stop=np.array(stops), spike_times=times,
                   units=unit_table, trials=trial_table, condition=condition, annotations=ann)

    # -- shape and time base -------------------------------------------------------------------------------------
    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return len(self.t_start)

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.units)

    @property
    def n_bins(self):
        """Bins per trial (None for spike-time storage)."""
        return None if self._binned is None else self._binned.shape[2]

    @property
    def is_binned(self) -> bool:
        """True for binned storage."""
        return self._binned is not None

    @property
    def time_base(self) -> str:
        """``"sample"`` (network layers) or ``"physical"`` (s, ms)."""
        return "sample" if self.time_unit is sample else "physical"

    @property
    def null(self) -> str:
        """``"bernoulli"`` (at most one spike per bin or sample) or ``"poisson"`` (spike times)."""
        if self.time_base == "sample" or (self.is_binned and self._binned.dtype == bool):
            return "bernoulli"
        return "poisson"

    @property
    def unit_name(self) -> str:
        """The time unit as text (``"sample"``, ``"s"``, ``"ms"``)."""
        return "sample" if self.time_unit is sample else self.time_unit.dimensionality.string

    @property
    def duration(self) -> np.ndarray:
        """Length of each trial, ``t_stop - t_start`` (float64, ``time_unit``)."""
        return self.t_stop - self.t_start

    def conditions(self, column=None) -> np.ndarray:
        """The condition of each trial (column ``column``, default :attr:`condition`)."""
        column = column or self.condition
        if column is None:
            raise ValueError("this recording has no condition; pass a column of its trials table "
                             f"({list(self.trials.columns)}) or build it with labels=")
        if column not in self.trials:
            raise ValueError(f"{column!r} is not a column of the trials table ({list(self.trials.columns)})")
        return self.trials[column].to_numpy()

    def _unit_index(self, unit) -> int:
        if isinstance(unit, str):
            hits = np.flatnonzero(self.units["name"].to_numpy() == unit)
            if not hits.size:
                raise KeyError(f"no unit named {unit!r}; units: {self.units['name'].tolist()[:8]}")
            return int(hits[0])
        return int(range(self.n_units)[unit])

    # -- data access ---------------------------------------------------------------------------------------------
    @property
    def binned(self) -> np.ndarray:
        """The binned spikes ``(n_trials, n_units, n_bins)``; only for binned recordings."""
        if self._binned is None:
            raise ValueError("this recording holds spike times; use counts(bin_width) to bin them")
        return self._binned

    def spike_times(self, trial, unit) -> np.ndarray:
        """Spike times of one unit in one trial (float64, ``time_unit``, recording clock).

        For binned storage a spike is placed at the start of its bin, once per
        spike counted.
        """
        u = self._unit_index(unit)
        k = int(range(self.n_trials)[trial])
        if self._times is not None:
            return self._times[k][u]
        row = np.asarray(self._binned[k, u])
        bins = np.repeat(np.arange(row.size), row.astype(np.int64)) if row.dtype != bool else np.flatnonzero(row)
        return self.t_start[k] + bins * self.bin_width

    def trial_counts(self) -> np.ndarray:
        """Spikes per trial and unit, int64 ``(n_trials, n_units)``, within each unit's observation intervals."""
        if self._times is None and "obs_intervals" not in self.units:
            return self._binned.sum(axis=2, dtype=np.int64)
        out = np.zeros((self.n_trials, self.n_units), dtype=np.int64)
        for k in range(self.n_trials):
            for u in range(self.n_units):
                t = self.spike_times(k, u)
                out[k, u] = np.count_nonzero(self._observed_mask(u, t)) if t.size else 0
        return out

    def _observed_mask(self, u, t):
        obs = self.units["obs_intervals"].iloc[u] if "obs_intervals" in self.units else None
        if obs is None:
            return np.ones(t.shape, bool)
        mask = np.zeros(t.shape, bool)
        for a, b in obs:
            mask |= (t >= a) & (t < b)
        return mask

    def observed_duration(self) -> np.ndarray:
        """Time each unit was observed in each trial, float64 ``(n_trials, n_units)`` in ``time_unit``.

        The trial's length, cut to the unit's ``obs_intervals`` when it has them.
        """
        out = np.repeat(self.duration[:, None], self.n_units, axis=1)
        if "obs_intervals" not in self.units:
            return out
        for u, obs in enumerate(self.units["obs_intervals"]):
            if obs is None:
                continue
            lo = np.maximum(self.t_start[:, None], obs[None, :, 0])
            hi = np.minimum(self.t_stop[:, None], obs[None, :, 1])
            out[:, u] = np.clip(hi - lo, 0, None).sum(axis=1)
        return out

    def counts(self, bin_width=None) -> np.ndarray:
        """Spike counts ``(n_trials, n_units, n_bins)`` in bins of ``bin_width`` from each trial's start.

        Parameters
        ----------
        bin_width : float or quantity, optional
            Default: the recording's own bins.  For binned storage it must be
            a whole multiple of them.  An incomplete last bin is dropped
            (Elephant's ``BinnedSpikeTrain`` rule, with its tolerance for
            floating-point edges).

        Returns
        -------
        ndarray of int64 (or bool for the recording's own boolean bins)
        """
        if bin_width is None:
            return self.binned
        width = _in_unit(bin_width, self.time_unit, "bin_width")
        if not width > 0:
            raise ValueError(f"bin_width must be positive, got {bin_width}")
        if not np.allclose(self.duration, self.duration[0]):
            raise ValueError("trials differ in length; bin them one at a time")
        n_bins = floor_bins(self.duration[0] / width) if self.n_trials else 0
        if self._binned is not None:
            factor = width / self.bin_width
            if abs(factor - round(factor)) > 1e-9:
                raise ValueError(f"bin_width {width} is not a whole multiple of the recording's bins "
                                 f"({self.bin_width} {self.unit_name})")
            f = int(round(factor))
            b = self._binned[:, :, :n_bins * f].astype(np.int64)
            return b.reshape(self.n_trials, self.n_units, n_bins, f).sum(axis=3)
        out = np.zeros((self.n_trials, self.n_units, n_bins), dtype=np.int64)
        for k in range(self.n_trials):
            for u in range(self.n_units):
                t = self._times[k][u]
                idx = floor_bins((t - self.t_start[k]) / width)
                idx = idx[(idx >= 0) & (idx < n_bins)]
                out[k, u] = np.bincount(idx, minlength=n_bins)
        return out

    # -- views ---------------------------------------------------------------------------------------------------
    def as_one_trial(self) -> Recording:
        """The trials in order as one long trial: the paper's view of a layer (samples as time steps).

        For binned recordings whose trials follow each other without gap
        (``t_start[k + 1] == t_stop[k]``, as input samples do) this is a view
        of the same memory.  Recorded trials aligned to a cue overlap on the
        recording's clock and are refused: their concatenation is not a
        recording anyone made.

        Returns
        -------
        Recording
            One trial spanning ``[t_start[0], t_stop[-1])``; per-trial
            conditions are dropped (kept in ``annotations["trials"]``).

        Raises
        ------
        ValueError
            If the trials are not contiguous.
        """
        if self.n_trials <= 1:
            return self
        if not np.allclose(self.t_start[1:], self.t_stop[:-1], rtol=0, atol=1e-9 * max(1.0, abs(self.t_stop[-1]))):
            raise ValueError("the trials are not contiguous on the recording's clock (each trial must start where "
                             "the previous one stopped), so they are not one long spike train")
        ann = dict(self.annotations, trials=self.trials)
        if self._binned is not None:
            b = self._binned.transpose(1, 0, 2).reshape(self.n_units, -1)[None]
            return Recording(time_unit=self.time_unit, t_start=self.t_start[:1], t_stop=self.t_stop[-1:], binned=b,
                             bin_width=self.bin_width, units=self.units, annotations=ann)
        times = [[np.concatenate([self._times[k][u] for k in range(self.n_trials)]) for u in range(self.n_units)]]
        return Recording(time_unit=self.time_unit, t_start=self.t_start[:1], t_stop=self.t_stop[-1:],
                         spike_times=times, units=self.units, annotations=ann)

    def spike_matrix(self):
        """The (n_samples, n_units) :class:`ann2neo.SpikeMatrix` of a layer recorded as one-bin trials (no copy)."""
        from .binarize import SpikeMatrix

        if self._binned is None or self.n_bins != 1 or self._binned.dtype != bool:
            raise ValueError("only a recording of one-bin boolean trials (a network layer) is a spike matrix; "
                             "use as_one_trial().binned for the long-train view")
        layer = self.annotations.get("layer")
        nodes = self.units["node"].to_numpy() if "node" in self.units else None
        return SpikeMatrix(self._binned[:, :, 0], layer=layer, threshold=_scalar(self.annotations.get("threshold")),
                           nodes=nodes, layer_shape=None if nodes is None else self.annotations.get("layer_shape"))

    def select(self, trials=None, units=None) -> Recording:
        """A Recording of some trials and/or units (boolean masks, indices, or unit names)."""
        k = np.arange(self.n_trials) if trials is None else np.arange(self.n_trials)[np.asarray(trials)]
        if units is None:
            u = np.arange(self.n_units)
        else:
            sel = [units] if isinstance(units, (str, int, np.integer)) else list(np.asarray(units).ravel())
            if sel and isinstance(sel[0], (bool, np.bool_)):
                u = np.flatnonzero(sel)
            else:
                u = np.array([self._unit_index(x) for x in sel], dtype=np.int64)
        common = dict(time_unit=self.time_unit, t_start=self.t_start[k], t_stop=self.t_stop[k],
                      units=self.units.iloc[u].reset_index(drop=True),
                      trials=self.trials.iloc[k].reset_index(drop=True), condition=self.condition,
                      annotations=self.annotations)
        if self._binned is not None:
            return Recording(binned=self._binned[k][:, u], bin_width=self.bin_width, **common)
        return Recording(spike_times=[[self._times[i][j] for j in u] for i in k], **common)

    def rescaled(self, time_unit) -> Recording:
        """The same recording in another physical time unit (e.g. ``pq.ms``); times are multiplied, not rounded.

        Parameters
        ----------
        time_unit : pq unit or str
            A physical time unit; recordings in samples cannot be rescaled.

        Returns
        -------
        Recording

        Raises
        ------
        ann2neo.UnitError
            For a recording in samples or a unit that is not a physical time.

        Examples
        --------
        >>> import quantities as pq
        >>> rec = Recording.from_spike_times([[0.5]], t_start=0 * pq.s, t_stop=1 * pq.s)
        >>> rec.rescaled(pq.ms).spike_times(0, 0), rec.rescaled(pq.ms).t_stop
        (array([500.]), array([1000.]))
        """
        unit = _time_unit(time_unit)
        if self.time_base == "sample" or unit is sample:
            raise UnitError("only recordings in physical time can be rescaled: a sample has no duration")
        f = float(pq.Quantity(1.0, self.time_unit).rescale(unit).magnitude)
        units = self.units.copy()
        if "obs_intervals" in units:
            units["obs_intervals"] = [None if o is None else o * f for o in units["obs_intervals"]]
        common = dict(time_unit=unit, t_start=self.t_start * f, t_stop=self.t_stop * f, units=units,
                      trials=self.trials, condition=self.condition, annotations=self.annotations)
        if self._binned is not None:
            return Recording(binned=self._binned, bin_width=self.bin_width * f, **common)
        return Recording(spike_times=[[t * f for t in trial] for trial in self._times], **common)

    def groupby(self, column=None):
        """Yield ``(condition value, Recording of its trials)`` in sorted order of the values."""
        values = self.conditions(column)
        for value in pd.unique(pd.Series(values).sort_values()):
            yield value, self.select(trials=values == value)

    # -- Neo -----------------------------------------------------------------------------------------------------
    def to_neo(self) -> neo.Block:
        """A :class:`neo.Block`: one Segment per trial (conditions as annotations), one Group per unit.

        Every spike train is named by its unit and annotated with ``unit`` (its
        name), ``trial`` and the unit's other columns.  Costs about 2 kB per
        trial and unit: see the module notes (use ``as_one_trial().to_neo()``
        for the long-train view of a network layer).

        Returns
        -------
        neo.Block
        """
        unit = self.time_unit
        block = neo.Block(name=self.annotations.get("name"), **_plain(self.annotations, drop=("name", "trials")))
        if self.condition is not None:
            block.annotate(condition=self.condition)
        groups = [neo.Group(name=name, allowed_types=[neo.SpikeTrain]) for name in self.units["name"]]
        extra_cols = [c for c in self.units.columns if c not in ("name", "obs_intervals")]
        for k in range(self.n_trials):
            row = {c: _scalar(self.trials[c].iloc[k]) for c in self.trials.columns}
            seg = neo.Segment(name=f"trial {k}", trial=k, **row)
            for u, name in enumerate(self.units["name"]):
                kwargs = {}
                if self._binned is not None:
                    kwargs["sampling_rate"] = (1.0 / (self.bin_width * unit)).rescale(1 / unit)
                st = neo.SpikeTrain(self.spike_times(k, u) * unit, t_start=self.t_start[k] * unit,
                                    t_stop=self.t_stop[k] * unit, name=name, **kwargs)
                st.annotate(unit=name, trial=k, **{c: _scalar(self.units[c].iloc[u]) for c in extra_cols})
                st.segment = seg
                seg.spiketrains.append(st)
                groups[u].add(st)
            seg.block = block
            block.segments.append(seg)
        for g in groups:
            g.block = block
        block.groups.extend(groups)
        return block

    # -- comparison and display ------------------------------------------------------------------------------------
    def equals(self, other) -> bool:
        """True if both hold the same spikes, extents, units, trials and condition (values exact, any dtype)."""
        if not isinstance(other, Recording) or self.time_base != other.time_base:
            return False
        if self.time_unit is not sample and self.time_unit != other.time_unit:
            return False
        if (self.n_trials, self.n_units) != (other.n_trials, other.n_units) or self.condition != other.condition:
            return False
        if not (np.array_equal(self.t_start, other.t_start) and np.array_equal(self.t_stop, other.t_stop)):
            return False
        try:
            pd.testing.assert_frame_equal(self.units.drop(columns=["obs_intervals"], errors="ignore"),
                                          other.units.drop(columns=["obs_intervals"], errors="ignore"),
                                          check_dtype=False)
        except AssertionError:
            return False
        for a, b in zip(self.units.get("obs_intervals", [None] * self.n_units),
                        other.units.get("obs_intervals", [None] * other.n_units), strict=True):
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
                return False
        try:
            pd.testing.assert_frame_equal(self.trials, other.trials, check_dtype=False)
        except AssertionError:
            return False
        return all(np.array_equal(self.spike_times(k, u), other.spike_times(k, u))
                   for k in range(self.n_trials) for u in range(self.n_units))

    def __repr__(self) -> str:
        def plural(n, word):
            return f"{n} {word}" + ("" if n == 1 else "s")

        shape = f"{plural(self.n_units, 'unit')} x {plural(self.n_trials, 'trial')}"
        if self.is_binned:
            width = f"{self.bin_width:g} {self.unit_name}"
            shape += f" x {plural(self.n_bins, 'bin')} of {width}"
        else:
            shape += f" in {self.unit_name}"
        text = f"Recording({shape}"
        if self.condition is not None:
            counts = pd.Series(self.conditions()).value_counts().sort_index()
            listed = ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:6])
            text += f"; condition {self.condition!r}: {listed}" + (", ..." if len(counts) > 6 else "")
        return text + ")"


def _scalar(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _plain(annotations, drop=()):
    return {k: _scalar(v) for k, v in annotations.items()
            if k not in drop and (np.isscalar(v) or isinstance(v, (str, bool, int, float)) or v is None)
            and v is not None}


def _shared_annotations(annotations: Sequence[dict], skip=("trial", "name")) -> pd.DataFrame:
    """Columns for the scalar annotation keys that every dict has."""
    if not annotations:
        return pd.DataFrame()
    keys = [k for k in annotations[0] if k not in skip and all(k in a for a in annotations)]
    cols = {}
    for k in keys:
        values = [_scalar(a[k]) for a in annotations]
        if all(isinstance(v, (str, bool, int, float, np.number)) for v in values):
            cols[k] = values
    return pd.DataFrame(cols, index=pd.RangeIndex(len(annotations)))


def _unit_keys(block, segments):
    """Per segment, a key per train identifying its unit across segments; and the unit names."""
    n = [len(s.spiketrains) for s in segments]
    if block is not None and block.groups:
        member = {}
        for gi, g in enumerate(block.groups):
            for st in g.spiketrains:
                member[id(st)] = gi
        if all(id(st) in member for s in segments for st in s.spiketrains):
            keys = [[member[id(st)] for st in s.spiketrains] for s in segments]
            if all(sorted(k) == sorted(keys[0]) for k in keys):
                names = [str(block.groups[g].name if block.groups[g].name is not None else f"unit {g}")
                         for g in keys[0]]
                return keys, names
    for attr in ("unit", "name"):
        keys = [[st.annotations.get("unit") if attr == "unit" else st.name for st in s.spiketrains] for s in segments]
        flat = keys[0]
        if None not in flat and len(set(map(str, flat))) == len(flat) \
                and all(sorted(map(str, k)) == sorted(map(str, flat)) for k in keys):
            keys = [[str(x) for x in k] for k in keys]
            return keys, list(keys[0])
    if len(set(n)) != 1:
        raise ValueError(f"segments hold different numbers of spike trains ({sorted(set(n))}) and no unit "
                         "annotation or Group says which train is which unit")
    keys = [list(range(n[0])) for _ in segments]
    first = segments[0].spiketrains
    names = [st.name if st.name and len({t.name for t in first}) == len(first) else f"unit {i}"
             for i, st in enumerate(first)]
    return keys, names
