"""Out-of-core analysis: a synthetic recording through the chunked Zarr store and the Dask path.

Writes an i.i.d. binary recording (default 1,000,000 samples x 4,096 nodes at rate 0.4, 512 MB
packed, 4.1 GB as a bool matrix) to an ann2neo spike store, then computes every node's firing
rate, Fano factor, CV and LV from the store chunk by chunk (``read_store(lazy=True)`` +
``analysis.chunked.node_sums_chunked``) in a child process, and reports wall time and the
child's peak RSS relative to the bool matrix it never holds.  The in-memory path is timed on the
first ``--check-rows`` samples, where both paths must agree exactly.

Run:  python benchmarks/bench_chunked.py [--samples 1000000 --nodes 4096]
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_store(path, n_samples, n_nodes, rate, chunk, seed=0):
    from ann2neo.io.store import _StoreWriter

    rng = np.random.default_rng(seed)
    writer = _StoreWriter(path, ["synthetic"], [(n_nodes,)], threshold=0.0, model_name="synthetic i.i.d.",
                          n_samples=n_samples, chunk_samples=chunk)
    for start in range(0, n_samples, chunk):
        rows = min(chunk, n_samples - start)
        writer.write(start, [np.packbits(rng.random((rows, n_nodes), dtype=np.float32) < rate, axis=1)])
    return writer.close(n_samples)


def analyze_store(path, window, rows=None):
    """Child process: chunked sums of the store (or its first rows), timed; prints JSON."""
    import dask

    from ann2neo.analysis.chunked import node_sums_chunked
    from ann2neo.io.store import read_store

    dask.config.set(scheduler="threads")
    node_sums_chunked(np.zeros((16, 8), bool), 4)  # load the compiled kernels before timing
    lazy = read_store(path, lazy=True)["synthetic"]
    if rows:
        lazy = lazy[:rows]
    t = time.perf_counter()
    sums = node_sums_chunked(lazy, window)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_rss": peak,
                      "count": sums["count"][:8].tolist(), "win_sq_sum": sums["win_sq_sum"][:8].tolist()}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1_000_000)
    p.add_argument("--nodes", type=int, default=4096)
    p.add_argument("--rate", type=float, default=0.4)
    p.add_argument("--chunk", type=int, default=8192, help="samples per store chunk")
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--check-rows", type=int, default=50_000)
    p.add_argument("--dir", default=None, help="where to put the store (default: a temporary folder)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        analyze_store(args.child, args.window, args.rows)
        return

    from ann2neo.analysis._kernels import node_sums
    from ann2neo.io.store import read_store

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "synthetic.zarr"
        t = time.perf_counter()
        write_store(path, args.samples, args.nodes, args.rate, args.chunk)
        t_write = time.perf_counter() - t
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        bool_bytes = args.samples * args.nodes

        def child(rows=0):
            out = subprocess.run([sys.executable, __file__, "--child", str(path), "--window", str(args.window),
                                  "--rows", str(rows)], capture_output=True, text=True, check=True)
            return json.loads(out.stdout.strip().splitlines()[-1])

        full = child()
        sub = child(args.check_rows)
        head = read_store(path)["synthetic"][:args.check_rows]
        node_sums(head[:16], 4)  # load the compiled kernel before timing
        t = time.perf_counter()
        ref = node_sums(head, args.window)
        t_mem = time.perf_counter() - t
        assert sub["count"] == ref["count"][:8].tolist() and sub["win_sq_sum"] == ref["win_sq_sum"][:8].tolist()

    gb = 1e9
    print(f"synthetic recording {args.samples:,} x {args.nodes:,} at rate {args.rate} "
          f"(bool matrix {bool_bytes / gb:.2f} GB; store {size / gb:.2f} GB packed + compressed)")
    print(f"write store (generate + pack + compress)   {t_write:8.1f} s")
    print(f"chunked analysis, whole recording          {full['seconds']:8.1f} s   "
          f"{bool_bytes / full['seconds'] / gb:5.2f} GB/s of bool matrix   peak RSS {full['peak_rss'] / gb:.2f} GB "
          f"= {full['peak_rss'] / bool_bytes:.2f}x the bool matrix")
    print(f"first {args.check_rows:,} rows: chunked {sub['seconds']:.2f} s vs in memory {t_mem:.2f} s "
          f"(ratio {sub['seconds'] / t_mem:.2f}); sums identical")


if __name__ == "__main__":
    main()
