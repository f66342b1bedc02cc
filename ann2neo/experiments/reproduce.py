"""The paper's core comparison, end to end: train conditions, record, analyze, export.

arXiv:2308.00858 sections 3.1-3.3: train the MLP as Random / Generalizing /
memorizing networks, record the last hidden layer on the (shuffled) train and
test data, and compare the Poisson-process summaries MFR, CV FR, MF, CV FF.
"""
from __future__ import annotations

import itertools
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.diagnostics import compare_firing_rates
from ..analysis.report import analyze
from ..core.conversion import to_block, to_segment
from ..io._atomic import write_text
from .conditions import CONDITIONS, build_mlp, train_conditions
from .data import load_dataset

__all__ = ["reproduce", "firing_rate_comparisons", "TABLE_COLUMNS", "TEST_COLUMNS", "DEFAULT_CONDITIONS"]

TABLE_COLUMNS = ("condition", "split", "accuracy", "mfr", "cv_fr", "mf", "cv_ff")
#: Network-level diagnostics added to each row when ``diagnostics=True`` (see ``analyze``).
TEST_COLUMNS = ("ff_fraction_significant_poisson", "ff_fraction_below_poisson", "ff_fraction_significant_bernoulli",
                "ff_fraction_below_bernoulli", "ljung_box_combined_p", "ljung_box_fraction_significant",
                "adf_fraction_nonstationary")
DEFAULT_CONDITIONS = ("Random", "Generalizing", "MemRetrainLast")
log = logging.getLogger("ann2neo.reproduce")


