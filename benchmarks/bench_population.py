"""Speed and peak memory of ann2neo's all-pairs statistics against Elephant, measured in one run.

Run: python benchmarks/bench_population.py [--samples 60000 --units 128 --max-lag 50 --corr-units 4096]

1. All-pairs cross-correlograms at +-max_lag, ``units`` x ``samples`` (binary, rate ``--rate``):
   ann2neo.cross_correlograms against Elephant's per-pair loop of
   cross_correlation_histogram(method="speed") over the units' BinnedSpikeTrains.
   Elephant is timed on ``--pairs`` pairs and extrapolated per pair to all
   n(n-1)/2 pairs (plus its binning of every unit, timed in full); the script
   says so in its output.  Equality is asserted on the timed pairs.
2. The correlation matrix at ``corr-units`` x ``samples``: ann2neo.correlations
   against elephant's correlation_coefficient including its binning
   (to_spiketrains -> BinnedSpikeTrain).  Equality asserted to 1e-12.  Elephant
   is skipped, with a message, when less memory is available than it needs.

Peak memory is the growth of the resident high-water mark during a second
call of each (numpy, numba, BLAS and FFT buffers alike; see ``measured``);
times are of the first call (--no-memory skips the second calls).
"""
import argparse
import gc
import time
import tracemalloc
import warnings

import numpy as np
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import correlation_coefficient, cross_correlation_histogram

import ann2neo
from ann2neo import sample

MEMORY = True


def _status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def measured(fn):
    """(seconds, peak bytes, result): one timed call, then a second call for its peak memory.

    Peak memory is the growth of the process's resident high-water mark
    (VmHWM, reset through /proc/self/clear_refs) over its resident size before
    the call: it counts numpy, numba, BLAS and FFT buffers alike.  Where the
    reset is not allowed, tracemalloc's peak (numpy and Python allocations only).
    """
    t = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t
    if not MEMORY:
        return seconds, float("nan"), result
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = _status_kb("VmRSS")
        fn()
        return seconds, (_status_kb("VmHWM") - base) * 1024, result
    except OSError:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return seconds, peak, result


def available_gb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1e6
    return float("nan")


def gb(n):
    return "not measured" if n != n else f"{n / 1e9:.2f} GB"


def bench_cch(args, rng):
    m = rng.random((args.samples, args.units), dtype=np.float32) < args.rate
    ann2neo.cross_correlograms(m[:1000, :4], args.max_lag)                       # warm-up
    t_ours, mem_ours, ours = measured(lambda: ann2neo.cross_correlograms(m, args.max_lag))

    def binning():
        trains = ann2neo.to_spiketrains(m)
        return [BinnedSpikeTrain(st, bin_size=1 * sample, t_start=0 * sample, t_stop=args.samples * sample)
                for st in trains]

    t_bin, mem_bin, binned = measured(binning)
    all_pairs = [(i, j) for i in range(args.units) for j in range(i + 1, args.units)]
    pick = rng.choice(len(all_pairs), size=min(args.pairs, len(all_pairs)), replace=False)
    pairs = [all_pairs[k] for k in pick]

    def loop():
        return [cross_correlation_histogram(binned[i], binned[j], window=[-args.max_lag, args.max_lag],
                                            method="speed")[0] for i, j in pairs]

    t_sub, mem_sub, cchs = measured(loop)
    for (i, j), cch in zip(pairs, cchs, strict=True):
        assert np.array_equal(ours.counts[i, j], cch.magnitude[:, 0]), (i, j)
    per_pair = t_sub / len(pairs)
    t_eleph = t_bin + per_pair * len(all_pairs)
    print(f"\n1. all-pairs cross-correlograms, {args.units} units x {args.samples} samples, rate {args.rate}, "
          f"+-{args.max_lag} lags ({len(all_pairs)} pairs)")
    print(f"   ann2neo.cross_correlograms      {t_ours:8.2f} s   peak {gb(mem_ours)}  "
          f"(all {args.units}**2 ordered pairs and autocorrelograms)")
    print(f"   Elephant per-pair loop (speed)  {t_eleph:8.2f} s   peak {gb(max(mem_bin, mem_sub))}  "
          f"= binning {t_bin:.2f} s + {per_pair * 1e3:.2f} ms/pair x {len(all_pairs)} pairs, "
          f"EXTRAPOLATED from {len(pairs)} timed pairs")
    if args.lagged:
        x = m.astype(np.float32)
        t0 = time.perf_counter()
        for k in range(args.max_lag + 1):
            x[: args.samples - k].T @ x[k:]
        t_lag = (time.perf_counter() - t0) * (2 * args.max_lag + 1) / (args.max_lag + 1)
        print(f"   one float32 product per lag     {t_lag:8.2f} s   (timed on the {args.max_lag + 1} lags >= 0, "
              "doubled for the negative ones)")
    print(f"   speed-up vs Elephant: {t_eleph / t_ours:.1f}x (target >= 30x); equal to Elephant on every timed pair")
    return t_eleph / t_ours


