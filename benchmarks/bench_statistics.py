"""Speed of ann2neo's statistics and conversion against Elephant, measured in one run.

Run: python benchmarks/bench_statistics.py [--samples 60000 --nodes 512 --rate 0.4]

The same four per-node statistics (firing rate, Fano factor in windows of ``--window`` samples,
CV and LV of the ISIs) by three routes, timed alternately (``--repeat`` rounds; best wall time,
median wall time and best CPU time of each):

* ``ann2neo``: ``ann2neo.node_statistics(matrix, window)`` (numba kernels on all numba threads);
* ``Elephant, trains given``: Elephant on spike trains that already exist (``to_spiketrains`` not
  charged), counts from ``BinnedSpikeTrain(..., tolerance=None)`` (no rounding check; equal counts),
  then ``cv``/``lv``/``isi``/``mean_firing_rate`` per train (one thread);
* ``Elephant, old route``: the route the README quoted before 0.2: ``to_spiketrains`` charged to
  Elephant and ``BinnedSpikeTrain`` at its default tolerance.

Wall-time ratios set our threads against Elephant's one; CPU-time ratios (``time.process_time``,
all threads of the process) compare the work done.  Also: the naive ``time_slice`` Fano route
(timed on ``--naive-nodes`` nodes, scaled), the memory floor (one ``np.count_nonzero`` pass) and
``to_spiketrains`` against one ``np.nonzero`` pass.  Asserts that every route's numbers equal ours
(rtol 1e-12) and that both tolerances give equal counts.
"""
import argparse
import platform
import warnings

import elephant
import elephant.statistics as es
import numba
import numpy as np
from _timing import best, interleaved, interleaved_wall_cpu  # benchmarks/ is on sys.path when run as a script
from elephant.conversion import BinnedSpikeTrain

import ann2neo
from ann2neo import sample


def elephant_on_trains(trains, n_samples, window, tolerance=None):
    """FR, FF, CV, LV with Elephant from existing trains; ``tolerance`` is passed to ``BinnedSpikeTrain``."""
    counts = BinnedSpikeTrain(trains, bin_size=window * sample, t_start=0 * sample, t_stop=n_samples * sample,
                              tolerance=tolerance).to_array()
    ff = counts.var(axis=1) / counts.mean(axis=1)
    cv = np.array([es.cv(es.isi(st)) for st in trains])
    lv = np.array([es.lv(es.isi(st)) for st in trains])
    rate = np.array([float(es.mean_firing_rate(st)) for st in trains])
    return rate, ff, cv, lv


def elephant_old_route(matrix, window):
    """The route quoted before: conversion charged, default ``BinnedSpikeTrain`` tolerance (1e-8)."""
    trains = ann2neo.to_spiketrains(matrix)
    return elephant_on_trains(trains, matrix.shape[0], window, tolerance=1e-8)


