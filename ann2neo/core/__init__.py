"""Core objects: the sample time unit, input validation, binarization and Neo conversion."""
from .binarize import SpikeMatrix, binarize, threshold_for_dtype, unit_thresholds
from .conversion import (
                         as_spike_matrix,
                         from_spiketrains,
                         iter_spiketrains,
                         spike_matrix,
                         to_block,
                         to_segment,
                         to_spiketrains,
)
from .order import OrderWarning, check_order, runs_test
from .recording import Recording
from .units import UnitError, as_samples, as_time, parse_duration, sample

__all__ = ["sample", "UnitError", "as_samples", "as_time", "parse_duration", "Recording",
           "SpikeMatrix", "binarize", "threshold_for_dtype",
           "as_spike_matrix", "to_spiketrains", "iter_spiketrains", "from_spiketrains", "to_segment", "to_block",
           "spike_matrix", "unit_thresholds", "OrderWarning", "runs_test", "check_order"]
