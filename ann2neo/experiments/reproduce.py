"""The paper's core comparison, end to end, in separate stages.

arXiv:2308.00858 sections 3.1-3.3: train the networks of each condition
(:func:`train_stage`), record the observed layer on the shuffled train and
test samples and analyze each recording (:func:`record_stage`), compare the
firing-rate distributions (:func:`firing_rate_comparisons`), and write the
outputs with a manifest last (:func:`write_outputs`).  :func:`reproduce` runs
the stages from one :class:`~ann2neo.experiments.config.ReproduceConfig`.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.diagnostics import compare_firing_rates
from ..analysis.report import analyze
from ..core.conversion import to_block, to_segment
from ..io._atomic import write_text
from ..io._lock import run_lock
from ..io.manifest import MANIFEST, jsonable, package_versions, prepare_run_dir, write_manifest
from .conditions import CONDITION_TABLE, build_model, check_model_memory, train_conditions
from .config import MIN_WINDOWS, ReproduceConfig, fano_window
from .data import load_dataset

__all__ = ["reproduce", "load_stage", "train_stage", "dynamics_stage", "record_stage", "population_stage",
           "write_outputs",
           "firing_rate_comparisons",
           "sample_order", "TABLE_COLUMNS", "TEST_COLUMNS", "DEFAULT_CONDITIONS", "OUTPUT_PATTERNS", "RunData"]

#: The columns of the main table, units in the names (``accuracy`` is a fraction in [0, 1]).
TABLE_COLUMNS = ("condition", "split", "layer", "labels", "accuracy", "mfr_per_sample", "cv_fr_pct", "mf",
                 "cv_ff_pct", "window_samples", "n_windows", "flags")
#: Network-level diagnostics added to each row when ``diagnostics=True`` (see ``analyze``); read with
#: ``tests.get`` so a renamed key gives NaN, not a crash.
TEST_COLUMNS = ("ff_fraction_significant_poisson", "ff_fraction_below_poisson", "ff_fraction_significant_bernoulli",
                "ff_fraction_below_bernoulli", "ljung_box_combined_p", "ljung_box_fraction_significant",
                "ljung_box_fraction_significant_bh", "ljung_box_n_tested", "ljung_box_n_excluded",
                "adf_fraction_unit_root_not_rejected")
DEFAULT_CONDITIONS = ReproduceConfig().conditions
#: Files and folders a run writes (removed from ``--out`` by ``--overwrite``).
OUTPUT_PATTERNS = (MANIFEST, "results.csv", "results.json", "comparisons.csv", "nodes.csv", "population.csv",
                   "reproduce.log",
                   "training_dynamics.csv",
                   "report.md", "*.nwb", "tables", "figures", ".tmp-*")
#: Few windows for the window-based tests (ADF needs 20).
FEW_WINDOWS = 20
log = logging.getLogger("ann2neo.reproduce")


def _checkpoint(name):
    """Test hook: ``ANN2NEO_KILL_AT=<name>`` kills this process with SIGKILL here (simulates a crash)."""
    if os.environ.get("ANN2NEO_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class RunData:
    """The validated data of one run (output of :func:`load_stage`).

    Attributes
    ----------
    x_train, y_train, x_test, y_test : ndarray
        float32 images in [0, 1] and int64 labels.
    shuffled : ndarray
        One fixed permutation of ``y_train`` (the memorizing conditions' labels).
    orders : dict
        ``{"train": permutation, "test": permutation}``: the recorded sample order.
    window : int
        Fano-factor window in samples.
    window_note : str
        Why the window differs from the paper's 100 ("" when it does not).
    n_classes : int
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shuffled: np.ndarray
    orders: dict
    window: int
    window_note: str
    n_classes: int


def load_stage(config: ReproduceConfig) -> RunData:
    """Load and validate the data, draw the label permutation and sample orders, fix the window.

    Raises
    ------
    ValueError
        If a split is shorter than one Fano window, or the networks would not
        fit in memory (:func:`~.conditions.check_model_memory`).
    ann2neo.experiments.data.DatasetUnavailableError
        If the dataset cannot be loaded.
    """
    x_train, y_train, x_test, y_test = load_dataset(config.dataset, config.data, config.seed)
    rng = np.random.default_rng(config.seed)
    shuffled = rng.permutation(y_train)
    orders = {"train": sample_order(y_train, config.order, rng), "test": sample_order(y_test, config.order, rng)}
    sizes = {"train": len(x_train), "test": len(x_test)}
    if config.window is None:
        window, note = fano_window(sizes.values())
    else:
        window, note = config.window, ""
        short = {s: n for s, n in sizes.items() if n < window}
        if short:
            raise ValueError(f"window {window} is longer than the {', '.join(short)} split "
                             f"({', '.join(f'{n} samples' for n in short.values())}); choose a window <= "
                             f"{min(sizes.values())}")
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    # the base network, one clone per condition and the training-dynamics network live at once
    check_model_memory(config.architecture, x_train.shape[1:], config.width, n_classes,
                       n_models=1 + len(config.conditions) + (config.dynamics_epochs > 0))
    return RunData(x_train, y_train, x_test, y_test, shuffled, orders, window, note, n_classes)


def sample_order(labels, order: str, rng: np.random.Generator) -> np.ndarray:
    """The order in which a split's samples are recorded: the time axis of every sample-time statistic.

    Parameters
    ----------
    labels : ndarray of int (n_samples,)
        The true class of each sample.
    order : {"shuffled", "by-class", "dataset"}
        ``shuffled``: a random permutation (the paper's protocol; shuffling a
        fixed dataset produces exactly the null of independent spiking at
        each node's spike count, so the temporal diagnostics are null by
        construction).  ``by-class``: sorted by class, random within a class
        (class structure becomes temporal structure).  ``dataset``: as stored.
    rng : numpy.random.Generator
        Drawn once per call for ``shuffled`` and ``by-class``.

    Returns
    -------
    ndarray of int64 (n_samples,)
        A permutation of ``0 .. n_samples - 1``.

    Examples
    --------
    >>> sample_order(np.array([1, 0, 1, 0]), "by-class", np.random.default_rng(0))
    array([1, 3, 2, 0])
    """
    n = len(labels)
    if order == "dataset":
        return np.arange(n)
    perm = rng.permutation(n)
    if order == "shuffled":
        return perm
    return perm[np.argsort(np.asarray(labels)[perm], kind="stable")]


def _progress(config) -> bool:
    return sys.stderr.isatty() if config.progress is None else config.progress


def train_stage(config: ReproduceConfig, data: RunData) -> dict:
    """Train the networks of ``config.conditions`` (see :func:`~.conditions.train_conditions`)."""
    base = build_model(config.architecture, data.x_train.shape[1:], config.width, data.n_classes, config.seed)
    callbacks = None
    if _progress(config):
        from tqdm.keras import TqdmCallback

        def callbacks(name, n):
            return [TqdmCallback(epochs=n, verbose=0, desc=f"training {name}", leave=False)]

    return train_conditions(config.conditions, base, data.x_train, data.y_train, data.shuffled,
                            {"true": config.epochs, "shuffled": config.mem_epochs}, seed=config.seed,
                            batch_size=config.batch_size, learning_rate=config.learning_rate,
                            validation_split=config.validation_split, callbacks=callbacks)


def dynamics_stage(config: ReproduceConfig, data: RunData):
    """Figure 5's protocol: train a fresh network on true, then shuffled labels, monitoring MFR and MF.

    Returns
    -------
    records : pandas.DataFrame or None
        One row per batch and probe (``step``, ``epoch``, ``batch``, ``probe``,
        ``mfr``, ``mf``) plus ``phase`` ("true"/"shuffled"); None when skipped.
    alarms : list of int
        Steps at which :class:`ann2neo.keras.FiringRateMonitor`'s rule fired.
    """
    if config.dynamics_epochs == 0:
        return None, []
    from ..keras.monitor import FiringRateMonitor
    from .conditions import compile_model, train

    model = compile_model(build_model(config.architecture, data.x_train.shape[1:], config.width, data.n_classes,
                                      config.seed), config.learning_rate)
    probes = {"train": data.x_train[data.orders["train"][:100]], "test": data.x_test[data.orders["test"][:100]]}
    monitor = FiringRateMonitor(probes, layer=(config.layers or (None,))[0], every=1, alarm="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # alarms are reported in the table and log
        train(model, data.x_train, data.y_train, config.dynamics_epochs, config.batch_size, config.validation_split,
              [monitor], config.seed)
        switch = monitor._step
        false_alarms = list(monitor.alarms)
        if config.dynamics_mem_epochs:
            train(model, data.x_train, data.shuffled, config.dynamics_mem_epochs, config.batch_size,
                  config.validation_split, [monitor], config.seed)
    records = pd.DataFrame(monitor.records)
    records["phase"] = np.where(records["step"] <= switch, "true", "shuffled")
    records.attrs.update(switch_step=switch, alarms=list(monitor.alarms), alarms_before_switch=false_alarms,
                         checks_before_switch=int(switch))
    log.info("training dynamics: %d checks on true labels (%d alarms), switch at step %d, alarms at %s",
             switch, len(false_alarms), switch, monitor.alarms)
    return records, monitor.alarms


def _chance(labels) -> float:
    return float(np.bincount(labels).max() / len(labels))


def near_chance(accuracy: float, chance: float) -> bool:
    """Whether an accuracy is too close to chance for a network that was trained to beat it.

    Near chance means below ``chance + min(chance, (1 - chance) / 2)``: twice
    chance for many classes (0.2 at 10 balanced classes), halfway from chance
    to perfect for few (0.75 at 2 classes).

    Examples
    --------
    >>> near_chance(0.099, 0.1), near_chance(0.85, 0.1), near_chance(0.7, 0.5)
    (True, False, True)
    """
    return accuracy < chance + min(chance, (1.0 - chance) / 2)


def criterion_flag(condition: str, split: str, trained_on: str, trained: bool, accuracy: float,
                   chance: float) -> str:
    """The flag of a condition that fails its own criterion on this row ("" when it meets it or has none).

    A network trained on the true labels (Generalizing) must beat chance on
    the test split; a network trained on shuffled labels (the memorizing
    conditions) must beat chance on its shuffled training labels; the
    untrained Random network has no criterion.

    Parameters
    ----------
    condition : str
    split : {"train", "test"}
        The row's split.
    trained_on : {"true", "shuffled"}
        The labels the condition's network was trained on.
    trained : bool
        False for an untrained network (Random).
    accuracy, chance : float
        The row's accuracy and the majority-class fraction of its labels.

    Returns
    -------
    str

    Examples
    --------
    >>> criterion_flag("Generalizing", "test", "true", True, 0.099, 0.101)
    'Generalizing near chance (test accuracy 0.099, chance 0.101): it did not learn; train longer or check the data'
    """
    if not trained or not near_chance(accuracy, chance):
        return ""
    if split == "test" and trained_on == "true":
        return (f"{condition} near chance (test accuracy {accuracy:.3f}, chance {chance:.3f}): it did not learn; "
                f"train longer or check the data")
    if split == "train" and trained_on == "shuffled":
        return f"memorization near chance (train accuracy {accuracy:.3f} on shuffled labels, chance {chance:.3f})"
    return ""


def _flags(summary, n_windows, window, *, condition_row=None):
    flags = [f for f in str(summary.get("flags", "") or "").split("; ") if f]
    n_nodes = summary["n_nodes"]
    own = []
    if n_windows < FEW_WINDOWS:
        own.append(f"few windows ({n_windows} < {FEW_WINDOWS})")
    if summary["n_silent"] == n_nodes:
        own.append("all nodes silent")
    elif summary.get("n_always", 0) == n_nodes:
        own.append("all nodes always on")
    elif summary["n_silent"] + summary.get("n_always", 0) == n_nodes:
        own.append(f"no node varies ({summary['n_silent']} silent, {summary.get('n_always', 0)} always on)")
    if condition_row:
        own.append(condition_row)
    for f in own:  # the analysis may already raise the same flag
        if not any(f.split(" (")[0] == g.split(" (")[0] for g in flags):
            flags.append(f)
    return "; ".join(flags)


def record_stage(config: ReproduceConfig, data: RunData, networks: dict):
    """Record the observed layer(s) of every network on both splits and analyze each recording.

    Returns
    -------
    rows : list of dict
        One per condition, split and layer (:data:`TABLE_COLUMNS`, then counts and diagnostics).
    recordings : dict
        ``(condition, split, layer)`` -> ``(spikes, NetworkAnalysis)``.
    """
    from ..keras.recording import record

    progress = _progress(config)
    rows, recordings = [], {}
    for condition in config.conditions:
        net = networks[condition]
        model = net["model"]
        for split in ("train", "test"):
            x, labels = (data.x_train, net["labels"]) if split == "train" else (data.x_test, data.y_test)
            chance = _chance(labels)
            order = data.orders[split]
            _, accuracy = model.evaluate(x, labels, batch_size=config.batch_size, verbose=0)
            label_kind = net["label_kind"] if split == "train" else "true"
            memo = criterion_flag(condition, split, net["label_kind"], net["history"] is not None, accuracy,
                                  chance) or None
            spikes_by_layer = record(model, x[order], layers=list(config.layers) if config.layers else None,
                                     batch_size=config.batch_size, progress=progress)
            for layer, spikes in spikes_by_layer.items():
                result = analyze(spikes, window=data.window, diagnostics=config.diagnostics, seed=config.seed)
                s = result.summary
                n_windows = int(s.get("n_windows", result.n_samples // data.window))
                flags = _flags(s, n_windows, data.window, condition_row=memo)
                row = {"condition": condition, "split": split, "layer": layer, "labels": label_kind,
                       "accuracy": float(accuracy), "mfr_per_sample": s["mfr"], "cv_fr_pct": s["cv_fr"],
                       "mf": s["mf"], "cv_ff_pct": s["cv_ff"], "window_samples": data.window,
                       "n_windows": n_windows, "flags": flags, "chance_accuracy": chance,
                       "same_as": net["same_as"] or "", "n_samples": result.n_samples, "n_nodes": s["n_nodes"],
                       "n_silent": s["n_silent"], "n_always": s.get("n_always", 0),
                       "mf_bernoulli": s["mf_null"], "mean_dispersion": s["mean_dispersion"],
                       "mean_dispersion_se": s["mean_dispersion_se"], "mean_cv_dispersion": s["mean_cv_dispersion"],
                       "mean_cv_dispersion_se": s["mean_cv_dispersion_se"],
                       "mean_lv_dispersion": s["mean_lv_dispersion"],
                       "mean_lv_dispersion_se": s["mean_lv_dispersion_se"]}
                if config.diagnostics:
                    row.update({key: result.tests.get(key, float("nan")) for key in TEST_COLUMNS})
                rows.append(row)
                recordings[(condition, split, layer)] = (spikes, result)
                log.info("%s/%s/%s: accuracy %.4f (%s labels) MFR %.4f CV FR %.2f%% MF %.4f CV FF %.2f%% "
                         "(%d silent, %d always on, of %d nodes; %d windows of %d)", condition, split, layer,
                         accuracy, label_kind, s["mfr"], s["cv_fr"], s["mf"], s["cv_ff"], s["n_silent"],
                         row["n_always"], s["n_nodes"], n_windows, data.window)
                if flags:
                    message = f"{condition}/{split}/{layer}: {flags}"
                    log.warning("WARNING %s", message)
                    warnings.warn(message, RuntimeWarning, stacklevel=2)
    return rows, recordings


def population_stage(config: ReproduceConfig, data: RunData, recordings: dict, same_as=None) -> pd.DataFrame:
    """Population statistics of every recording, each beside its shuffle control (``population.csv``).

    The condition of each recorded sample is its true class, on every network
    and split; every statistic is seeded with ``config.seed``.  See
    :func:`ann2neo.experiments.outputs.population_statistics`.

    Returns
    -------
    pandas.DataFrame
        One row per condition, split and layer
        (:data:`~ann2neo.experiments.outputs.POPULATION_COLUMNS`).
    """
    from .outputs import POPULATION_SHUFFLES, population_table

    started = time.perf_counter()
    labels = {"train": data.y_train[data.orders["train"]], "test": data.y_test[data.orders["test"]]}
    population = population_table(recordings, labels, seed=config.seed, same_as=same_as)
    for r in population.itertuples():
        log.info("%s/%s/%s population: %.2f selective (%.2f labels shuffled), noise-corr SD %.3f (%.3f within-class "
                 "permuted), PR %.1f (%.1f all / %.1f within permuted), decoding %.3f (chance %.3f, shuffled %.3f)",
                 r.condition, r.split, r.layer, r.fraction_selective, r.fraction_selective_shuffled, r.noise_corr_sd,
                 r.noise_corr_sd_shuffled_within, r.pr, r.pr_shuffled_all, r.pr_shuffled_within, r.decode_accuracy,
                 r.decode_chance, r.decode_accuracy_shuffled)
    log.info("population statistics (%d shuffles per control) in %.1f s", POPULATION_SHUFFLES,
             time.perf_counter() - started)
    return population


def firing_rate_comparisons(rates: dict, conditions, splits=("train", "test"), alpha=0.05) -> pd.DataFrame:
    """The Kolmogorov-Smirnov comparisons of paper Table 2, Bonferroni-corrected over all of them.

    Train vs test for every condition, then every pair of conditions within
    each split.  The paper marks a pair "similar" where the corrected test does
    not reject (``different`` is False).

    Parameters
    ----------
    rates : dict
        ``"<condition>/<split>"`` -> per-node firing rates (spikes/sample).
    conditions : sequence of str
    splits : sequence of str, default ("train", "test")
    alpha : float, default 0.05

    Returns
    -------
    pandas.DataFrame
        ``comparison`` ("train vs test" or "<split>: condition vs condition"),
        then the columns of :func:`ann2neo.analysis.compare_firing_rates`.
    """
    pairs = [(f"{c}/{splits[0]}", f"{c}/{splits[1]}") for c in conditions]
    kinds = [f"{splits[0]} vs {splits[1]}"] * len(pairs)
    for split in splits:
        for a, b in itertools.combinations(conditions, 2):
            pairs.append((f"{a}/{split}", f"{b}/{split}"))
            kinds.append(f"{split}: condition vs condition")
    table = compare_firing_rates(rates, pairs, alpha=alpha)
    table.insert(0, "comparison", kinds)
    table["note"] = [PAIRED_NOTE if kind.endswith(f"vs {splits[1]}") else "" for kind in kinds]
    return table


#: Why a KS test of train vs test proves nothing (the comparisons table says so on those rows).
PAIRED_NOTE = ("the same units on both splits: a two-sample KS test treats them as independent samples, so p is "
               "near 1 by construction; see the paired test of H7")


def _model_summary(model) -> str:
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(lines)


def _unit_rates(recordings: dict) -> dict:
    """``"<condition>/<split>"`` -> per-unit firing rates of the first recorded layer."""
    first = next(iter(recordings), (None, None, None))[2]
    return {f"{c}/{s}": result.nodes["firing_rate"].to_numpy()
            for (c, s, layer), (_, result) in recordings.items() if layer == first}


def write_outputs(out, config: ReproduceConfig, table: pd.DataFrame, recordings: dict, *, meta: dict,
                  networks=None, data: RunData | None = None, argv=None, dynamics=None) -> list:
    """Write the run's files (each atomically), then the manifest last.

    Parameters
    ----------
    out : Path
        The prepared run folder.
    config : ReproduceConfig
    table : pandas.DataFrame
        The main table (``table.attrs["comparisons"]`` optional).
    recordings : dict
        ``(condition, split, layer)`` -> ``(spikes, NetworkAnalysis)``.
    meta : dict
        Extra JSON values for ``results.json``.
    networks : dict, optional
        From :func:`train_stage`; with ``data``, NWB files are written.
    data : RunData, optional
    argv : list of str, optional
        Command line for ``results.json`` and the manifest.
    dynamics : pandas.DataFrame, optional
        From :func:`dynamics_stage`: written to ``training_dynamics.csv`` and Figure 5.

    Returns
    -------
    list of str
        The files written (relative to ``out``), the manifest excluded.
    """
    out = Path(out)
    files = []

    def put(name, text):
        write_text(out / name, text)
        files.append(name)
        _checkpoint(f"after:{name}")

    if networks is not None and data is not None:
        from ..io.nwb import write_nwb

        for condition in config.conditions:
            model = networks[condition]["model"]
            summary = _model_summary(model)
            segments = []
            for split in ("train", "test"):
                order = data.orders[split]
                labels = (networks[condition]["labels"] if split == "train" else data.y_test)[order]
                for (c, s, layer), (spikes, _) in recordings.items():
                    if c == condition and s == split:
                        segments.append(to_segment(spikes, name=split if len(config.layers or ()) < 2
                                                   else f"{split}/{layer}", split=split, condition=condition,
                                                   dataset=config.source, seed=config.seed, layer=layer,
                                                   model_summary=summary, labels=np.asarray(labels, dtype=int),
                                                   sample_index=np.asarray(order, dtype=int)))
            block = to_block(segments, name=condition, condition=condition, dataset=config.source,
                             seed=config.seed, model=f"{model.name}: {config.architecture} width {config.width}; "
                                                     f"condition {condition}; SGD lr {config.learning_rate}; "
                                                     f"seed {config.seed}")
            write_nwb(out / f"{condition}.nwb", block, overwrite=True)
            files.append(f"{condition}.nwb")
            _checkpoint(f"after:{condition}.nwb")
    put("results.csv", table.to_csv(index=False))
    population, comparisons = (None if table.attrs.get(k) is None else pd.DataFrame(table.attrs[k])
                               for k in ("population", "comparisons"))
    if population is not None:
        put("population.csv", population.to_csv(index=False))
    if comparisons is not None:
        put("comparisons.csv", comparisons.to_csv(index=False))
    nodes = [result.nodes.assign(condition=c, split=s, layer=layer, node=np.arange(len(result.nodes)))
             for (c, s, layer), (_, result) in recordings.items()]
    if nodes:
        frame = pd.concat(nodes, ignore_index=True)
        front = ["condition", "split", "layer", "node"]
        put("nodes.csv", frame[front + [c for c in frame.columns if c not in front]].to_csv(index=False))
    from . import outputs

    tables = {"table1": outputs.table1(table),
              "table2": outputs.table2(table, config.architecture, config.width, config.source, comparisons),
              "table5": outputs.table5(table),
              "hypotheses": outputs.hypotheses(table, rates=_unit_rates(recordings), margin=config.equivalence_margin)}
    for name, frame in tables.items():
        put(f"tables/{name}.csv", frame.to_csv(index=False))
        put(f"tables/{name}.md", outputs.to_markdown(frame))
    if dynamics is not None:
        put("training_dynamics.csv", dynamics.to_csv(index=False))
    if config.figures:
        figures = outputs.write_figures(out / "figures", table, recordings, seed=config.seed,
                                        same_as=meta.get("coinciding_conditions"), dynamics=dynamics)
        files.extend(str(f.relative_to(out)) for f in figures)
        _checkpoint("after:figures")
        put("report.md", outputs.write_report(config, table, tables, figures, window_note=meta.get("window_note", ""),
                                              same_as=meta.get("coinciding_conditions"), seconds=meta.get("seconds"),
                                              population=population))
    results = {**meta, "config": config.to_dict(), "command_line": list(sys.argv if argv is None else argv),
               "versions": package_versions(), "rows": table.to_dict(orient="records"),
               "ks_comparisons": [] if comparisons is None else comparisons.to_dict(orient="records")}
    put("results.json", json.dumps(jsonable(results), indent=2, allow_nan=False))
    return files


class _LogFile(logging.FileHandler):
    """The run's log file; a record that cannot be written (full disk) is dropped without a traceback."""

    def handleError(self, record):  # noqa: N802 - logging's name
        pass


def _setup_logging(out: Path):
    handler = _LogFile(out / "reproduce.log", mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("ann2neo")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger, handler


def reproduce(out, config: ReproduceConfig | None = None, *, overwrite=False, write_files=True, argv=None,
              **settings):
    """Run the paper's comparison of Random, Generalizing and memorizing networks.

    Parameters
    ----------
    out : str or Path
        Output folder.  It must be new or empty unless ``overwrite``; it
        receives ``results.csv``, ``results.json``, ``comparisons.csv`` (with
        diagnostics), ``nodes.csv`` (per node), ``population.csv`` (population
        statistics beside their shuffle controls, :func:`population_stage`), one ``<condition>.nwb`` per
        condition, ``reproduce.log`` and, last, ``manifest.json`` (see
        :mod:`ann2neo.io.manifest`).  A folder without a manifest is an
        incomplete run.
    config : ReproduceConfig, optional
        The settings; default ``ReproduceConfig(**settings)``.
    overwrite : bool, default False
        Replace the run in a non-empty ``out`` (its manifest is removed first).
    write_files : bool, default True
        False: only compute and return the table (``out`` is not touched).
    argv : list of str, optional
        The command line to record; default ``sys.argv``.
    **settings
        Fields of :class:`ReproduceConfig` (``dataset``, ``width``, ``epochs``...),
        applied on top of ``config``.

    Returns
    -------
    pandas.DataFrame
        One row per condition, split and layer, :data:`TABLE_COLUMNS` first
        (``accuracy`` a fraction: on the training labels for the train split,
        shuffled for memorizing conditions; on the true labels for test), then
        ``chance_accuracy``, ``same_as``, counts, Bernoulli-null summaries and,
        with diagnostics, :data:`TEST_COLUMNS`.  ``table.attrs`` holds
        ``comparisons`` (KS tests), ``window``, ``window_note`` and ``population``
        (the rows of ``population.csv``); the two tables are kept as lists of
        records (``pandas.DataFrame(table.attrs["population"])``), so that the
        tables of several runs concatenate with ``pandas.concat``.

    Raises
    ------
    TypeError, ValueError
        For a bad setting, bad data, or a window longer than a split: before any training.
    FileExistsError
        If ``out`` is not empty and ``overwrite`` is False.
    NotADirectoryError
        If ``out`` is a file.
    ann2neo.experiments.data.DatasetUnavailableError
        If the dataset cannot be loaded (e.g. a keras dataset while offline).
    """
    config = ReproduceConfig(**settings) if config is None else config.replace(**settings)
    out = Path(out)
    with contextlib.ExitStack() as stack:
        if write_files:
            stack.enter_context(run_lock(out))  # one run per folder: a second one refuses
            prepare_run_dir(out, overwrite, owned=OUTPUT_PATTERNS)  # before any work
        return _run(out, config, write_files, argv)


def _run(out, config, write_files, argv):
    logger, handler = _setup_logging(out) if write_files else (None, None)
    started = time.perf_counter()
    try:
        data = load_stage(config)
        log.info("dataset %s: %d train, %d test samples of shape %s; Fano window %d samples%s", config.source,
                 len(data.x_train), len(data.x_test), data.x_train.shape[1:], data.window,
                 f" ({data.window_note})" if data.window_note else "")
        _checkpoint("loaded")
        networks = train_stage(config, data)
        dynamics, _ = dynamics_stage(config, data)
        _checkpoint("trained")
        rows, recordings = record_stage(config, data, networks)
        table = pd.DataFrame(rows)
        rates = {f"{c}/{s}": r.nodes["firing_rate"].to_numpy()
                 for (c, s, layer), (_, r) in recordings.items() if layer == rows[0]["layer"]}
        same = {c: n["same_as"] for c, n in networks.items() if n["same_as"]}
        distinct = [c for c in config.conditions if c not in same]  # a coinciding network is not compared twice
        comparisons = (firing_rate_comparisons(rates, distinct)
                       if config.diagnostics and len(distinct) > 1 else None)
        if comparisons is not None:
            table.attrs["comparisons"] = comparisons.to_dict("records")  # records: pd.concat compares attrs
            for r in comparisons.itertuples():
                log.info("KS %s vs %s: D %.3f, Bonferroni p %.3g (%s)", r.a, r.b, r.statistic, r.p_bonferroni,
                         "different" if r.different else "not different")
        table.attrs.update(window=data.window, window_note=data.window_note, same_as=same)
        table.attrs["population"] = population_stage(config, data, recordings, same).to_dict("records")
        elapsed = time.perf_counter() - started
        log.info("finished training, recording and analysis in %.1f s", elapsed)
        if write_files:
            meta = {"dataset": config.source, "window_samples": data.window, "window_note": data.window_note,
                    "min_windows_rule": MIN_WINDOWS, "coinciding_conditions": same,
                    "conditions_table": [c.__dict__ for c in CONDITION_TABLE if c.name in config.conditions],
                    "accuracy_note": "accuracy is a fraction in [0, 1]; train rows: on the labels the network "
                                     "was trained on (column labels: shuffled for memorizing conditions); "
                                     "test rows: on the true labels",
                    "seconds": round(elapsed, 1)}
            if dynamics is not None:
                meta["training_dynamics"] = {k: v for k, v in dynamics.attrs.items()}
            files = write_outputs(out, config, table, recordings, meta=meta, networks=networks, data=data,
                                  argv=argv, dynamics=dynamics)
            _checkpoint("before:manifest")
            logger.removeHandler(handler)
            handler.close()
            handler = None
            write_manifest(out, files + ["reproduce.log"], config=config.to_dict(), argv=argv,
                           extra={"seed": config.seed})
        return table
    except BaseException as err:  # noqa: BLE001 - recorded, then raised again: the log says why the run stopped
        if handler is not None:
            what = "interrupted (SIGINT)" if isinstance(err, KeyboardInterrupt) else f"{type(err).__name__}: {err}"
            log.error("run failed, the folder is incomplete (no %s): %s", MANIFEST, what)
        raise
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
