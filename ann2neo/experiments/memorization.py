"""``ann2neo memorization``: which activation statistic of training samples detects memorization, how early.

Networks are trained with a fraction of their *training* labels replaced by
a random other class (label noise; the test labels stay clean).  After every
epoch (and at epoch 0, before training) each hidden layer is recorded on a
fixed probe of training samples and turned into the candidate indicators of
:func:`ann2neo.analysis.indicators.memorization_indicators`; next to them the
ground truth (train/test accuracy gap) and the validation baseline (the gap
to a validation split that carries the same label noise) are measured.  The
study's table, ``trajectories.csv``, has one row per run x epoch x layer
(columns in :data:`TRAJECTORY_COLUMNS`); the analysis
(:mod:`ann2neo.experiments.memorization_analysis`) turns it into AUROCs,
lead/lag and figures.

The study resumes: each finished run writes ``runs/<run>.csv`` and then
``runs/<run>.json`` (its configuration and the CSV's SHA-256) atomically, and
a rerun skips each run whose two files are intact and whose configuration is
the same.  Every run is seeded, so a killed study ends with the same table as
an uninterrupted one.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.indicators import INDICATORS
from ..core.validation import check_integer, check_option, check_real

__all__ = ["MemorizationConfig", "RunSpec", "TRAJECTORY_COLUMNS", "NOISE_LEVELS", "inject_label_noise",
           "run_specs", "run_name", "train_run", "memorization", "load_memorization_toml"]

log = logging.getLogger("ann2neo.memorization")

#: The label-noise fractions of the issue.
NOISE_LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: Architectures and datasets the study knows (``build_model`` and ``load_dataset`` names).
MEMO_ARCHITECTURES = ("mlp", "cnn")
MEMO_DATASETS = ("digits", "mnist5k")
OPTIMIZERS = ("adam", "sgd")
#: Columns of ``trajectories.csv``, in order (shared interface of issue 17); later columns are only appended.
TRAJECTORY_COLUMNS = ("run", "architecture", "dataset", "noise", "seed", "epoch", "layer", "n_units", *INDICATORS,
                      "train_acc", "noisy_acc", "test_acc", "gap", "val_acc", "val_gap", "memorizing")
#: Columns appended after the interface's.
EXTRA_COLUMNS = ("n_probe", "n_layer_units", "train_loss", "seconds")
RUNS = "runs"


def _opt(help_text, **cli):
    return {"help": help_text, **cli}


def _tuple(value, name, check):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        value = (value,)
    out = tuple(check(v) for v in value)
    if not out:
        raise ValueError(f"{name} must list at least one value")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} lists a value twice: {list(out)}")
    return out


@dataclass(frozen=True)
class MemorizationConfig:
    """Settings of one ``ann2neo memorization`` study (issue 17).

    Built once, validated in ``__post_init__``, never modified; ``to_dict``
    goes into every run's JSON file and the study's manifest.

    Parameters
    ----------
    architectures : tuple of {"mlp", "cnn"}, default ("mlp", "cnn")
        :func:`ann2neo.experiments.conditions.build_model` architectures;
        hidden layers recorded: ``hidden`` (mlp), ``conv`` and ``hidden`` (cnn).
    datasets : tuple of {"digits", "mnist5k"}, default ("digits", "mnist5k")
    noise : tuple of float, default (0, 0.2, 0.4, 0.6, 0.8, 1.0)
        Label-noise fractions: that fraction of the training labels (validation
        split included) is replaced by a uniformly random *other* class.
    seeds : tuple of int, default (0, 1)
        Seeds of the noisy runs (every noise level > 0).
    clean_seeds : tuple of int, default (0, 1, ..., 7)
        Seeds of the clean runs (noise 0), for the false-alarm measurement
        (``None``: ``seeds``).  Noise 0 is run at these seeds only.
    epochs : int, default 20
    width : int, default 512
        Width of the Dense ``hidden`` layer of the mlp.
    cnn_width : int or None, default 32
        Width of the cnn's ``hidden`` layer (its input is the whole conv
        output, so a wide one is slow); None: ``width``.
    optimizer : {"adam", "sgd"}, default "adam"
    learning_rate : float, default 0.01
    batch_size : int, default 64
    max_train : int or None, default 800
        Stratified subsample of the training set (before the validation
        split) to at most this many samples; None: all.
    val_fraction : float, default 0.2
        Validation split (stratified on the noisy labels), noisy like training.
    probe_size : int, default 500
        Training samples of the probe (stratified by the noisy label, sorted by it).
    max_units : int, default 512
        A layer with more units is recorded on a fixed seeded random subset of this many.
    gap_threshold : float, default 0.2
        ``memorizing`` is ``train_acc - test_acc > gap_threshold``.
    false_alarm_quantile : float, default 0.95
        The lead/lag alarm threshold: this quantile of the clean checkpoints of the training folds.
    n_bootstrap : int, default 1000
        Cluster-bootstrap draws (over seeds) of the AUROC confidence intervals.
    figures : bool, default True
        Figures and ``report.md``.

    Raises
    ------
    TypeError, ValueError
        For a field of the wrong kind or value, before anything runs.
    """

    architectures: tuple = field(default=MEMO_ARCHITECTURES, metadata=_opt(
        "architectures (build_model): mlp, cnn", choices=MEMO_ARCHITECTURES, nargs="+"))
    datasets: tuple = field(default=MEMO_DATASETS, metadata=_opt(
        "datasets (load_dataset): digits, mnist5k", choices=MEMO_DATASETS, nargs="+"))
    noise: tuple = field(default=NOISE_LEVELS, metadata=_opt(
        "label-noise fractions of the training labels", nargs="+", type=float))
    seeds: tuple = field(default=(0, 1), metadata=_opt("seeds of the noisy runs", nargs="+", type=int))
    clean_seeds: tuple | None = field(default=tuple(range(8)), metadata=_opt(
        "seeds of the clean (noise 0) runs, for the false alarms", nargs="+", type=int))
    epochs: int = field(default=20, metadata=_opt("training epochs"))
    width: int = field(default=512, metadata=_opt("width of the mlp's Dense hidden layer"))
    cnn_width: int | None = field(default=32, metadata=_opt("width of the cnn's Dense hidden layer"))
    optimizer: str = field(default="adam", metadata=_opt("optimizer", choices=OPTIMIZERS))
    learning_rate: float = field(default=0.01, metadata=_opt("learning rate"))
    batch_size: int = field(default=64, metadata=_opt("batch size"))
    max_train: int | None = field(default=800, metadata=_opt(
        "stratified subsample of each training set to at most this many samples"))
    val_fraction: float = field(default=0.2, metadata=_opt("validation split, with the same label noise"))
    probe_size: int = field(default=500, metadata=_opt("training samples of the fixed probe"))
    max_units: int = field(default=512, metadata=_opt("record a seeded random subset of this many units of a "
                                                      "larger layer"))
    gap_threshold: float = field(default=0.2, metadata=_opt("memorizing: train_acc - test_acc above this"))
    false_alarm_quantile: float = field(default=0.95, metadata=_opt(
        "alarm threshold: this quantile of the clean checkpoints of the training folds"))
    n_bootstrap: int = field(default=1000, metadata=_opt("cluster-bootstrap draws over seeds"))
    figures: bool = field(default=True, metadata=_opt("figures and report.md"))

    def __post_init__(self):
        set_ = object.__setattr__

        def option(options, name):
            return lambda v: check_option(v, name, options)

        def noise(v):
            if isinstance(v, bool):
                raise TypeError(f"noise must be numbers in [0, 1], got {v!r}")
            return check_real(v, "noise", min_value=0, max_value=1)

        def seed(v):
            return check_integer(v, "seed", min_value=0, max_value=2**31 - 1)

        set_(self, "architectures", _tuple(self.architectures, "architectures", option(MEMO_ARCHITECTURES,
                                                                                       "architectures")))
        set_(self, "datasets", _tuple(self.datasets, "datasets", option(MEMO_DATASETS, "datasets")))
        set_(self, "noise", tuple(sorted(_tuple(self.noise, "noise", noise))))
        set_(self, "seeds", _tuple(self.seeds, "seeds", seed))
        set_(self, "clean_seeds", self.seeds if self.clean_seeds is None else
             _tuple(self.clean_seeds, "clean_seeds", seed))
        set_(self, "epochs", check_integer(self.epochs, "epochs", min_value=1))
        set_(self, "width", check_integer(self.width, "width", min_value=1))
        set_(self, "cnn_width", self.width if self.cnn_width is None else
             check_integer(self.cnn_width, "cnn_width", min_value=1))
        check_option(self.optimizer, "optimizer", OPTIMIZERS)
        set_(self, "learning_rate", check_real(self.learning_rate, "learning_rate", min_value=0,
                                               include_min=False))
        set_(self, "batch_size", check_integer(self.batch_size, "batch_size", min_value=1))
        if self.max_train is not None:
            set_(self, "max_train", check_integer(self.max_train, "max_train", min_value=50))
        set_(self, "val_fraction", check_real(self.val_fraction, "val_fraction", min_value=0, max_value=0.5,
                                              include_min=False))
        set_(self, "probe_size", check_integer(self.probe_size, "probe_size", min_value=20))
        set_(self, "max_units", check_integer(self.max_units, "max_units", min_value=2))
        set_(self, "gap_threshold", check_real(self.gap_threshold, "gap_threshold", min_value=0, max_value=1,
                                               include_min=False, include_max=False))
        set_(self, "false_alarm_quantile", check_real(self.false_alarm_quantile, "false_alarm_quantile",
                                                      min_value=0.5, max_value=1, include_max=False))
        set_(self, "n_bootstrap", check_integer(self.n_bootstrap, "n_bootstrap", min_value=0))
        if not isinstance(self.figures, bool):
            raise TypeError(f"figures must be True or False, got {self.figures!r}")

    def replace(self, **changes) -> MemorizationConfig:
        """A validated copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as plain JSON values (tuples as lists)."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    def run_settings(self) -> dict:
        """The fields that change a run's rows (not the analysis settings)."""
        skip = {"architectures", "datasets", "noise", "seeds", "clean_seeds", "false_alarm_quantile",
                "n_bootstrap", "figures"}
        return {k: v for k, v in self.to_dict().items() if k not in skip}


