"""Command-line interface: ``ann2neo reproduce``, ``grid``, ``memorization``, ``analyze``, ``compare``, ``check-run``.

The ``reproduce`` options are generated from the fields of
:class:`ann2neo.experiments.config.ReproduceConfig`, the single source of the
defaults and choices.  Every argument is validated (by building the
configuration and checking ``--out``) before any data is loaded or any
network trained.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import logging
import sys
import warnings

_DISK_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EACCES, errno.EPERM, getattr(errno, "EDQUOT", errno.ENOSPC)}
_BOOL_OFF = {"diagnostics": "--no-diagnostics", "figures": "--no-figures"}


def _parser():
    from . import __version__
    from .experiments.grid import GRID_AXES

    parser = argparse.ArgumentParser(prog="ann2neo", description="Look at artificial networks the way "
                                     "neuroscientists look at neurons (arXiv:2308.00858).")
    parser.add_argument("--version", action="version", version=f"ann2neo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's C++ start-up lines, its "
                        "retracing warnings and ann2neo's debug log (quiet by default)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="as ann2neo --verbose")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", parents=[common],
                         help="train Random/Generalizing/memorizing networks, record the last hidden "
                         "layer, and compare MFR, CV FR, MF, CV FF (paper Tables 1, 2, 5)")
    rep.add_argument("--out", default="ann2neo-results", help="output folder, new or empty (default: %(default)s)")
    rep.add_argument("--overwrite", action="store_true", help="replace the run in a non-empty --out")
    _add_config_options(rep)
    grid = sub.add_parser("grid", parents=[common],
                         help="run a grid of reproduce cells (architectures x widths x datasets x seeds); "
                          "resumes where a killed grid stopped")
    grid.add_argument("--config", metavar="GRID.toml", help="a [grid] table of axes; other keys are settings "
                      "(flags given on the command line win)")
    grid.add_argument("--out", default="ann2neo-grid", help="grid folder (default: %(default)s)")
    grid.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
    _add_config_options(grid, multi=GRID_AXES, suppress=True)
    memo = sub.add_parser("memorization", parents=[common],
                          help="train networks at label-noise fractions 0-1, follow the memorization indicators "
                          "of every hidden layer on training samples, and measure which detects memorization "
                          "(AUROC, lead/lag against a validation baseline); resumes where a killed study stopped")
    memo.add_argument("--config", metavar="FILE.toml", help="study settings (MemorizationConfig fields; a [grid] "
                      "table is merged; flags given on the command line win)")
    memo.add_argument("--out", default="ann2neo-memorization", help="study folder (default: %(default)s)")
    memo.add_argument("--overwrite", action="store_true", help="start over instead of resuming")
    _add_memorization_options(memo)
    check = sub.add_parser("check-run", parents=[common],
                         help="check that a run folder is complete (manifest and checksums)")
    check.add_argument("folder")
    ana = sub.add_parser("analyze", parents=[common],
                         help="statistics of every recording in a file (.npy, ann2neo NWB/NIX, .zarr, "
                         ".mat, any NWB or Neo file of real neurons): CSV, JSON, PNG")
    ana.add_argument("file")
    ana.add_argument("--out", default="ann2neo-analysis", help="output folder, new or empty (default: %(default)s)")
    ana.add_argument("--overwrite", action="store_true", help="replace the run in a non-empty --out")
    ana.add_argument("--window", default=None, help="Fano window: samples for ANN recordings (default 100), a "
                     "time such as 100ms for recorded neurons (default 100ms)")
    ana.add_argument("--variables", nargs="+", default=None, help="MATLAB variables holding the spikes")
    ana.add_argument("--bin-width", default=None, help="bin width of a trial x bin matrix, e.g. 1ms")
    _reader_options(ana)
    ana.add_argument("--no-diagnostics", dest="diagnostics", action="store_false",
                     help="skip the Fano factor, Ljung-Box and ADF tests")
    ana.add_argument("--no-figures", dest="figures", action="store_false", help="write no PNG figures")
    cmp_ = sub.add_parser("compare", parents=[common],
                         help="an ANN recording next to recorded neurons (rates, CV, LV, Fano factor "
                          "against the window, KS; tuning, selectivity, correlations, dimensionality): CSV, JSON, "
                          "PNG")
    cmp_.add_argument("ann", help="ANN recording: .npy, ann2neo NWB/NIX or .zarr")
    cmp_.add_argument("real", help="recorded neurons: .mat, NWB, or any file Neo reads")
    cmp_.add_argument("--sample-duration", required=True, help="how long one sample is taken to last, e.g. 1ms "
                      "(an explicit modelling choice: it sets the Hz scale of ANN rates)")
    cmp_.add_argument("--recording", default=None, help="which recording of the ANN file (segment or layer); "
                      "default: the only one, a store's default layer, or the last segment (e.g. the test split) "
                      "when all hold one layer; an error lists the layers otherwise")
    cmp_.add_argument("--window", type=int, default=100, help="ANN Fano window in samples (default: %(default)s)")
    cmp_.add_argument("--real-window", default="100ms", help="recorded Fano window (default: %(default)s)")
    cmp_.add_argument("--variables", nargs="+", default=None, help="MATLAB variables holding the spikes")
    cmp_.add_argument("--bin-width", default=None, help="bin width of a trial x bin matrix, e.g. 1ms")
    _reader_options(cmp_)
    cmp_.add_argument("--condition", default=None, help="the recording's condition column for the population part "
                      "(e.g. direction; default: the file's own condition, else its first trials column when its "
                      "values repeat over trials)")
    cmp_.add_argument("--ann-condition", default=None, help="the ANN recording's condition column (e.g. label in an "
                      "ann2neo NWB file), or the name given to --ann-labels")
    cmp_.add_argument("--ann-labels", default=None, help=".npy file of the class of each ANN sample (the ANN "
                      "side's conditions in the population part)")
    cmp_.add_argument("--out", default="ann2neo-comparison", help="output folder (default: %(default)s)")
    cmp_.add_argument("--overwrite", action="store_true", help="replace the run in a non-empty --out")
    return parser


def _reader_options(parser):
    """The options of :func:`ann2neo.read` for recordings of neurons (how the file's numbers become a Recording)."""
    parser.add_argument("--t-start", default=None, help="start of a recording in physical time, e.g. 0s "
                        "(negative: --t-start=-1s; default: as the file states it, else the reader's rule); "
                        "recorded in results.json")
    parser.add_argument("--t-stop", default=None, help="end of a recording in physical time, e.g. 177.761s "
                        "(default: as the file states it, else required: never the last spike); recorded in "
                        "results.json")
    parser.add_argument("--time-unit", default=None, choices=("s", "ms", "us", "min"),
                        help="unit of the numbers in a MATLAB file (spike times, the time vector t); default: "
                        "seconds, or inferred from t's step against --bin-width")
    parser.add_argument("--variables-as", default="units", choices=("units", "trials"),
                        help="several MATLAB spike-time variables are several units (default) or trials of one "
                        "neuron (e.g. SpikesLow/SpikesHigh: one neuron in two conditions)")


def _reader_times(args) -> dict:
    from .core.units import parse_time

    times = {flag: parse_time(getattr(args, flag)) if getattr(args, flag) is not None else None
             for flag in ("t_start", "t_stop")}
    return dict(times, time_unit=args.time_unit, variables_as=args.variables_as)


def _files_command(args, raw) -> int:
    """``ann2neo analyze`` and ``ann2neo compare``."""
    import quantities as pq

    from .core.units import UnitError
    from .experiments.files import analyze_file, compare_files, parse_duration
    from .io.nwb import FileFormatError

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        bin_width = parse_duration(args.bin_width) if args.bin_width else None
        if bin_width is not None and not isinstance(bin_width, pq.Quantity):
            raise ValueError("--bin-width must be a time, e.g. 1ms")
        if args.command == "analyze":
            table = analyze_file(args.file, args.out, window=args.window, diagnostics=args.diagnostics,
                                 overwrite=args.overwrite, variables=args.variables, bin_width=bin_width,
                                 figures=args.figures, argv=["ann2neo", *raw], **_reader_times(args))
            shown = [c for c in ("recording", "layer", "time", "n_trials", "n_nodes", "rate_unit", "mfr", "mf",
                                 "mean_dispersion",
                                 "mean_cv_dispersion", "mean_lv_dispersion", "n_windows", "flags") if c in table]
            print(table[shown].to_string(index=False, float_format="%.4g"))
            for name, trials in table.attrs.get("trials", {}).items():
                print(f"\n{name}: {trials.units['n_trials'].iloc[0]} trials per unit (rates in {trials.rate_unit}; "
                      f"fano_factor_trials: Var/mean of the trial spike counts, ddof={trials.ddof})")
                print(trials.units.drop(columns=["note"]).to_string(index=False, float_format="%.4g"))
                if trials.conditions is not None:
                    print(f"per {trials.condition}:")
                    print(trials.conditions.to_string(index=False, float_format="%.4g"))
        else:
            result = compare_files(args.ann, args.real, args.out, sample_duration=args.sample_duration,
                                   ann_recording=args.recording, window=args.window, real_window=args.real_window,
                                   overwrite=args.overwrite, variables=args.variables, bin_width=bin_width,
                                   argv=["ann2neo", *raw], condition=args.condition,
                                   ann_condition=args.ann_condition, ann_labels=args.ann_labels,
                                   **_reader_times(args))
            print(f"ANN layer: {result.layer if result.layer is not None else 'not named in the file'}")
            print(result.summary.to_string(index=False, float_format="%.4g"))
            print()
            print(result.ks.to_string(index=False, float_format="%.3g"))
            _print_population(result.population)
            print("\n".join(result.notes))
    except (OSError, FileFormatError, UnitError, TypeError, ValueError) as err:
        return _error(args.command, err)
    print(f"\nWrote {args.out}/ (CSV, JSON, PNG; manifest.json last).")
    return 0


def _print_population(table):
    """The population part of ``ann2neo compare``, ANN and recording side by side (compare_population.csv)."""
    import pandas as pd

    if table.empty:
        print("\npopulation part: skipped (see the notes; compare_population.csv is empty)")
        return
    keys = ["statistic", "condition"]
    sides = [table[table["population"] == side].set_index(keys)[["value", "control"]].add_prefix(f"{side}_")
             for side in ("ann", "real")]
    wide = pd.concat(sides, axis=1, sort=False)
    shown = ["ann_value", "ann_control", "real_value", "real_control"]
    print("\npopulation part (compare_population.csv; empty: undefined, the note column says why):")
    print(wide[shown].to_string(float_format="%.4g", na_rep=""))
    units = table[table["statistic"] == "rate"].groupby("population")["value_unit"].first()
    if len(units):
        print("rates in each side's own unit: " + ", ".join(f"{side} {unit}" for side, unit in units.items()))


def _add_config_options(parser, multi=(), suppress=False):
    """One option per ReproduceConfig field (``multi``: fields that take several values, for a grid)."""
    from .experiments.config import ReproduceConfig

    defaults = ReproduceConfig()
    for f in dataclasses.fields(ReproduceConfig):
        meta = dict(f.metadata)
        help_text = meta.pop("help")
        # the field's own default (dataset: None, so that --data alone is not taken for --data with --dataset)
        default = f.default if f.default is not dataclasses.MISSING else getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        unset = {"default": argparse.SUPPRESS} if suppress else {}
        if f.name in _BOOL_OFF:
            parser.add_argument(_BOOL_OFF[f.name], dest=f.name, action="store_false", help=f"skip: {help_text}",
                                **unset)
        elif f.name == "progress":
            group = parser.add_mutually_exclusive_group()
            group.add_argument("--progress", dest="progress", action="store_true",
                               default=argparse.SUPPRESS if suppress else None,
                               help="show progress bars (default: only when stderr is a terminal)")
            group.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars",
                               **unset)
        else:
            kind = {int: int, float: float}.get(type(default), str) if default is not None else (
                int if f.name == "window" else str)
            shown = " ".join(default) if isinstance(default, tuple) else default
            if f.name in multi:
                meta["nargs"] = "+"
            parser.add_argument(flag, dest=f.name, type=kind, default=argparse.SUPPRESS if suppress else default,
                                help=f"{help_text} (default: {shown})" if default is not None else help_text, **meta)


