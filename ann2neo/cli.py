"""Command-line interface: ``ann2neo reproduce``."""
from __future__ import annotations

import argparse
import logging
import os
import sys


def _parser():
    from . import __version__
    from .experiments.conditions import CONDITIONS

    parser = argparse.ArgumentParser(prog="ann2neo", description="Look at artificial networks the way "
                                     "neuroscientists look at neurons (arXiv:2308.00858).")
    parser.add_argument("--version", action="version", version=f"ann2neo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="train Random/Generalizing/memorizing MLPs, record the last hidden "
                         "layer, and compare MFR, CV FR, MF, CV FF (paper Table 2)")
    rep.add_argument("--out", default="ann2neo-results", help="output folder (default: %(default)s)")
    rep.add_argument("--dataset", default="digits", choices=["digits", "mnist", "fashion_mnist", "cifar10"],
                     help="digits is bundled with scikit-learn (no network); the others are downloaded "
                          "by keras.datasets (default: %(default)s)")
    rep.add_argument("--data", metavar="FILE.npz", help="local arrays x_train, y_train, x_test, y_test")
    rep.add_argument("--width", type=int, default=128, help="hidden-layer width (default: %(default)s)")
    rep.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    rep.add_argument("--epochs", type=int, default=60, help="Generalizing epochs (default: %(default)s)")
    rep.add_argument("--mem-epochs", type=int, default=None,
                     help="memorization epochs on shuffled labels (default: 4 x --epochs)")
    rep.add_argument("--conditions", nargs="+", default=["Random", "Generalizing", "MemRetrainLast"],
                     choices=CONDITIONS, metavar="CONDITION", help=f"from {', '.join(CONDITIONS)}")
    rep.add_argument("--window", type=int, default=100, help="Fano-factor window in samples (default: %(default)s)")
    rep.add_argument("--no-diagnostics", action="store_true",
                     help="skip the Fano factor, Ljung-Box and ADF tests and the KS comparisons")
    rep.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def _print_table(table):
    shown = table[["condition", "split", "accuracy", "mfr", "cv_fr", "mf", "cv_ff", "n_silent"]].copy()
    shown["accuracy"] = (shown["accuracy"] * 100).round(2)
    print("\nPer condition and split (accuracy in %, CV FR and CV FF in %; cf. arXiv:2308.00858 Tables 1, 2, 5)")
    print(shown.rename(columns={"accuracy": "accuracy %", "mfr": "MFR", "cv_fr": "CV FR %", "mf": "MF",
                                "cv_ff": "CV FF %", "n_silent": "silent"}).to_string(index=False, float_format="%.3f"))
    if "ljung_box_combined_p" not in table:
        return
    tests = table[["condition", "split", "ff_fraction_below_poisson", "ff_fraction_significant_bernoulli",
                   "ljung_box_combined_p", "ljung_box_fraction_significant", "adf_fraction_nonstationary"]]
    print("\nDiagnostics (fractions of nodes; FF test of Eden & Kramer against Poisson and against the Bernoulli "
          "null 1 - λ;\nLjung-Box p combined over nodes by Pearson's method (nodes with few spikes push it to 1) "
          "and fraction of nodes significant;\nADF on windowed counts, NaN: too few windows)")
    print(tests.rename(columns={"ff_fraction_below_poisson": "FF<1 vs Poisson",
                                "ff_fraction_significant_bernoulli": "FF sig. vs Bernoulli",
                                "ljung_box_combined_p": "Ljung-Box p", "ljung_box_fraction_significant": "LB sig.",
                                "adf_fraction_nonstationary": "ADF non-stat."})
          .to_string(index=False, float_format="%.3g"))
    comparisons = table.attrs.get("comparisons")
    if comparisons is not None:
        print("\nKolmogorov-Smirnov tests of firing-rate distributions, Bonferroni over "
              f"{len(comparisons)} comparisons (paper Table 2)")
        print(comparisons[["a", "b", "statistic", "p_bonferroni", "different"]]
              .rename(columns={"statistic": "D", "p_bonferroni": "p (Bonferroni)"})
              .to_string(index=False, float_format="%.3g"))


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from .experiments.data import DatasetUnavailableError
    from .experiments.reproduce import reproduce

    try:
        table = reproduce(args.out, dataset=args.dataset, data=args.data, width=args.width, seed=args.seed,
                          epochs=args.epochs, mem_epochs=args.mem_epochs, conditions=args.conditions,
                          window=args.window, diagnostics=not args.no_diagnostics, progress=not args.no_progress)
    except DatasetUnavailableError as err:
        print(f"ann2neo: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"ann2neo: {err}", file=sys.stderr)
        return 2
    _print_table(table)
    extra = ", comparisons.csv" if "comparisons" in table.attrs else ""
    print(f"\nWrote {args.out}/results.csv, results.json{extra}, reproduce.log and one NWB file per condition.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
