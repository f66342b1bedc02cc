"""Former physical-time corridor, kept as a thin alias module for existing imports.

ann2neo 0.2 had one set of statistics for spike matrices (samples) and a
second one here for spike trains in s/ms.  Both now go through the one
time-base adapter (:mod:`ann2neo.analysis._timebase`), and every function of
:mod:`ann2neo.analysis.statistics` and :func:`ann2neo.analysis.diagnostics.diagnose`
accepts either time base with one return type.  The names below point at those
functions; the Poisson null's derivation moved to :mod:`ann2neo.analysis.nullmodel`.

Examples
--------
>>> import neo, quantities as pq
>>> from ann2neo.analysis import physical
>>> physical.firing_rate(neo.SpikeTrain([0.1, 0.5, 0.9] * pq.s, t_stop=2 * pq.s)).tolist()
[1.5]
"""
from __future__ import annotations

from ._timebase import EventView, as_view, spike_trains_of
from .diagnostics import diagnose
from .statistics import cv_isi, fano_factor, firing_rate, isi, lv, node_statistics, window_counts

__all__ = ["is_physical", "physical_trains", "check_time_window", "firing_rate", "fano_factor", "cv_isi", "lv",
           "isi", "window_counts", "node_statistics", "diagnose"]


def is_physical(data) -> bool:
    """True if ``data`` is a recording in physical time (s, ms), False for samples.

    Raises
    ------
    ann2neo.UnitError
        If sample-unit and physical-unit trains are mixed in one call.
    """
    return as_view(data).time_base == "physical"


def physical_trains(data) -> list:
    """The spike trains of ``data`` (a SpikeTrain, a list of them, or a Segment) in physical time.

    Raises
    ------
    TypeError
        If ``data`` holds no spike trains.
    ann2neo.UnitError
        If they are not in physical time.
    """
    trains = spike_trains_of(data)
    if not trains:
        raise TypeError(f"expected neo.SpikeTrain objects in physical time, got {type(data).__name__}")
    EventView.from_trains(trains)  # validates units and times
    return trains


def check_time_window(window, trains):
    """A window for physical-time trains, checked by the adapter; returned in seconds as a quantity."""
    import quantities as pq

    return as_view(physical_trains(trains)).check_window(window) * pq.s