def _add_memorization_options(parser):
    """One option per MemorizationConfig field; unset options keep the file's or the default value."""
    from .experiments.memorization import MemorizationConfig

    defaults = MemorizationConfig()
    for f in dataclasses.fields(MemorizationConfig):
        meta = dict(f.metadata)
        help_text = meta.pop("help")
        flag = "--" + f.name.replace("_", "-")
        if f.name == "figures":
            parser.add_argument("--no-figures", dest="figures", action="store_false", default=argparse.SUPPRESS,
                                help="skip the figures and report.md")
            continue
        default = getattr(defaults, f.name)
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        meta.setdefault("type", {int: int, float: float}.get(type(default), str) if default is not None else int)
        if f.name not in ("architectures", "datasets"):
            meta.setdefault("metavar", f.name.upper().rstrip("S") if "nargs" in meta else None)
        help_text = help_text if "default" in help_text else f"{help_text} (default: {shown})"
        parser.add_argument(flag, dest=f.name, default=argparse.SUPPRESS, help=help_text,
                            **{k: v for k, v in meta.items() if v is not None})


def _memorization(args, raw) -> int:
    from .experiments.data import DatasetUnavailableError
    from .experiments.memorization import MemorizationConfig, load_memorization_toml, memorization, run_specs

    given = {k: v for k, v in vars(args).items() if k not in ("command", "config", "out", "overwrite", "verbose")}
    try:
        settings = load_memorization_toml(args.config) if args.config else {}
        config = MemorizationConfig(**{**settings, **given})
    except (TypeError, ValueError, OSError) as err:
        return _error("memorization", err)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    _import_tensorflow_quietly(args.verbose)
    try:
        table = memorization(args.out, config, overwrite=args.overwrite, argv=["ann2neo", *raw])
    except (DatasetUnavailableError, TypeError, ValueError, OSError) as err:
        return _error("memorization", err)
    print(f"\n{len(run_specs(config))} runs, {len(table)} rows: {args.out}/trajectories.csv, auroc.csv, "
          f"lead_lag.csv, report.md, figures/; manifest.json last.")
    return 0