def _jsonable(value):
    """Plain JSON values: numpy scalars to Python, NaN/Inf to None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _setup_logging(out: Path):
    handler = logging.FileHandler(out / "reproduce.log", mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("ann2neo")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger, handler


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
    return table


def reproduce(out, *, dataset="digits", data=None, width=128, seed=0, epochs=60, mem_epochs=None,
              conditions=DEFAULT_CONDITIONS, window=100, batch_size=256, diagnostics=True, progress=True,
              write_files=True):
    """Run the paper's comparison of Random, Generalizing and memorizing networks.

    Parameters
    ----------
    out : str or Path
        Output folder; receives ``results.csv``, ``results.json``,
        ``comparisons.csv`` (with diagnostics), one
        ``<condition>.nwb`` per condition (segments ``train`` and ``test``) and
        ``reproduce.log``.  Created if missing.
    dataset : {"digits", "mnist", "fashion_mnist", "cifar10"}, default "digits"
        ``digits`` is bundled with scikit-learn and needs no network.
    data : str or Path, optional
        Local ``.npz`` with ``x_train, y_train, x_test, y_test`` instead of ``dataset``.
    width : int, default 128
        Width of the hidden (recorded) layer.
    seed : int, default 0
        Seeds the split, initialization, label shuffling, training and sample order.
    epochs : int, default 60
        Epochs of the Generalizing training.
    mem_epochs : int, optional
        Epochs of memorization training on shuffled labels; default ``4 * epochs``
        (memorizing random labels takes longer than learning true ones).
    conditions : sequence of str, default ("Random", "Generalizing", "MemRetrainLast")
    window : int, default 100
        Fano-factor window in samples (paper: 100).
    batch_size : int, default 256
    diagnostics : bool, default True
        Add the Poisson-model diagnostics of each recording (:data:`TEST_COLUMNS`)
        and the Kolmogorov-Smirnov comparisons of paper Table 2
        (``comparisons.csv``; :func:`firing_rate_comparisons`).
    progress : bool, default True
        Progress bars on training and recording.
    write_files : bool, default True

    Returns
    -------
    pandas.DataFrame
        One row per condition and split with :data:`TABLE_COLUMNS` first
        (``accuracy`` in [0, 1] against the labels the network was trained on for
        the train split, true labels for the test split; ``cv_fr``/``cv_ff`` in %),
        then ``n_samples``, ``n_nodes``, ``n_silent``, ``mf_bernoulli``, ``mean_dispersion``,
        ``mean_cv_dispersion``
        and, with ``diagnostics``, :data:`TEST_COLUMNS`.  The KS comparisons are
        in ``table.attrs["comparisons"]`` (a DataFrame).

    Raises
    ------
    ann2neo.experiments.data.DatasetUnavailableError
        If the dataset cannot be loaded (e.g. a keras dataset while offline).
    ValueError
        For an unknown condition, a non-positive width/epochs, or a window longer
        than a split.
    """
    from ..keras.callbacks import TqdmProgress
    from ..keras.recording import record

    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ValueError(f"unknown condition(s) {unknown}; choose from {CONDITIONS}")
    if width < 1 or epochs < 1:
        raise ValueError("width and epochs must be positive")
    mem_epochs = 4 * epochs if mem_epochs is None else mem_epochs
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    logger, handler = _setup_logging(out) if write_files else (None, None)
    started = time.perf_counter()
    try:
        x_train, y_train, x_test, y_test = load_dataset(dataset, data, seed)
        name = "local data " + str(data) if data is not None else dataset
        log.info("dataset %s: %d train, %d test samples of shape %s", name, len(x_train), len(x_test), x_train.shape[1:])
        rng = np.random.default_rng(seed)
        shuffled = rng.permutation(y_train)
        orders = {"train": rng.permutation(len(x_train)), "test": rng.permutation(len(x_test))}
        n_classes = int(max(y_train.max(), y_test.max())) + 1
        base = build_mlp(x_train.shape[1:], width=width, n_classes=n_classes, seed=seed)
        bar = (lambda desc, n: TqdmProgress(desc, n, leave=False)) if progress else None
        networks = train_conditions(list(conditions), base, x_train, y_train, shuffled,
                                    {"Generalizing": epochs, "memorize": mem_epochs}, seed=seed, progress=bar)
        rows, rates = [], {}
        for condition in conditions:
            model, train_labels = networks[condition]
            splits = {"train": (x_train, train_labels), "test": (x_test, y_test)}
            segments = []
            for split, (x, labels) in splits.items():
                order = orders[split]
                _, accuracy = model.evaluate(x, labels, batch_size=batch_size, verbose=0)
                spikes = record(model, x[order], batch_size=batch_size, progress=progress)["hidden"]
                result = analyze(spikes, window=window, diagnostics=diagnostics, seed=seed)
                s = result.summary
                rates[f"{condition}/{split}"] = result.nodes["firing_rate"].to_numpy()
                rows.append({"condition": condition, "split": split, "accuracy": float(accuracy),
                             "mfr": s["mfr"], "cv_fr": s["cv_fr"], "mf": s["mf"], "cv_ff": s["cv_ff"],
                             "n_samples": result.n_samples, "n_nodes": s["n_nodes"], "n_silent": s["n_silent"],
                             "mf_bernoulli": s["mf_bernoulli"], "mean_dispersion": s["mean_dispersion"],
                             "mean_cv_dispersion": s["mean_cv_dispersion"],
                             **{key: result.tests[key] for key in TEST_COLUMNS if diagnostics}})
                log.info("%s/%s: accuracy %.4f MFR %.4f CV FR %.2f%% MF %.4f CV FF %.2f%% (%d silent of %d nodes)",
                         condition, split, accuracy, s["mfr"], s["cv_fr"], s["mf"], s["cv_ff"],
                         s["n_silent"], s["n_nodes"])
                if write_files:
                    segments.append(to_segment(spikes, name=split, split=split, condition=condition,
                                               dataset=name, model=model.name))
            if write_files:
                from ..io.nwb import write_nwb

                block = to_block(segments, name=condition, condition=condition, dataset=name,
                                 model=f"{model.name}: Flatten -> Dense({width}, relu) -> Dense({n_classes}, softmax); "
                                       f"condition {condition}; SGD lr 0.1; seed {seed}")
                write_nwb(out / f"{condition}.nwb", block, overwrite=True)
        table = pd.DataFrame(rows)
        comparisons = firing_rate_comparisons(rates, list(conditions)) if diagnostics and len(rates) > 1 else None
        if comparisons is not None:
            table.attrs["comparisons"] = comparisons
            for r in comparisons.itertuples():
                log.info("KS %s vs %s: D %.3f, Bonferroni p %.3g (%s)", r.a, r.b, r.statistic, r.p_bonferroni,
                         "different" if r.different else "not different")
        if write_files:
            write_text(out / "results.csv", table.to_csv(index=False))
            if comparisons is not None:
                write_text(out / "comparisons.csv", comparisons.to_csv(index=False))
            meta = {"dataset": name, "width": width, "seed": seed, "epochs": epochs, "mem_epochs": mem_epochs,
                    "window": window, "conditions": list(conditions),
                    "accuracy_note": "train: labels the network was trained on (shuffled for memorizing "
                                     "conditions); test: true labels",
                    "rows": table.to_dict(orient="records"),
                    "ks_comparisons": [] if comparisons is None else comparisons.to_dict(orient="records")}
            write_text(out / "results.json", json.dumps(_jsonable(meta), indent=2, allow_nan=False))
        log.info("finished in %.1f s", time.perf_counter() - started)
        return table
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
