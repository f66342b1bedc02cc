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


def interleaved_wall_cpu(fns, rounds):
    """Like :func:`interleaved`, with CPU time too: {name: (min wall, median wall, min CPU)} in seconds.

    CPU time is the whole process's (``time.process_time``: every thread, so numba's worker
    threads count), which compares work done by a multi-threaded route with a single-threaded one.
    """
    wall = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            c, t = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return {name: (min(wall[name]), float(np.median(wall[name])), min(cpu[name])) for name in fns}