def _import_tensorflow_quietly(verbose=False):
    """Load TensorFlow now; its C++ start-up lines are filtered by :mod:`ann2neo._quiet` unless ``verbose``."""
    if verbose:
        logging.getLogger("ann2neo").setLevel(logging.DEBUG)  # read by ann2neo._quiet when TensorFlow loads
    import keras  # noqa: F401  (loads TensorFlow)
    import tensorflow as tf

    if not verbose:
        # each condition's clone traces its own train function, by design: not worth a warning per clone
        tf.get_logger().setLevel(logging.ERROR)


def _print_table(table):
    shown = table[["condition", "split", "labels", "accuracy", "mfr_per_sample", "cv_fr_pct", "mf", "cv_ff_pct",
                   "mf_bernoulli", "mean_dispersion", "mean_dispersion_se", "n_silent", "n_windows"]].rename(
        columns={"mf_bernoulli": "MF null", "mean_dispersion": "F/null", "mean_dispersion_se": "± se"})
    print(f"\nPer condition and split (accuracy a fraction; MFR in spikes/sample; CV in %; Fano window "
          f"{table.attrs.get('window')} samples; cf. arXiv:2308.00858 Tables 1, 2, 5).\nMF null: the mean Fano "
          f"factor of independent spiking at each node's spike count and this many windows (exact); F/null: "
          f"the mean of each node's F over it, 1 under the null, with its standard error")
    if table.attrs.get("window_note"):
        print(f"  NOTE: {table.attrs['window_note']}")
    print(shown.to_string(index=False, float_format="%.3f"))
    for c, same in table.attrs.get("same_as", {}).items():
        print(f"  NOTE: {c} coincides with {same} for this architecture (same start, labels and trainable layers); "
              f"its rows repeat {same}'s network")
    flagged = table[table["flags"] != ""]
    if len(flagged):
        print("\n" + "!" * 78)
        for r in flagged.itertuples():
            print(f"!! FLAG {r.condition}/{r.split}/{r.layer}: {r.flags}")
        print("!" * 78)
    if "ljung_box_combined_p" in table:
        cols = {"ff_fraction_below_poisson": "FF<1 vs Poisson", "ff_fraction_significant_bernoulli":
                "FF sig. vs Bernoulli", "ljung_box_combined_p": "Ljung-Box p", "ljung_box_fraction_significant":
                "LB sig.", "ljung_box_fraction_significant_bh": "LB sig. BH", "ljung_box_n_excluded":
                "LB excl.", "adf_fraction_unit_root_not_rejected": "ADF unit root not rej."}
        present = [c for c in cols if c in table and table[c].notna().any()] or list(cols)[:4]
        print("\nDiagnostics (fractions of nodes; NaN: undefined, e.g. too few windows for ADF)")
        print(table[["condition", "split", *present]].rename(columns=cols).to_string(index=False,
                                                                                     float_format="%.3g"))
    comparisons = table.attrs.get("comparisons")
    if comparisons is not None:
        import pandas as pd

        comparisons = pd.DataFrame(comparisons)
        print("\nKolmogorov-Smirnov tests of firing-rate distributions, Bonferroni over "
              f"{len(comparisons)} comparisons (paper Table 2)")
        print(comparisons[["a", "b", "statistic", "p_bonferroni", "different"]]
              .rename(columns={"statistic": "D", "p_bonferroni": "p (Bonferroni)"})
              .to_string(index=False, float_format="%.3g"))


