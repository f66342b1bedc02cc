"""The paper's experiments: configuration, datasets, network conditions, the reproduce pipeline."""
from .conditions import CONDITION_TABLE, CONDITIONS, Condition
from .config import ReproduceConfig, fano_window
from .data import DATASETS, DatasetUnavailableError, load_dataset

__all__ = ["CONDITIONS", "CONDITION_TABLE", "Condition", "DATASETS", "DatasetUnavailableError", "ReproduceConfig",
           "fano_window", "load_dataset"]