@dataclass(frozen=True)
class RunSpec:
    """One training run of the study: architecture x dataset x noise x seed."""

    architecture: str
    dataset: str
    noise: float
    seed: int

    @property
    def name(self) -> str:
        """E.g. ``mlp-digits-n0.4-s3``."""
        return run_name(self.architecture, self.dataset, self.noise, self.seed)


def run_name(architecture, dataset, noise, seed) -> str:
    """Name of a run.

    Examples
    --------
    >>> run_name("mlp", "digits", 0.4, 3)
    'mlp-digits-n0.4-s3'
    """
    return f"{architecture}-{dataset}-n{float(noise):g}-s{int(seed)}"


def run_specs(config: MemorizationConfig) -> list:
    """The study's runs: clean runs at ``clean_seeds``, noisy runs at ``seeds``.

    Returns
    -------
    list of RunSpec
        In the order architecture, dataset, noise, seed.

    Examples
    --------
    >>> specs = run_specs(MemorizationConfig(architectures=("mlp",), datasets=("digits",), noise=(0, 0.5),
    ...                                      seeds=(0,), clean_seeds=(0, 1)))
    >>> [s.name for s in specs]
    ['mlp-digits-n0-s0', 'mlp-digits-n0-s1', 'mlp-digits-n0.5-s0']
    """
    specs = []
    for arch in config.architectures:
        for data in config.datasets:
            for f in config.noise:
                for s in (config.clean_seeds if f == 0 else config.seeds):
                    specs.append(RunSpec(arch, data, float(f), int(s)))
    return specs


