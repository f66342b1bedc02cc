"""Keras callbacks (Keras/TensorFlow imported on use)."""
from __future__ import annotations

__all__ = ["TqdmProgress"]


def TqdmProgress(description: str, epochs: int, **tqdm_kwargs):  # noqa: N802 (kept for compatibility)
    """A progress bar over epochs: ``tqdm.keras.TqdmCallback`` (a real ``keras.callbacks.Callback``).

    Parameters
    ----------
    description : str
        Bar label (e.g. the condition being trained).
    epochs : int
        Total number of epochs.
    **tqdm_kwargs
        Passed to tqdm (e.g. ``leave=False``).

    Returns
    -------
    tqdm.keras.TqdmCallback
        Epoch bar only (``verbose=0``), showing the logged loss and accuracy.
    """
    from tqdm.keras import TqdmCallback

    return TqdmCallback(epochs=epochs, verbose=0, desc=f"training {description}", **tqdm_kwargs)
