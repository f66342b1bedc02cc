"""Timing helpers shared by the benchmark scripts."""
import time

import numpy as np


def best(fn, repeat):
    """Best wall-clock time of ``repeat`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def interleaved(fns, rounds):
    """Time several functions alternately, ``rounds`` times each: (min, median) seconds per function.

    Alternating keeps slow drifts of a shared machine (other jobs, clock
    changes) out of the ratios between them.
    """
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: (min(v), float(np.median(v))) for name, v in times.items()}
