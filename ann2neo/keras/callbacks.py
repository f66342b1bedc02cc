"""Keras callbacks."""
from __future__ import annotations

__all__ = ["TqdmProgress"]


def TqdmProgress(description: str, epochs: int, **tqdm_kwargs):
    """A Keras callback showing a tqdm bar over epochs with loss and accuracy.

    Parameters
    ----------
    description : str
        Bar label (e.g. the condition being trained).
    epochs : int
        Total number of epochs.
    **tqdm_kwargs
        Passed to ``tqdm.auto.tqdm``.

    Returns
    -------
    keras.callbacks.Callback
    """
    import keras
    from tqdm.auto import tqdm

    class _Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs, desc=f"training {description}", unit="epoch", **tqdm_kwargs)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items() if k in ("loss", "accuracy")})
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return _Progress()
