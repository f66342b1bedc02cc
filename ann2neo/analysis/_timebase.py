r"""The one time-base adapter: every recording becomes one view, converted once at the boundary.

Every public statistic of :mod:`ann2neo.analysis` starts with :func:`as_view`
and then only talks to the view it returns; nothing downstream asks again
whether the input was in samples or in seconds (the idea of pynapple's
``core/time_index.py``: convert units once, at the boundary).

Two implementations stand behind one interface:

* :class:`MatrixView` — **sample time.**  A boolean spike matrix
  ``(n_samples, n_units)``: a matrix, a :class:`~ann2neo.SpikeMatrix`, spike
  trains in :data:`ann2neo.sample`, a Segment of them, a network layer's
  :class:`~ann2neo.Recording` (one-bin trials, seen as the paper's long train),
  or a ``dask``/Zarr array too large for memory.  Its sums come from the
  compiled kernels (:mod:`ann2neo.analysis._kernels`) or, chunk by chunk, from
  Dask (:mod:`ann2neo.analysis.chunked`): the measured speed of the project.
  Rates in spikes/sample, windows in samples, null ``"bernoulli"`` (at most
  one spike per sample).
* :class:`EventView` — **physical time.**  Spike times in seconds, held per
  unit as a list of *segments*: stretches ``[t0, t1)`` during which the unit
  was observed without a break — one per trial, cut to the unit's
  ``obs_intervals``.  Windows never straddle two segments, and ISIs never
  span two (so a trial's last spike and the next trial's first spike form no
  interval).  Rates in Hz (spikes over the observed time), windows in
  seconds, null ``"poisson"``.

The interface: ``time_base`` ("sample"/"physical"), ``time_unit``
(:data:`ann2neo.sample` or ``pq.s``), ``rate_unit`` ("1/sample"/"Hz"),
``null`` ("bernoulli"/"poisson"), ``names`` (unit names), ``n_units``,
:meth:`check_window` (the one validation of a window or bin size),
``extent()`` (observed time per unit), ``n_spikes()``, ``window_counts(w)``
(per unit, in time order), ``isis()``, ``statistics(w, ddof)`` (the per-unit
rate, Fano factor, CV, LV and counts), ``null_references(stats, w, ddof)``
(the exact finite-sample null of each) and ``notes(stats, w)``.

Validation of spike times happens here, once: NaN or infinite times are a
``ValueError`` naming the train; unsorted times are sorted with a
``UserWarning`` (as Elephant warns), so the CV is not computed from negative
intervals.
"""
from __future__ import annotations

import warnings

import neo
import numpy as np
import quantities as pq
from neo.core.spiketrainlist import SpikeTrainList

from ..core.conversion import as_spike_matrix
from ..core.recording import Recording, floor_bins
from ..core.units import UnitError, as_samples, as_time, is_sample_unit, sample
from ..core.validation import check_integer
from . import nullmodel
from ._kernels import node_sums

__all__ = ["as_view", "MatrixView", "EventView", "is_chunked", "spike_trains_of"]


def is_chunked(spikes) -> bool:
    """True for a recording held out of core: a ``dask.array.Array`` or a Zarr array.

    Such inputs are analysed chunk by chunk (:mod:`ann2neo.analysis.chunked`),
    never loaded whole.  A ``np.load(..., mmap_mode="r")`` memmap is an
    ndarray and goes through the in-memory path, paged in by the OS.

    Examples
    --------
    >>> import numpy as np
    >>> is_chunked(np.zeros((3, 2), bool))
    False
    """
    module = type(spikes).__module__
    return module.startswith("dask.") or (module.startswith("zarr.") and hasattr(spikes, "chunks"))


def spike_trains_of(data):
    """The spike trains of a SpikeTrain, a list of them or a Segment; None for anything else."""
    if isinstance(data, neo.Segment):
        return list(data.spiketrains)
    if isinstance(data, neo.SpikeTrain):
        return [data]
    if isinstance(data, (list, tuple, SpikeTrainList)) and len(data) \
            and all(isinstance(st, neo.SpikeTrain) for st in data):
        return list(data)
    return None