def _check_run(folder) -> int:
    from .io.manifest import check_run

    status = check_run(folder)
    if status.complete:
        m = status.manifest
        print(f"{folder}: complete run ({len(m['files'])} files, seed {m.get('seed')}, "
              f"finished {m.get('finished_utc')})")
        return 0
    print(f"{folder}: INCOMPLETE: " + "; ".join(status.problems))
    return 1


def _grid(args, raw) -> int:
    from .experiments.data import DatasetUnavailableError
    from .experiments.grid import GRID_AXES, grid_configs, load_grid_toml, run_grid

    given = {k: v for k, v in vars(args).items() if k not in ("command", "config", "out", "overwrite", "verbose")}
    try:
        axes, settings = load_grid_toml(args.config) if args.config else ({}, {})
        for k, v in given.items():
            (axes if k in GRID_AXES else settings)[k] = v
        configs = grid_configs(axes, **settings)
    except (TypeError, ValueError, OSError) as err:
        return _error("grid", err)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ann2neo\.experiments")
    _import_tensorflow_quietly(args.verbose)
    try:
        table = run_grid(args.out, configs, overwrite=args.overwrite, argv=["ann2neo", *raw])
    except (DatasetUnavailableError, TypeError, ValueError, OSError) as err:
        return _error("grid", err)
    print(f"\n{len(configs)} cells, {len(table)} rows: {args.out}/grid.csv, grid_hypotheses.csv, grid.md, "
          f"cells/*/report.md; manifest.json last.")
    return 0


