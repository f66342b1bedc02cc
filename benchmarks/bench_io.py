"""Benchmark: ``write_nwb`` and reading back at MNIST scale (60,000 samples × 512 and × 4,096 nodes, λ = 0.4).

Each case runs in a fresh subprocess so that its peak resident memory (``ru_maxrss``) is its own.
Reported per case: write time, read time (``read_nwb_matrices``, and ``read_nwb`` into Neo objects for
the 512-node case), peak RSS above the interpreter's baseline relative to the boolean matrix (1 byte per
sample × node) and to the packed spike data (1 bit), and the file size.  Every case asserts that the
matrix read back equals the matrix written.

Usage::

    python benchmarks/bench_io.py            # both sizes
    python benchmarks/bench_io.py 512        # one size
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CASE = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import ann2neo
from ann2neo.io.nwb import write_nwb, read_nwb_matrices, read_nwb
import pynwb  # noqa: F401  (imported before the baseline, like any user of write_nwb)

n_samples, n_nodes, path, neo_read = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

base = rss_mb()
rng = np.random.default_rng(0)
m = np.empty((n_samples, n_nodes), dtype=bool)
for i in range(0, n_samples, 2000):  # in row blocks: no full float64 temporary
    m[i:i + 2000] = rng.random((min(2000, n_samples - i), n_nodes)) < 0.4
spikes = ann2neo.SpikeMatrix(m, layer="hidden", threshold=0.0)
t0, c0 = time.perf_counter(), time.process_time()
write_nwb(path, {"train": spikes}, overwrite=True)
t_write, cpu_write = time.perf_counter() - t0, time.process_time() - c0
peak_write = rss_mb()
t0 = time.perf_counter()
back = read_nwb_matrices(path)["train"]
t_read = time.perf_counter() - t0
assert np.array_equal(back, m)
del back
out = {"n_samples": n_samples, "n_nodes": n_nodes, "n_spikes": int(np.count_nonzero(m)), "write_s": t_write,
       "write_cpu_s": cpu_write,
       "read_matrix_s": t_read, "matrix_mb": m.nbytes / 2**20, "peak_write_mb": peak_write - base,
       "file_mb": os.path.getsize(path) / 2**20}
if neo_read:
    t0 = time.perf_counter()
    block = read_nwb(path)
    out["read_neo_s"] = time.perf_counter() - t0
    assert np.array_equal(ann2neo.from_spiketrains(block.segments[0].spiketrains), m)
print(json.dumps(out))
"""


def run(n_nodes: int, n_samples: int = 60_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, "-c", _CASE, str(ROOT), str(n_samples), str(n_nodes),
                              str(Path(tmp) / "bench.nwb"), "1" if n_nodes <= 512 else "0"],
                             capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    sizes = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or [512, 4096]
    for n in sizes:
        r = run(n)
        packed = r["matrix_mb"] / 8
        print(f"60,000 x {n:5d} ({r['n_spikes'] / 1e6:.1f} M spikes): write {r['write_s']:6.1f} s "
              f"({r['write_cpu_s']:.1f} s CPU), "
              f"read (matrix) {r['read_matrix_s']:5.1f} s"
              + (f", read (Neo) {r['read_neo_s']:5.1f} s" if "read_neo_s" in r else "")
              + f"; peak RSS during write {r['peak_write_mb']:7.0f} MB = {r['peak_write_mb'] / r['matrix_mb']:.2f}x "
                f"the bool matrix = {r['peak_write_mb'] / packed:.1f}x the packed bits; file {r['file_mb']:.0f} MB")


if __name__ == "__main__":
    main()