def as_view(data, *, name: str = "spikes", client=None):
    """The one dispatch on the time base: any recording as a :class:`MatrixView` or an :class:`EventView`.

    Parameters
    ----------
    data : spike matrix, SpikeMatrix, neo.SpikeTrain(s), neo.Segment, neo.Block, Recording, dask or Zarr array
        Spike trains in samples, matrices and network-layer Recordings give a
        :class:`MatrixView`; trains, Segments, Blocks and Recordings in
        physical time give an :class:`EventView`.  A view is returned as is.
    name : str, default "spikes"
        Argument name for error messages.
    client : dask.distributed.Client, optional
        Cluster for a chunked array.

    Returns
    -------
    MatrixView or EventView

    Raises
    ------
    TypeError
        For objects that hold no recording.
    ValueError
        For malformed matrices or spike times (NaN, Inf).
    ann2neo.UnitError
        For trains mixing samples and physical time.

    Examples
    --------
    >>> import numpy as np, neo, quantities as pq
    >>> as_view(np.eye(4, 2, dtype=bool)).null
    'bernoulli'
    >>> v = as_view(neo.SpikeTrain([0.1, 0.5] * pq.s, t_stop=1 * pq.s))
    >>> v.null, v.rate_unit, v.extent().tolist()
    ('poisson', 'Hz', [1.0])
    """
    if isinstance(data, (MatrixView, EventView)):
        return data
    if isinstance(data, neo.Block):
        data = Recording.from_neo(data)
    if isinstance(data, Recording):
        return _recording_view(data)
    if is_chunked(data):
        return MatrixView(data, chunked=True, client=client)
    trains = spike_trains_of(data)
    if trains:
        in_samples = [is_sample_unit(st) for st in trains]
        if any(in_samples) and not all(in_samples):
            raise UnitError("spike trains mix sample-index time (ann2neo.sample) and physical time (s, ms); a "
                            "sample has no duration, so analyse ANN and recorded trains in separate calls "
                            "(ann2neo.compare puts them side by side)")
        if not all(in_samples):
            return EventView.from_trains(trains)
        names = [st.name for st in trains]
        matrix = as_spike_matrix(data, name)
        return MatrixView(matrix, names=names if all(names) and len(set(names)) == len(names) else None)
    return MatrixView(as_spike_matrix(data, name))


def _recording_view(rec: Recording):
    if rec.time_base == "physical":
        return EventView.from_recording(rec)
    if "obs_intervals" in rec.units and any(v is not None for v in rec.units["obs_intervals"]):
        raise ValueError("obs_intervals of a recording in samples are not supported: select the observed "
                         "samples (Recording.select) instead")
    if not rec.is_binned or rec.bin_width != 1:
        raise ValueError("a recording in samples is analysed as a spike matrix: it needs bins of one sample "
                         f"(got {'spike times' if not rec.is_binned else f'bins of {rec.bin_width} samples'})")
    if rec.n_bins == 1 and rec.binned.dtype == bool:
        matrix = rec.spike_matrix()
    else:
        one = rec.as_one_trial()
        matrix = as_spike_matrix(np.ascontiguousarray(one.binned[0].T))
    return MatrixView(matrix, names=rec.units["name"].tolist())


