"""Datasets for the paper's experiments: bundled digits, keras.datasets, local .npz."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DatasetUnavailableError", "load_dataset", "KERAS_DATASETS"]

KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")


class DatasetUnavailableError(RuntimeError):
    """A dataset cannot be loaded (e.g. a download while offline, or a bad file)."""


def _digits(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")  # 8x8 images, 0..16 -> [0, 1]
    y = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    return x_train, y_train, x_test, y_test


def _keras_dataset(name: str):
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as err:  # keras raises a plain Exception when the download fails
        raise DatasetUnavailableError(
            f"could not load {name!r} with keras.datasets ({type(err).__name__}: {err}). It is "
            f"downloaded on first use, so this machine may be offline. Use the bundled digits "
            f"(--dataset digits) or pass local arrays with --data FILE.npz "
            f"(x_train, y_train, x_test, y_test)."
        ) from err
    scale = 255.0
    return ((x_train / scale).astype("float32"), y_train.reshape(-1).astype("int64"),
            (x_test / scale).astype("float32"), y_test.reshape(-1).astype("int64"))


def _npz(path):
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(data.files)
            if missing:
                raise DatasetUnavailableError(f"{path} lacks the arrays {sorted(missing)}; it needs "
                                              f"x_train, y_train, x_test, y_test")
            arrays = [data[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError) as err:
        raise DatasetUnavailableError(f"cannot read {path} as a .npz archive: {err}") from err
    x_train, y_train, x_test, y_test = arrays
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y) or len(x) == 0:
            raise DatasetUnavailableError(f"{path}: x_{split} and y_{split} must be non-empty and of equal length")
        if not np.isfinite(x).all():
            raise DatasetUnavailableError(f"{path}: x_{split} contains NaN or Inf")
    return (x_train.astype("float32"), y_train.reshape(-1).astype("int64"),
            x_test.astype("float32"), y_test.reshape(-1).astype("int64"))


def load_dataset(name: str = "digits", data=None, seed: int = 0):
    """Load a classification dataset as ``(x_train, y_train, x_test, y_test)``.

    Parameters
    ----------
    name : {"digits", "mnist", "fashion_mnist", "cifar10"}
        ``digits``: scikit-learn's bundled 1,797 handwritten 8x8 digits, scaled
        to [0, 1] and split 75/25 with ``train_test_split(stratify=y,
        random_state=seed)`` — needs no network.  The others come from
        ``keras.datasets`` (downloaded on first use), scaled to [0, 1] with
        Keras' own train/test split, as in arXiv:2308.00858 section 3.1.1.
    data : str or Path, optional
        A ``.npz`` file with ``x_train, y_train, x_test, y_test``; overrides ``name``.
    seed : int, default 0

    Returns
    -------
    tuple of ndarray
        float32 inputs, int64 labels.

    Raises
    ------
    DatasetUnavailableError
        If a keras dataset cannot be downloaded (offline) or the .npz file is
        missing arrays, unreadable or corrupt.
    ValueError
        For an unknown dataset name.
    """
    if data is not None:
        return _npz(data)
    if name == "digits":
        return _digits(seed)
    if name in KERAS_DATASETS:
        return _keras_dataset(name)
    raise ValueError(f"unknown dataset {name!r}; choose digits, {', '.join(KERAS_DATASETS)}, or pass data=FILE.npz")