def naive_fano(trains, n_samples, window):
    edges = np.arange(0, n_samples - window + 1, window)
    return [es.fanofactor([st.time_slice(a * sample, (a + window) * sample) for a in edges]) for st in trains]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--nodes", type=int, default=512)
    ap.add_argument("--rate", type=float, default=0.4)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds of the three routes")
    ap.add_argument("--naive-nodes", type=int, default=8, help="nodes timed on the naive route (scaled up)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    n, w = args.samples, args.window
    matrix = np.random.default_rng(0).random((n, args.nodes)) < args.rate
    ann2neo.node_statistics(matrix[:200], 100)  # compile the kernel outside the timing
    trains = ann2neo.to_spiketrains(matrix)  # "trains given": built once, outside the timing

    table = ann2neo.node_statistics(matrix, w)
    for route in (elephant_on_trains(trains, n, w), elephant_old_route(matrix, w)):
        for got, ref in zip((table.firing_rate, table.fano_factor, table.cv_isi, table.lv), route, strict=True):
            np.testing.assert_allclose(got, ref, rtol=1e-12, equal_nan=True)
    bins = {tol: BinnedSpikeTrain(trains, bin_size=w * sample, t_start=0 * sample, t_stop=n * sample,
                                  tolerance=tol).to_array() for tol in (None, 1e-8)}
    np.testing.assert_array_equal(bins[None], bins[1e-8])

    runs = interleaved_wall_cpu({"ours": lambda: ann2neo.node_statistics(matrix, w),
                                 "given": lambda: elephant_on_trains(trains, n, w),
                                 "old": lambda: elephant_old_route(matrix, w)}, args.repeat)
    floor_runs = interleaved({"ours": lambda: ann2neo.node_statistics(matrix, w),
                              "floor": lambda: np.count_nonzero(matrix)}, max(10, args.repeat))
    (t_ours_f, t_ours_med), (t_floor, t_floor_med) = floor_runs["ours"], floor_runs["floor"]
    naive_trains = trains[: args.naive_nodes]
    t_naive_sub, _ = best(lambda: naive_fano(naive_trains, n, w), 1)
    t_naive = t_naive_sub * args.nodes / len(naive_trains)
    t_bin = {tol: best(lambda tol=tol: BinnedSpikeTrain(trains, bin_size=w * sample, t_start=0 * sample,
                                                        t_stop=n * sample, tolerance=tol).to_array(), args.repeat)[0]
             for tol in (1e-8, None)}
    t_conv, _ = best(lambda: ann2neo.to_spiketrains(matrix), args.repeat)
    t_nonzero, _ = best(lambda: np.nonzero(matrix), args.repeat)

    (w_ours, m_ours, c_ours), (w_giv, m_giv, c_giv), (w_old, m_old, c_old) = runs["ours"], runs["given"], runs["old"]
    print(f"matrix {n} x {args.nodes}, rate {args.rate}, window {w}; Python {platform.python_version()}, "
          f"numpy {np.__version__}, elephant {elephant.__version__}, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads)")
    print(f"{args.repeat} interleaved rounds of the three routes: best wall / median wall / best CPU time")
    print(f"ann2neo node_statistics             {w_ours:8.4f} / {m_ours:8.4f} / {c_ours:8.4f} s")
    print(f"Elephant, trains given, tol=None    {w_giv:8.4f} / {m_giv:8.4f} / {c_giv:8.4f} s   ours is "
          f"{w_giv / w_ours:5.1f}x faster in wall time, {c_giv / c_ours:5.1f}x in CPU time")
    print(f"Elephant, conversion + tol 1e-8     {w_old:8.4f} / {m_old:8.4f} / {c_old:8.4f} s   ours is "
          f"{w_old / w_ours:5.1f}x faster in wall time, {c_old / c_ours:5.1f}x in CPU time")
    print(f"BinnedSpikeTrain alone: default tolerance {t_bin[1e-8]:.4f} s, tolerance=None {t_bin[None]:.4f} s "
          f"({t_bin[1e-8] / t_bin[None]:.1f}x faster; equal counts)")
    print(f"Elephant naive time_slice route     {t_naive:8.4f} s   ours is {t_naive / w_ours:6.0f}x faster "
          f"(timed on {len(naive_trains)} nodes, scaled; trains given)")
    print(f"memory floor (np.count_nonzero)     {t_floor:8.4f} s   ours is {t_ours_f / t_floor:6.1f}x the floor (best "
          f"of {max(10, args.repeat)} interleaved; medians {t_ours_med:.4f} / {t_floor_med:.4f} s = "
          f"{t_ours_med / t_floor_med:.1f}x)")
    print(f"to_spiketrains                      {t_conv:8.4f} s   {t_conv / t_nonzero:6.2f}x one np.nonzero pass "
          f"({t_nonzero:.4f} s)")
    print("numbers identical to Elephant's on both routes (rtol 1e-12): yes")


if __name__ == "__main__":
    main()
