"""The paper's experiments: datasets, network conditions, the reproduce pipeline."""
from .conditions import CONDITIONS
from .data import DatasetUnavailableError, load_dataset

__all__ = ["CONDITIONS", "DatasetUnavailableError", "load_dataset"]
