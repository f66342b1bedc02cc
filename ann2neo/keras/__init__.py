"""Keras/TensorFlow side: recording layer spikes. Importing this imports TensorFlow lazily."""
from .callbacks import TqdmProgress
from .recording import last_hidden_layer, record

__all__ = ["record", "last_hidden_layer", "TqdmProgress"]
