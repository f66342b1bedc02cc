"""Keras/TensorFlow side: recording layer spikes, callbacks. TensorFlow is imported on use."""
from .callbacks import TqdmProgress
from .recording import default_layer, last_hidden_layer, record

__all__ = ["record", "default_layer", "last_hidden_layer", "TqdmProgress", "FiringRateMonitor"]


def __getattr__(name):
    # FiringRateMonitor subclasses keras.callbacks.Callback, so its module imports Keras: load it on first use
    if name == "FiringRateMonitor":
        from .monitor import FiringRateMonitor

        return FiringRateMonitor
    raise AttributeError(f"module 'ann2neo.keras' has no attribute {name!r}")
