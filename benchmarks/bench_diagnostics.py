"""Time of ``analyze(diagnostics=True)`` and of each diagnostic, and the batched ADF against statsmodels.

For each network size (default 60,000 samples x 512 and x 4,096 nodes, i.i.d. spikes at rate 0.4,
windows of 100 samples): the whole ``analyze(..., diagnostics=True)``, then each part of it alone
(node statistics, Fano factor tests against both nulls, Ljung-Box, ADF).  The ADF route of ann2neo
(batched QR, ``ann2neo.analysis._adf``) is compared with per-node statsmodels ``adfuller``
(the route of ann2neo <= 0.1), timed on ``--sm-nodes`` nodes (best of 2) and scaled to all nodes, with the default
BLAS threads and with one (on a loaded machine, BLAS threads oversubscribed by statsmodels' many small
least-squares fits slow it several-fold); the two must
agree on those nodes (statistic to 1e-10 relative, same lag order, p-values to 1e-9).

Run:  python benchmarks/bench_diagnostics.py [--samples 60000 --nodes 512 4096 --sm-nodes 32]
"""
import argparse
import platform
import time
import warnings

import numpy as np
import scipy
import statsmodels
from _timing import best  # benchmarks/ is on sys.path when run as a script
from threadpoolctl import threadpool_limits

import ann2neo
from ann2neo.analysis._adf import adfuller_batch
from ann2neo.analysis.diagnostics import adf_test, fano_factor_test, ljung_box
from ann2neo.analysis.statistics import window_counts


def statsmodels_adf(series):
    """Per-node statsmodels adfuller(autolag="AIC"): (statistic, p-value, used lag) arrays."""
    from statsmodels.tsa.stattools import adfuller

    out = []
    for j in range(series.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(adfuller(series[:, j], autolag="AIC")[:3])
    return tuple(np.array(v) for v in zip(*out, strict=True))


def one_size(n_samples, n_nodes, rate, window, sm_nodes, repeat, seed=0):
    matrix = np.random.default_rng(seed).random((n_samples, n_nodes), dtype=np.float32) < rate
    t_all, result = best(lambda: ann2neo.analyze(matrix, window, diagnostics=True, seed=0), 1)
    nodes = result.nodes
    n_windows = n_samples // window
    t_nodes, _ = best(lambda: ann2neo.node_statistics(matrix, window), repeat)

    def fano():
        for null in ("poisson", "bernoulli"):
            fano_factor_test(nodes["fano_factor"].to_numpy(), n_windows, null=null, rate=nodes["firing_rate"],
                             window=window, n_spikes=nodes["n_spikes_windowed"], seed=0)

    t_fano, _ = best(fano, repeat)
    t_lb, _ = best(lambda: ljung_box(matrix, lags=10), repeat)
    t_adf, (adf, _) = best(lambda: adf_test(matrix, window=window), repeat)
    np.testing.assert_array_equal(adf["adf_p"].to_numpy(), result.nodes["adf_p"].to_numpy())

    series = window_counts(matrix, window).astype(float)
    sub = series[:, :sm_nodes]
    t_sm_sub, (sm_stat, sm_p, sm_lag) = best(lambda: statsmodels_adf(sub), 2)
    t_sm = t_sm_sub * n_nodes / sub.shape[1]
    with threadpool_limits(1):  # statsmodels' small least-squares fits on one BLAS thread (no oversubscription)
        t_sm1_sub, _ = best(lambda: statsmodels_adf(sub), 2)
    batch = adfuller_batch(series)
    np.testing.assert_array_equal(batch["usedlag"][:sm_nodes], sm_lag)
    np.testing.assert_allclose(batch["statistic"][:sm_nodes], sm_stat, rtol=1e-10)
    np.testing.assert_allclose(batch["pvalue"][:sm_nodes], sm_p, rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(batch["pvalue"], adf["adf_p"].to_numpy())

    print(f"\n{n_samples} x {n_nodes}, rate {rate}, window {window} ({n_windows} windows, ADF maxlag "
          f"{int(np.ceil(12 * (n_windows / 100) ** 0.25))}); best of {repeat} for the parts")
    print(f"analyze(diagnostics=True)        {t_all:9.3f} s")
    print(f"  node_statistics                {t_nodes:9.3f} s")
    print(f"  Fano factor tests (2 nulls)    {t_fano:9.3f} s")
    print(f"  Ljung-Box (10 lags)            {t_lb:9.3f} s")
    print(f"  ADF (batched QR)               {t_adf:9.3f} s   {1e3 * t_adf / n_nodes:.3f} ms per node; "
          f"{int(batch['batched'].sum())}/{n_nodes} nodes on the batched route")
    print(f"  ADF per-node statsmodels       {t_sm:9.3f} s   (timed on {sub.shape[1]} nodes, scaled: "
          f"{1e3 * t_sm_sub / sub.shape[1]:.1f} ms per node)")
    print(f"  ADF per node: ours {1e3 * t_adf / n_nodes:.3f} ms; statsmodels {statsmodels.__version__} adfuller "
          f"{1e3 * t_sm_sub / sub.shape[1]:.2f} ms (default BLAS threads), {1e3 * t_sm1_sub / sub.shape[1]:.2f} ms "
          f"(one BLAS thread): {t_sm_sub / sub.shape[1] / (t_adf / n_nodes):.0f}x and "
          f"{t_sm1_sub / sub.shape[1] / (t_adf / n_nodes):.0f}x ours")
    print(f"  ADF ratio statsmodels / ours   {t_sm / t_adf:9.0f} x;  whole diagnostic run with per-node "
          f"statsmodels ADF would be ~{t_all - t_adf + t_sm:.0f} s")
    print(f"  agreement on the {sub.shape[1]} nodes: statistic rtol 1e-10, same lags, p rtol 1e-9: yes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--nodes", type=int, nargs="+", default=[512, 4096])
    ap.add_argument("--rate", type=float, default=0.4)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--sm-nodes", type=int, default=32, help="nodes timed on per-node statsmodels (scaled up)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    ann2neo.node_statistics(np.zeros((200, 2), bool), 100)  # compile the kernel outside the timing
    print(f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"statsmodels {statsmodels.__version__}, ann2neo {ann2neo.__version__}")
    t0 = time.perf_counter()
    for n_nodes in args.nodes:
        one_size(args.samples, n_nodes, args.rate, args.window, min(args.sm_nodes, n_nodes), args.repeat)
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