def bench_corr(args, rng):
    m = rng.random((args.samples, args.corr_units), dtype=np.float32) < args.rate
    ann2neo.correlations(m[:200, :8])                                                # warm-up (numba)
    t_ours, mem_ours, ours = measured(lambda: ann2neo.correlations(m).matrix)
    print(f"\n2. correlation matrix, {args.corr_units} units x {args.samples} samples, rate {args.rate}")
    print(f"   ann2neo.correlations (popcount Gram, exact) {t_ours:8.2f} s   peak {gb(mem_ours)}")
    need = 12 * m.size / 1e9 * 1.2   # float64 array + centred copy + sparse matrix + trains, with margin
    if args.skip_elephant_corr or available_gb() < need + 2:
        print(f"   Elephant correlation_coefficient: SKIPPED ({available_gb():.1f} GB available, it needs about "
              f"{need:.0f} GB)" if not args.skip_elephant_corr else "   Elephant: skipped (--skip-elephant-corr)")
        return None

    def elephant_binning():
        trains = ann2neo.to_spiketrains(m)
        return BinnedSpikeTrain(trains, bin_size=1 * sample, t_start=0 * sample, t_stop=args.samples * sample)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_bin, mem_bin, binned = measured(elephant_binning)
        t_cc, mem_cc, ref = measured(lambda: correlation_coefficient(binned))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12, equal_nan=True)
    t_eleph = t_bin + t_cc
    print(f"   Elephant correlation_coefficient           {t_eleph:8.2f} s   peak {gb(max(mem_bin, mem_cc))}  "
          f"= binning {t_bin:.2f} s (peak {gb(mem_bin)}) + correlation {t_cc:.2f} s (peak {gb(mem_cc)})")
    print(f"   max |difference| {np.nanmax(np.abs(ours - ref)):.2e}")
    print(f"   speed-up vs Elephant incl. binning: {t_eleph / t_ours:.1f}x (target >= 3x); "
          f"vs its correlation alone: {t_cc / t_ours:.1f}x")
    return t_eleph / t_ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--units", type=int, default=128)
    ap.add_argument("--corr-units", type=int, default=4096)
    ap.add_argument("--rate", type=float, default=0.4)
    ap.add_argument("--max-lag", type=int, default=50)
    ap.add_argument("--pairs", type=int, default=64, help="Elephant pairs timed (extrapolated to all)")
    ap.add_argument("--lagged", action="store_true", help="also time one float32 product per lag")
    ap.add_argument("--skip-cch", action="store_true")
    ap.add_argument("--skip-corr", action="store_true")
    ap.add_argument("--skip-elephant-corr", action="store_true")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = ap.parse_args()
    global MEMORY
    MEMORY = not args.no_memory
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    print(f"ann2neo {ann2neo.__version__}; {available_gb():.1f} GB available; one run")
    ratios = {}
    if not args.skip_cch:
        ratios["cch"] = bench_cch(args, rng)
    if not args.skip_corr:
        ratios["corr"] = bench_corr(args, rng)
    print("\nratios: " + ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items() if v is not None))


if __name__ == "__main__":
    main()