def inject_label_noise(labels, fraction, n_classes=None, seed=0):
    """Replace exactly ``round(fraction * n)`` labels by a uniformly random *other* class.

    Parameters
    ----------
    labels : array_like of int (n,)
        True class labels in ``0 .. n_classes - 1``.
    fraction : float in [0, 1]
        Fraction of the labels to corrupt.
    n_classes : int, optional
        Number of classes; default ``labels.max() + 1``.  At least 2.
    seed : int or numpy.random.Generator, default 0
        Chooses which labels and the new classes.

    Returns
    -------
    noisy : ndarray of int64 (n,)
        The labels with ``round(fraction * n)`` of them changed; a changed
        label never equals the true one.
    flipped : ndarray of bool (n,)
        Which labels were changed.

    Raises
    ------
    ValueError
        For a fraction outside [0, 1], labels outside the classes, or fewer
        than two classes.

    Examples
    --------
    >>> noisy, flipped = inject_label_noise([0, 1, 2, 3] * 5, 0.5, seed=1)
    >>> int(flipped.sum()), bool((noisy[flipped] != np.array([0, 1, 2, 3] * 5)[flipped]).all())
    (10, True)
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D integer array; got dtype {y.dtype}, shape {y.shape}")
    fraction = check_real(fraction, "fraction", min_value=0, max_value=1)
    k = int(y.max()) + 1 if n_classes is None else check_integer(n_classes, "n_classes", min_value=2)
    if k < 2:
        raise ValueError("label noise needs at least two classes")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must lie in 0..{k - 1}; got {y.min()}..{y.max()}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n_flip = int(round(fraction * y.size))
    flipped = np.zeros(y.size, bool)
    flipped[rng.choice(y.size, size=n_flip, replace=False)] = True
    noisy = y.astype(np.int64).copy()
    noisy[flipped] = (noisy[flipped] + rng.integers(1, k, size=n_flip)) % k  # uniform over the k - 1 others
    return noisy, flipped


def _stratified_subset(labels, size, rng):
    """Indices of about ``size`` samples, as many per label as possible (sorted)."""
    labels = np.asarray(labels)
    if size >= labels.size:
        return np.arange(labels.size)
    classes = np.unique(labels)
    per = size // classes.size
    chosen = []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        chosen.append(rng.choice(idx, size=min(per, idx.size), replace=False))
    chosen = np.concatenate(chosen)
    rest = np.setdiff1d(np.arange(labels.size), chosen)
    extra = rng.choice(rest, size=size - chosen.size, replace=False) if size > chosen.size else []
    return np.sort(np.concatenate([chosen, extra]).astype(int))


def _run_data(spec: RunSpec, config: MemorizationConfig):
    """Split, subsample, noise, validation split and probe of one run (numpy only, seeded)."""
    from sklearn.model_selection import train_test_split

    from .data import load_dataset

    x_train, y_train, x_test, y_test = load_dataset(spec.dataset, seed=spec.seed)
    rng = np.random.default_rng([spec.seed, 7919])
    if config.max_train is not None and config.max_train < len(y_train):
        keep = _stratified_subset(y_train, config.max_train, rng)
        x_train, y_train = x_train[keep], y_train[keep]
    noisy, flipped = inject_label_noise(y_train, spec.noise, 10, np.random.default_rng(
        [spec.seed, int(round(spec.noise * 1000)), 104729]))
    idx = np.arange(len(noisy))
    fit_idx, val_idx = train_test_split(idx, test_size=config.val_fraction, stratify=noisy,
                                        random_state=spec.seed)
    fit_idx, val_idx = np.sort(fit_idx), np.sort(val_idx)
    probe = _stratified_subset(noisy[fit_idx], min(config.probe_size, fit_idx.size), rng)
    probe = probe[np.argsort(noisy[fit_idx][probe], kind="stable")]  # sorted by the label trained on
    return {"x_fit": x_train[fit_idx], "y_fit": noisy[fit_idx], "flipped_fit": flipped[fit_idx],
            "x_val": x_train[val_idx], "y_val": noisy[val_idx], "x_test": x_test, "y_test": y_test,
            "probe": probe}


def _hidden_layers(architecture):
    return ["conv", "hidden"] if architecture == "cnn" else ["hidden"]


def _predict(model, x):
    """Predicted classes: one compiled call (``predict_on_batch``; far less overhead than ``predict``)."""
    return np.argmax(np.asarray(model.predict_on_batch(x)), axis=1)


def train_run(spec: RunSpec, config: MemorizationConfig, *, progress=None) -> pd.DataFrame:
    """Train one run and return its trajectory rows (one per epoch x hidden layer).

    Parameters
    ----------
    spec : RunSpec
    config : MemorizationConfig
    progress : callable, optional
        Called with a short line after each epoch.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRAJECTORY_COLUMNS` then :data:`EXTRA_COLUMNS`.

    Notes
    -----
    Epoch 0 is the untrained network.  The indicators are computed only by
    :func:`ann2neo.analysis.indicators.memorization_indicators` on the
    layer's spikes (activation > 0) on the probe, with the noisy labels.
    """
    import keras

    from .. import record
    from ..analysis.indicators import memorization_indicators
    from .conditions import build_model

    d = _run_data(spec, config)
    start = time.perf_counter()
    width = config.cnn_width if spec.architecture == "cnn" else config.width
    model = build_model(spec.architecture, d["x_fit"].shape[1:], width=width, seed=spec.seed)
    opt = (keras.optimizers.Adam(learning_rate=config.learning_rate) if config.optimizer == "adam" else
           keras.optimizers.SGD(learning_rate=config.learning_rate))
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    layers = _hidden_layers(spec.architecture)
    x_probe, y_probe = d["x_fit"][d["probe"]], d["y_fit"][d["probe"]]
    subsets = {}
    unit_rng = np.random.default_rng([spec.seed, 31337])
    flipped = d["flipped_fit"]
    rows = []
    x_eval = np.concatenate([d["x_fit"], d["x_val"], d["x_test"]])
    cuts = np.cumsum([len(d["y_fit"]), len(d["y_val"])])
    keras.utils.set_random_seed(spec.seed)
    loss = np.nan
    for epoch in range(config.epochs + 1):
        if epoch > 0:
            hist = model.fit(d["x_fit"], d["y_fit"], epochs=1, batch_size=config.batch_size, shuffle=True,
                             verbose=0)
            loss = float(hist.history["loss"][-1])
        if not np.isfinite(loss) and epoch > 0:
            raise FloatingPointError(f"{spec.name}: the training loss is {loss} at epoch {epoch} (diverged); "
                                     f"choose a smaller --learning-rate")
        pred_all = _predict(model, x_eval)
        pred, pred_val, pred_test = np.split(pred_all, cuts)
        train_acc = float(np.mean(pred == d["y_fit"]))
        noisy_acc = float(np.mean(pred[flipped] == d["y_fit"][flipped])) if flipped.any() else np.nan
        test_acc = float(np.mean(pred_test == d["y_test"]))
        val_acc = float(np.mean(pred_val == d["y_val"]))
        truth = {"train_acc": train_acc, "noisy_acc": noisy_acc, "test_acc": test_acc,
                 "gap": train_acc - test_acc, "val_acc": val_acc, "val_gap": train_acc - val_acc,
                 "memorizing": bool(train_acc - test_acc > config.gap_threshold)}
        # finite by the loss check above; record's own NaN check costs seconds per run (a traced function)
        spikes = record(model, x_probe, layers=layers, batch_size=512, check_finite=False)
        for layer in layers:
            s = np.asarray(spikes[layer])
            if layer not in subsets:
                subsets[layer] = (np.sort(unit_rng.choice(s.shape[1], config.max_units, replace=False))
                                  if s.shape[1] > config.max_units else np.arange(s.shape[1]))
            n_layer = s.shape[1]
            ind = memorization_indicators(s[:, subsets[layer]], y_probe)
            rows.append({"run": spec.name, "architecture": spec.architecture, "dataset": spec.dataset,
                         "noise": spec.noise, "seed": spec.seed, "epoch": epoch, "layer": layer,
                         "n_units": int(ind["n_units"]), **{k: ind[k] for k in INDICATORS}, **truth,
                         "n_probe": int(ind["n_samples"]), "n_layer_units": int(n_layer), "train_loss": loss,
                         "seconds": round(time.perf_counter() - start, 2)})
        if progress is not None:
            progress(f"{spec.name} epoch {epoch}/{config.epochs}: train {train_acc:.3f} test {test_acc:.3f} "
                     f"val {val_acc:.3f}")
    keras.backend.clear_session(free_memory=True)
    return pd.DataFrame(rows, columns=[*TRAJECTORY_COLUMNS, *EXTRA_COLUMNS])


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _finished(folder: Path, spec: RunSpec, settings: dict):
    """The run's rows if its files are intact and were made with these settings, else None."""
    csv, meta = folder / f"{spec.name}.csv", folder / f"{spec.name}.json"
    try:
        info = json.loads(meta.read_text())
        text = csv.read_text()
    except (OSError, ValueError):
        return None
    if info.get("settings") != settings or info.get("run") != dataclasses.asdict(spec) or \
            info.get("sha256") != _sha(text):
        return None
    return pd.read_csv(io.StringIO(text))


def load_memorization_toml(path) -> dict:
    """Read a study file: top-level keys are :class:`MemorizationConfig` fields (a ``[grid]`` table is merged).

    Example file::

        epochs = 30
        seeds = [0, 1, 2]
        [grid]
        architectures = ["mlp", "cnn"]
        datasets = ["digits", "mnist5k"]

    Returns
    -------
    dict
        Keyword arguments of :class:`MemorizationConfig`.

    Raises
    ------
    ValueError
        For a key that is not a field (lists the fields).
    """
    from .grid import load_grid_toml

    axes, settings = load_grid_toml(path)
    doc = {**settings, **axes}
    known = {f.name for f in dataclasses.fields(MemorizationConfig)}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ValueError(f"{path}: unknown setting(s) {unknown}; the settings are {sorted(known)}")
    return doc


def memorization(out, config: MemorizationConfig, *, overwrite=False, argv=None, analyze=True) -> pd.DataFrame:
    """Run (or resume) the memorization study and write its table, analysis and report.

    Parameters
    ----------
    out : str or Path
        Study folder.  A folder from an earlier study is resumed (finished runs
        with the same settings are skipped); a folder holding anything else
        needs ``overwrite``.
    config : MemorizationConfig
    overwrite : bool, default False
        Start over: the earlier study's runs and outputs are removed.
    argv : list of str, optional
        The command line recorded in the manifest.
    analyze : bool, default True
        Write ``auroc.csv``, ``lead_lag.csv``, figures and ``report.md``
        (:func:`ann2neo.experiments.memorization_analysis.analyze_study`).

    Returns
    -------
    pandas.DataFrame
        The trajectories table (also ``out/trajectories.csv``).

    Raises
    ------
    FileExistsError
        If ``out`` holds something else and ``overwrite`` is False.
    ann2neo.io._lock.RunLockedError
        If another process is writing the same folder.
    """
    from ..io._lock import run_lock

    if not isinstance(config, MemorizationConfig):
        raise TypeError(f"config must be a MemorizationConfig, got {type(config).__name__}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file, not a folder")
    with run_lock(out):
        return _memorization(out, config, overwrite, argv, analyze)


OWNED = (RUNS, "figures", "trajectories.csv", "auroc*.csv", "lead_lag*.csv", "report.md", "study.json",
         "manifest.json")


def _memorization(out, config, overwrite, argv, analyze):
    from ..io._atomic import write_text
    from ..io._lock import LOCK_NAME
    from ..io.manifest import MANIFEST, prepare_run_dir, write_manifest
    from .reproduce import _checkpoint

    marker = out / "study.json"
    if out.exists() and any(p.name != LOCK_NAME for p in out.iterdir()) and not marker.exists() and not overwrite:
        raise FileExistsError(f"--out {out} is not empty and holds no memorization study; choose a new folder or "
                              f"pass --overwrite")
    if overwrite:
        prepare_run_dir(out, True, owned=OWNED)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    specs = run_specs(config)
    write_text(marker, json.dumps({"kind": "ann2neo-memorization/1", "runs": [s.name for s in specs]}, indent=2))
    settings = json.loads(json.dumps(config.run_settings()))
    runs = out / RUNS
    frames, seconds, skipped = [], 0.0, 0
    t0 = time.perf_counter()
    for i, spec in enumerate(specs):
        rows = _finished(runs, spec, settings)
        if rows is not None:
            skipped += 1
            log.info("run %d/%d %s: finished, skipped (resume)", i + 1, len(specs), spec.name)
        else:
            log.info("run %d/%d %s: training", i + 1, len(specs), spec.name)
            rows = train_run(spec, config, progress=log.debug)
            text = rows.to_csv(index=False)
            write_text(runs / f"{spec.name}.csv", text)
            write_text(runs / f"{spec.name}.json", json.dumps(
                {"run": dataclasses.asdict(spec), "settings": settings, "sha256": _sha(text)}, indent=2))
            rows = pd.read_csv(io.StringIO(text))  # what a resumed study reads back
            log.info("run %d/%d %s: %.1f s", i + 1, len(specs), spec.name, rows["seconds"].max())
            _checkpoint(f"after-run:{spec.name}")
        seconds += float(rows["seconds"].max())
        frames.append(rows)
    table = pd.concat(frames, ignore_index=True)
    table["memorizing"] = table["memorizing"].astype(bool)
    files = ["study.json", "trajectories.csv"]
    write_text(out / "trajectories.csv", table.to_csv(index=False))
    extra = {"runs": len(specs), "runs_skipped": skipped, "train_seconds_total": round(seconds, 1),
             "wall_seconds_this_call": round(time.perf_counter() - t0, 1)}
    if analyze:
        from .memorization_analysis import analyze_study

        files.extend(analyze_study(out, table, config, timing=extra))
    run_files = [f"{RUNS}/{s.name}.{ext}" for s in specs for ext in ("csv", "json")]
    write_manifest(out, files + run_files, config=config.to_dict(),
                   argv=list(sys.argv if argv is None else argv), extra=extra)
    return table
