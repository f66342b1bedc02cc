"""False-alarm and detection rates of FiringRateMonitor's rule (detect_change) on the memorization study's runs.

Run: python benchmarks/eval_monitor_rule.py /work/memo-grid/trajectories.csv [--out rule_eval.csv]
     [--by architecture dataset] [--seeds-from 3]
     python benchmarks/eval_monitor_rule.py /work/memo-grid        (a study folder: its trajectories.csv, or,
                                                                   while the study runs, its finished runs/*.csv)

For every indicator and layer of ``trajectories.csv`` (written by ``ann2neo memorization``), the rule with its
default parameters (ann2neo.analysis.changepoint.RULE_DEFAULTS, fixed before this evaluation) runs on every run's
per-epoch series -- exactly what ``FiringRateMonitor(every="epoch", labels=..., indicator=...)`` decides online.
Printed: per-run false-alarm rate on clean runs (noise 0) with its 95 % Clopper-Pearson interval and n, the detection
rate on noisy runs that memorize (gap > the study's threshold) and the median delays (epochs) after the first
memorizing epoch and after the validation baseline (first epoch with val_gap > 0.2).  Runs still being written
(fewer epochs than the others of their architecture and dataset) are left out and counted in ``note``.
``--seeds-from S`` keeps only runs with seed >= S (a held-out split when parameters were chosen on other seeds).
"""
import argparse
import sys
from pathlib import Path

import pandas as pd

from ann2neo.analysis.changepoint import RULE_DEFAULTS, evaluate_rule


def _count(k, n, rate, low, high):
    if pd.isna(n) or n == 0:
        return "-"
    return f"{int(k)}/{int(n)} ({rate:.0%}; {low:.0%}-{high:.0%})"


def compact(table):
    """The evaluation as a short table: counts with rates and 95 % intervals, median delays in epochs."""
    rows = []
    for _, r in table.iterrows():
        rows.append({**{c: r[c] for c in table.columns[:table.columns.get_loc("indicator")]},
                     "indicator": r["indicator"], "layer": r["layer"],
                     "false alarms / clean runs (95 % CI)": _count(r["false_alarms"], r["n_clean"],
                                                                    r["false_alarm_rate"], r["fa_ci_low"],
                                                                    r["fa_ci_high"]),
                     "val. baseline false alarms": "-" if pd.isna(r["n_clean"]) else
                     f"{int(r['baseline_false_alarms'])}/{int(r['n_clean'])}",
                     "detected / memorizing runs (95 % CI)": _count(r["detected"], r["n_memorizing"],
                                                                     r["detection_rate"], r["det_ci_low"],
                                                                     r["det_ci_high"]),
                     "median delay vs memorizing (epochs)": r["median_delay"],
                     "median delay vs val. baseline (epochs)": r["median_delay_vs_baseline"],
                     "alarms on noisy runs never memorizing": r["alarm_not_memorizing"],
                     "val. baseline detected": "-" if pd.isna(r["n_memorizing"]) else
                     f"{int(r['baseline_detected'])}/{int(r['n_memorizing'])}",
                     "val. baseline median delay (epochs)": r["median_baseline_delay"]})
    return pd.DataFrame(rows)


def main(argv=None):
    """Parse the arguments, evaluate, print a Markdown table and optionally write a CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trajectories")
    parser.add_argument("--out", help="CSV file for the full table")
    parser.add_argument("--by", nargs="*", default=[], help="break down by these columns (e.g. architecture dataset)")
    parser.add_argument("--seeds-from", type=int, default=None, help="keep only runs with seed >= this")
    parser.add_argument("--compact", action="store_true", help="a short Markdown table (the README's)")
    args = parser.parse_args(argv)
    path = Path(args.trajectories)
    if path.is_dir() and not (path / "trajectories.csv").exists():
        files = sorted((path / "runs").glob("*.csv"))
        if not files:
            raise SystemExit(f"{path} holds neither trajectories.csv nor runs/*.csv")
        print(f"{path}/trajectories.csv not written yet: reading the {len(files)} finished runs/*.csv (partial)")
        frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    else:
        frame = pd.read_csv(path / "trajectories.csv" if path.is_dir() else path)
    if args.seeds_from is not None:
        frame = frame[frame["seed"] >= args.seeds_from]
    table = evaluate_rule(frame, by=args.by)
    print(f"rule: detect_change with {RULE_DEFAULTS}, direction='both'; {frame['run'].nunique()} runs in the file")
    if args.compact:
        print(compact(table).to_markdown(index=False))
    else:
        shown = table.copy()
        for col in ("false_alarm_rate", "fa_ci_low", "fa_ci_high", "detection_rate", "det_ci_low", "det_ci_high"):
            shown[col] = shown[col].round(3)
        print(shown.to_markdown(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