def _error(command, err) -> int:
    """One line on stderr for an error the user can act on; exit status 2."""
    text = str(err) if not isinstance(err, OSError) or not err.strerror else (
        f"{err.strerror}: {err.filename!r}" if err.filename else err.strerror)
    if isinstance(err, OSError) and err.errno in _DISK_ERRNOS:
        text += " (choose an --out on a writable file system with free space; an unfinished run folder has no " \
                "manifest.json and is marked incomplete)"
    from .experiments.files import cli_message

    text = cli_message(" ".join(text.split()))  # one line, in option syntax (--bin-width 1ms, not bin_width=)
    print(f"ann2neo {command}: error: {text}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    """Entry point of the ``ann2neo`` command; returns the exit status.

    Bad input exits with status 2 and one line on stderr; an interrupt
    (Ctrl-C, SIGINT) exits with status 130 and one line.
    """
    raw = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(raw)
    if args.verbose:
        logging.getLogger("ann2neo").setLevel(logging.DEBUG)
    try:
        if args.command == "check-run":
            return _check_run(args.folder)
        if args.command == "grid":
            return _grid(args, raw)
        if args.command == "memorization":
            return _memorization(args, raw)
        if args.command in ("analyze", "compare"):
            return _files_command(args, raw)
        return _reproduce(args, raw)
    except KeyboardInterrupt:
        print(f"\nann2neo {args.command}: interrupted (SIGINT); the run folder, if any, has no manifest.json and is "
              f"marked incomplete", file=sys.stderr)
        return 130


def _reproduce(args, raw) -> int:
    from .experiments.config import ReproduceConfig
    from .experiments.data import DatasetUnavailableError
    from .io._lock import run_lock
    from .io.manifest import prepare_run_dir

    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(ReproduceConfig)}
    with contextlib.ExitStack() as stack:
        try:
            config = ReproduceConfig(**settings)
            # --out is locked and checked here, before any work; reproduce() prepares it again (idempotent)
            from .experiments.reproduce import OUTPUT_PATTERNS, reproduce

            stack.enter_context(run_lock(args.out))
            prepare_run_dir(args.out, args.overwrite, owned=OUTPUT_PATTERNS)
        except (TypeError, ValueError, OSError) as err:
            return _error("reproduce", err)
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
        # flags are logged as WARNING lines and listed after the table; no second copy as Python warnings
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ann2neo\.experiments")
        _import_tensorflow_quietly(args.verbose)
        progress = sys.stderr.isatty() if config.progress is None else config.progress
        redirect = contextlib.nullcontext()
        if progress:
            from tqdm.contrib.logging import logging_redirect_tqdm

            redirect = logging_redirect_tqdm()
        try:
            with redirect:
                table = reproduce(args.out, config, overwrite=True, argv=["ann2neo", *raw])
        except (DatasetUnavailableError, TypeError, ValueError, OSError) as err:
            return _error("reproduce", err)
    _print_table(table)
    print(f"\nWrote {args.out}/: results.csv, results.json, nodes.csv, comparisons.csv, reproduce.log, one NWB file "
          f"per condition, and manifest.json last (check with: ann2neo check-run {args.out}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
