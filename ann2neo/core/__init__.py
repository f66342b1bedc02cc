"""Core objects: the sample time unit, binarization and Neo conversion."""
from .binarize import SpikeMatrix, binarize
from .conversion import from_spiketrains, spike_matrix, to_block, to_segment, to_spiketrains
from .units import UnitError, as_samples, sample

__all__ = ["sample", "UnitError", "as_samples", "SpikeMatrix", "binarize",
           "to_spiketrains", "from_spiketrains", "to_segment", "to_block", "spike_matrix"]