class MatrixView:
    """Sample time: a boolean spike matrix ``(n_samples, n_units)``, in memory or chunked.

    Parameters
    ----------
    matrix : SpikeMatrix, or a dask/Zarr array when ``chunked``
    names : list of str, optional
        Unit names (default ``None``: units are numbered nodes).
    chunked : bool, default False
    client : dask.distributed.Client, optional

    Examples
    --------
    >>> import numpy as np
    >>> v = MatrixView(as_spike_matrix(np.eye(4, 2, dtype=bool)))
    >>> v.window_counts(2).tolist()
    [[1, 1], [0, 0]]
    """

    kind = "matrix"
    time_base = "sample"
    time_unit = sample
    time_label = "sample"
    rate_unit = "1/sample"
    null = "bernoulli"

    def __init__(self, matrix, *, names=None, chunked=False, client=None):
        self.chunked = chunked
        self.client = client
        if chunked:
            from .chunked import as_dask_array

            self._array = as_dask_array(matrix)
        else:
            self._array = matrix
        self.n_samples, self.n_units = (int(s) for s in self._array.shape)
        self.names = names

    @property
    def matrix(self):
        """The boolean spike matrix in memory (a chunked array is read whole)."""
        if self.chunked:
            return as_spike_matrix(np.asarray(self._array))
        return self._array

    def extent(self) -> np.ndarray:
        """Observed length of each unit, in samples (float64, ``(n_units,)``)."""
        return np.full(self.n_units, float(self.n_samples))

    def n_spikes(self) -> np.ndarray:
        """Spikes of each unit (int64)."""
        if self.chunked:
            return self.statistics(self.n_samples)["n_spikes"]
        return np.count_nonzero(self._array, axis=0).astype(np.int64)

    def check_window(self, window, name: str = "window") -> int:
        """A window or bin length as a whole number of samples, within the recording.

        Raises
        ------
        ann2neo.UnitError
            If given in ms, s or any unit but :data:`ann2neo.sample`.
        ValueError
            If not a positive whole number, or longer than the recording.
        """
        value = as_samples(window, name)
        if value != int(value) or value < 1:
            raise ValueError(f"{name} must be a positive whole number of samples, got {value}")
        value = int(value)
        if value > self.n_samples:
            raise ValueError(f"{name} of {value} samples is longer than the recording "
                             f"({self.n_samples} samples): no complete window to count spikes in")
        return value

    def window_counts(self, window) -> np.ndarray:
        """Spike counts in consecutive windows of ``window`` samples, int64 ``(n_windows, n_units)``."""
        matrix = self.matrix
        n_win = matrix.shape[0] // window
        return matrix[: n_win * window].reshape(n_win, window, -1).sum(axis=1, dtype=np.int64)

    def window_series(self, window) -> list:
        """The window counts of each unit, one int64 array per unit."""
        return list(self.window_counts(window).T)

    def isis(self) -> list:
        """Inter-spike intervals of each unit, in samples (float64 arrays)."""
        from ..core.conversion import spike_times_by_node

        return [np.diff(t).astype(np.float64) for t in spike_times_by_node(self.matrix)]

    def statistics(self, window, ddof=0) -> dict:
        """Per-unit rate, Fano factor, CV, LV and counts from one pass of the compiled kernels."""
        if self.chunked:
            from .chunked import node_sums_chunked

            sums = node_sums_chunked(self._array, window, client=self.client)
        else:
            sums = node_sums(self._array, window)
        return _from_sums(sums, self.n_samples, ddof)

    def null_references(self, stats, window, ddof=0):
        """The exact finite-N Bernoulli null (:mod:`ann2neo.analysis.nullmodel`): E[F], E[CV²], E[LV]."""
        k, k_w, span = stats["n_spikes"], stats["n_spikes_windowed"], stats["isi_span"]
        n_win = int(stats["n_windows"][0]) if np.ndim(stats["n_windows"]) else int(stats["n_windows"])
        ff_null = nullmodel.expected_fano_factor(k_w, n_win, window, ddof=ddof) if n_win >= 2 \
            else np.full(k.shape, np.nan)
        return ff_null, nullmodel.expected_cv_isi_squared(k, span, ddof=ddof), nullmodel.expected_lv(k,
                                                                                                     self.n_samples)

    def notes(self, stats, window) -> np.ndarray:
        """Per-unit reasons why a statistic or its null ratio is undefined ("" when all are defined)."""
        k, k_w, n_win = stats["n_spikes"], stats["n_spikes_windowed"], stats["n_windows"]
        span = stats["isi_span"]
        rules = [
            (k == 0, "silent: Fano factor, CV, LV undefined"),
            ((k > 0) & (k_w == 0) & (n_win >= 2), "no spike in the complete windows: Fano factor undefined"),
            ((k > 0) & (n_win < 2), "one window: Fano factor undefined"),
            ((k_w == n_win * window) & (n_win >= 2),
             "always on in the windows: constant counts, dispersion and Fano tests undefined"),
            ((k > 0) & (k < 3), "fewer than 3 spikes: CV, LV undefined"),
            ((k >= 3) & (span == k - 1), "all ISIs 1: cv_dispersion undefined"),
            (k == self.n_samples, "always on: lv_dispersion undefined"),
        ]
        return _join_notes(rules, k.shape)


def _join_notes(rules, shape):
    notes = np.full(shape, "", dtype=object)
    for mask, reason in rules:
        notes[mask] = [f"{old}; {reason}" if old else reason for old in notes[mask]]
    return notes


