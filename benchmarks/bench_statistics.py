"""Speed of ann2neo's statistics and conversion against Elephant, measured in one run.

Run: python benchmarks/bench_statistics.py [--samples 60000 --nodes 512 --rate 0.4]
Prints seconds (best of --repeat) and ratios; asserts the numbers are identical to Elephant's.
"""
import argparse
import warnings

import elephant.statistics as es
import numpy as np
from _timing import best, interleaved  # benchmarks/ is on sys.path when run as a script
from elephant.conversion import BinnedSpikeTrain

import ann2neo
from ann2neo import sample


def elephant_best_route(matrix, window):
    trains = ann2neo.to_spiketrains(matrix)
    counts = BinnedSpikeTrain(trains, bin_size=window * sample, t_start=0 * sample,
                              t_stop=matrix.shape[0] * sample).to_array()
    ff = counts.var(axis=1) / counts.mean(axis=1)
    cv = np.array([es.cv(es.isi(st)) for st in trains])
    lv = np.array([es.lv(es.isi(st)) for st in trains])
    rate = np.array([float(es.mean_firing_rate(st)) for st in trains])
    return rate, ff, cv, lv


def naive_fano(trains, n_samples, window):
    edges = np.arange(0, n_samples - window + 1, window)
    return [es.fanofactor([st.time_slice(a * sample, (a + window) * sample) for a in edges]) for st in trains]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--nodes", type=int, default=512)
    ap.add_argument("--rate", type=float, default=0.4)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--naive-nodes", type=int, default=8, help="nodes timed on the naive route (scaled up)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    matrix = np.random.default_rng(0).random((args.samples, args.nodes)) < args.rate
    ann2neo.node_statistics(matrix[:200], 100)  # compile the kernel outside the timing

    table = ann2neo.node_statistics(matrix, args.window)
    floor_runs = interleaved({"ours": lambda: ann2neo.node_statistics(matrix, args.window),
                              "floor": lambda: np.count_nonzero(matrix)}, max(10, args.repeat))
    (t_ours, t_ours_med), (t_floor, t_floor_med) = floor_runs["ours"], floor_runs["floor"]
    t_eleph, (rate, ff, cv, lv) = best(lambda: elephant_best_route(matrix, args.window), args.repeat)
    for got, ref in ((table.firing_rate, rate), (table.fano_factor, ff), (table.cv_isi, cv), (table.lv, lv)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, equal_nan=True)
    trains = ann2neo.to_spiketrains(matrix[:, : args.naive_nodes])
    t_naive_sub, _ = best(lambda: naive_fano(trains, args.samples, args.window), 1)
    t_naive = t_naive_sub * args.nodes / args.naive_nodes
    t_conv, _ = best(lambda: ann2neo.to_spiketrains(matrix), args.repeat)
    t_nonzero, _ = best(lambda: np.nonzero(matrix), args.repeat)

    print(f"matrix {args.samples} x {args.nodes}, rate {args.rate}, window {args.window}; best of {args.repeat} "
          f"(ours and the floor: {max(10, args.repeat)} interleaved rounds)")
    print(f"ann2neo FR+FF+CV+LV             {t_ours:9.4f} s")
    print(f"Elephant best route             {t_eleph:9.4f} s   ours is {t_eleph / t_ours:6.1f}x faster (target >= 20x)")
    print(f"Elephant naive time_slice route {t_naive:9.4f} s   ours is {t_naive / t_ours:6.0f}x faster "
          f"(timed on {args.naive_nodes} nodes, scaled)")
    print(f"memory floor (np.count_nonzero) {t_floor:9.4f} s   ours is {t_ours / t_floor:6.1f}x the floor (best times; "
          f"medians {t_ours_med:.4f} / {t_floor_med:.4f} s = {t_ours_med / t_floor_med:.1f}x; target <= 10x)")
    print(f"to_spiketrains                  {t_conv:9.4f} s   {t_conv / t_nonzero:6.2f}x one np.nonzero pass "
          f"({t_nonzero:.4f} s; target <= 2x)")
    print("numbers identical to Elephant's (rtol 1e-12): yes")


if __name__ == "__main__":
    main()