def _from_sums(sums: dict, n_samples: int, ddof: int = 0) -> dict:
    """Per-node statistics from the kernel's exact integer sums."""
    ddof = check_integer(ddof, "ddof", min_value=0, max_value=1)
    count = sums["count"]
    n_isi = np.maximum(count - 1, 0)
    n_win = sums["n_windows"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = count / n_samples
        # F = var/mean of window counts = (N*S2 - S1^2) / (N*S1); all terms are
        # exact integers below 2**53, so the ratio is correctly rounded.  One
        # window has no variance to measure: NaN, not Elephant's 0.0.
        s1, s2 = sums["win_sum"], sums["win_sq_sum"]
        ff = np.where((s1 > 0) & (n_win >= 2), (n_win * s2 - s1 * s1) / ((n_win - ddof) * s1), np.nan)
        # CV = std/mean of ISIs = sqrt(k*Q - S^2) / S for k ISIs; k*Q can exceed
        # 2**53, so the difference is formed in exact Python integers.
        k = n_isi.astype(np.int64).astype(object)
        num = k * sums["isi_sq_sum"].astype(np.int64).astype(object) \
            - (sums["isi_sum"].astype(np.int64).astype(object)) ** 2
        cv = np.where(n_isi >= 2, np.sqrt(num.astype(np.float64) * n_isi / (n_isi - ddof)) / sums["isi_sum"],
                      np.nan)
        lv_ = np.where(n_isi >= 2, 3.0 * sums["lv_sum"] / (n_isi - 1), np.nan)
    n = count.shape[0]
    return {"firing_rate": rate, "fano_factor": ff, "cv_isi": cv, "lv": lv_,
            "n_spikes": count.astype(np.int64), "n_windows": np.full(n, int(n_win), dtype=np.int64),
            "n_spikes_windowed": s1.astype(np.int64), "isi_span": sums["isi_sum"].astype(np.int64),
            "duration": np.full(n, float(n_samples))}


class EventView:
    """Physical time: per unit, spike times (s) in segments ``[t0, t1)`` observed without a break.

    Build it with :meth:`from_trains` or :meth:`from_recording` (or
    :func:`as_view`).  A segment is one trial of one unit, cut to the unit's
    observation intervals; windows and ISIs stay inside segments.

    Parameters
    ----------
    segments : list (n_units) of lists of (times, t0, t1)
        Spike times (float64, seconds, sorted) and the segment's extent.
    names : list of str, optional

    Examples
    --------
    >>> import neo, quantities as pq
    >>> v = EventView.from_trains([neo.SpikeTrain([0.1, 0.3, 0.9] * pq.s, t_stop=1 * pq.s)])
    >>> v.window_series(0.5)[0].tolist(), [i.round(3).tolist() for i in v.isis()]
    ([2, 1], [[0.2, 0.6]])
    """

    kind = "events"
    time_base = "physical"
    time_unit = pq.s
    time_label = "s"
    rate_unit = "Hz"
    null = "poisson"
    n_samples = None

    def __init__(self, segments, *, names=None):
        self.segments = segments
        self.n_units = len(segments)
        self.names = names

    @classmethod
    def from_trains(cls, trains):
        """One segment per train, ``[t_start, t_stop)``, converted to seconds once."""
        segments = [[_train_seconds(st, i)] for i, st in enumerate(trains)]
        names = [st.name for st in trains]
        ok = all(names) and len(set(names)) == len(names)
        return cls(segments, names=[str(n) for n in names] if ok else None)

    @classmethod
    def from_recording(cls, rec: Recording):
        """One segment per trial and unit, cut to the unit's ``obs_intervals``."""
        factor = float(pq.Quantity(1.0, rec.time_unit).rescale(pq.s).magnitude)
        obs = rec.units["obs_intervals"].tolist() if "obs_intervals" in rec.units else [None] * rec.n_units
        segments = []
        for u in range(rec.n_units):
            unit_segments = []
            for k in range(rec.n_trials):
                t, t0, t1 = rec.spike_times(k, u), rec.t_start[k], rec.t_stop[k]
                spans = [(t0, t1)] if obs[u] is None else \
                    [(max(t0, a), min(t1, b)) for a, b in obs[u] if min(t1, b) > max(t0, a)]
                for lo, hi in spans:
                    inside = t[(t >= lo) & (t < hi)] if obs[u] is not None else t
                    unit_segments.append((inside * factor, lo * factor, hi * factor))
            segments.append(unit_segments)
        return cls(segments, names=rec.units["name"].tolist())

    def extent(self) -> np.ndarray:
        """Observed time of each unit, in seconds (float64, ``(n_units,)``)."""
        return np.array([sum(t1 - t0 for _, t0, t1 in segs) for segs in self.segments], dtype=np.float64)

    def n_spikes(self) -> np.ndarray:
        """Spikes of each unit in its observed time (int64)."""
        return np.array([sum(t.size for t, _, _ in segs) for segs in self.segments], dtype=np.int64)

    def check_window(self, window, name: str = "window") -> float:
        """A window or bin size in seconds, checked against the segments.

        Raises
        ------
        TypeError
            For a plain number (seconds or milliseconds? ambiguous).
        ann2neo.UnitError
            For a window in samples, or a quantity that is not a time
            (:func:`ann2neo.core.units.as_time`, the one check of physical times).
        ValueError
            For a window that is not positive or finite, or longer than every segment.
        """
        if not isinstance(window, pq.Quantity):  # the exception rule: a number is the wrong kind of object
            raise TypeError(f"{name} must be a time quantity for spike trains in physical time (e.g. 50 * pq.ms, "
                            f"or 50ms on the command line), got {window!r}: a plain number is ambiguous")
        seconds = float(as_time(window, name, unit=pq.s).magnitude)  # UnitError for samples, ValueError for NaN
        if seconds <= 0:
            raise ValueError(f"{name} must be positive, got {window}")
        longest = max((t1 - t0 for segs in self.segments for _, t0, t1 in segs), default=0.0)
        if seconds > longest * (1 + 1e-9):
            what = "spike train" if all(len(s) == 1 for s in self.segments) else "trial"
            raise ValueError(f"{name} of {window} is longer than every {what} ({longest:g} s): no complete window")
        return seconds

    def window_series(self, window) -> list:
        """Counts of each unit in consecutive windows of ``window`` seconds from each segment's start.

        Windows ``[t0 + i w, t0 + (i + 1) w)``; a segment's incomplete last
        window is dropped and spikes within 1e-8 of a window of the next edge
        count in the next window, as Elephant's ``BinnedSpikeTrain`` does.
        """
        out = []
        for segs in self.segments:
            parts = []
            for times, t0, t1 in segs:
                n = floor_bins((t1 - t0) / window)
                index = floor_bins((times - t0) / window)
                parts.append(np.bincount(index[(index >= 0) & (index < n)], minlength=n).astype(np.int64))
            out.append(np.concatenate(parts) if parts else np.zeros(0, np.int64))
        return out

    def window_counts(self, window) -> np.ndarray:
        """Window counts as one int64 matrix ``(n_windows, n_units)``; units must have as many windows."""
        series = self.window_series(window)
        lengths = {s.size for s in series}
        if len(lengths) > 1:
            raise ValueError(f"the units are observed for different lengths ({min(lengths)} to {max(lengths)} "
                             "windows), so their window counts do not form one matrix; select units of equal "
                             "extent (Recording.select), or read node_statistics(...)['n_windows']")
        return np.column_stack(series) if series else np.zeros((0, 0), np.int64)

    def isis(self) -> list:
        """Inter-spike intervals of each unit in seconds, within segments (float64 arrays)."""
        return [np.concatenate([np.diff(t) for t, _, _ in segs]) if segs else np.zeros(0) for segs in self.segments]

    def statistics(self, window, ddof=0) -> dict:
        """Per-unit rate (Hz), Fano factor, CV and LV (ISIs within segments), with Elephant's formulas."""
        ddof = check_integer(ddof, "ddof", min_value=0, max_value=1)
        n = self.n_units
        counts = self.window_series(window)
        ff = np.full(n, np.nan)
        cv, lv_ = np.full(n, np.nan), np.full(n, np.nan)
        n_isi = np.zeros(n, np.int64)
        n_pairs = np.zeros(n, np.int64)
        span = np.full(n, np.nan)
        sq_spans = np.full(n, np.nan)  # sum over segments of span**2 / (k_s + 1): the pooled CV null
        for j, segs in enumerate(self.segments):
            c = counts[j]
            if c.size >= 2 and c.sum() > 0:
                ff[j] = float(c.var(ddof=ddof) / c.mean())
            intervals = [np.diff(t) for t, _, _ in segs if t.size >= 2]
            n_isi[j] = sum(i.size for i in intervals)
            if n_isi[j] >= 2:
                pooled = np.concatenate(intervals)
                with np.errstate(invalid="ignore", divide="ignore"):
                    cv[j] = pooled.std(ddof=ddof) / pooled.mean()
                    terms = [((i[:-1] - i[1:]) / (i[:-1] + i[1:])) ** 2 for i in intervals if i.size >= 2]
                    n_pairs[j] = sum(t.size for t in terms)
                    if n_pairs[j]:
                        lv_[j] = 3.0 * np.mean(np.concatenate(terms))
                span[j] = pooled.sum()
                sq_spans[j] = sum(i.sum() ** 2 / (i.size + 1) for i in intervals)
        extent = self.extent()
        k = self.n_spikes()
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = k / extent
        return {"firing_rate": rate, "fano_factor": ff, "cv_isi": cv, "lv": lv_, "n_spikes": k,
                "n_windows": np.array([c.size for c in counts], dtype=np.int64),
                "n_spikes_windowed": np.array([c.sum() for c in counts], dtype=np.int64),
                "isi_span": span, "duration": extent, "n_isi": n_isi, "n_pairs": n_pairs, "sq_spans": sq_spans,
                "n_segments": np.array([len(s) for s in self.segments], dtype=np.int64)}

    def null_references(self, stats, window, ddof=0):
        """The exact finite-sample Poisson null (:mod:`ann2neo.analysis.nullmodel`): E[F], E[CV²], E[LV]."""
        return (nullmodel.poisson_expected_fano_factor(stats["n_windows"], stats["n_spikes_windowed"], ddof=ddof),
                nullmodel.poisson_expected_cv_isi_squared(stats["n_isi"], stats["isi_span"], stats["sq_spans"],
                                                          ddof=ddof),
                nullmodel.poisson_expected_lv(stats["n_pairs"]))

    def notes(self, stats, window) -> np.ndarray:
        """Per-unit reasons why a statistic is undefined ("" when all are defined)."""
        k, n_w, k_w = stats["n_spikes"], stats["n_windows"], stats["n_spikes_windowed"]
        n_isi = stats["n_isi"]
        zero_isi = np.array([bool(np.any([np.any(np.diff(t) == 0) for t, _, _ in segs])) for segs in self.segments])
        rules = [
            (n_w < 2, "fewer than 2 windows: Fano factor undefined"),
            ((n_w >= 2) & (k_w == 0), "no spike in the windows: Fano factor undefined"),
            (n_isi < 2, "fewer than 2 ISIs within a trial: CV and LV undefined"),
            ((n_isi >= 2) & np.isnan(stats["cv_isi"]), "all ISIs zero (identical spike times): CV and LV undefined"),
            ((n_isi >= 2) & ~np.isnan(stats["cv_isi"]) & np.isnan(stats["lv"]) & zero_isi,
             "two consecutive zero ISIs (identical spike times): LV undefined"),
            ((n_isi >= 2) & (stats["n_pairs"] == 0), "no two consecutive ISIs within a trial: LV undefined"),
        ]
        return _join_notes(rules, k.shape)


def _train_seconds(st, i):
    """(times, t_start, t_stop) of one physical-time train in float64 seconds, validated once."""
    dims = st.dimensionality
    if is_sample_unit(st) or st.simplified.dimensionality != pq.s.dimensionality:
        raise UnitError(f"spike train {i} is in {dims.string}, not a physical time unit")
    factor = float(pq.Quantity(1.0, st.units).rescale(pq.s).magnitude)
    times = np.asarray(st.magnitude, dtype=np.float64).ravel() * factor
    t0 = float(st.t_start.rescale(pq.s).magnitude)
    t1 = float(st.t_stop.rescale(pq.s).magnitude)
    if not (np.isfinite(t0) and np.isfinite(t1)):
        raise ValueError(f"spike train {i} ({st.name!r}): t_start and t_stop must be finite, got {t0}, {t1} s")
    if not np.isfinite(times).all():
        bad = np.flatnonzero(~np.isfinite(times))
        raise ValueError(f"spike train {i} ({st.name!r}): {bad.size} spike time(s) are NaN or infinite (first at "
                         f"position {bad[0]}); a missing time is not a spike: drop them (times[np.isfinite(times)])")
    if times.size > 1 and (np.diff(times) < 0).any():
        warnings.warn(f"spike train {i} ({st.name!r}) is not sorted in time; its spikes were sorted before "
                      "computing ISIs (as Elephant warns)", UserWarning, stacklevel=4)
        times = np.sort(times)
    return times, t0, t1
