"""ann2neo: look at an artificial network the way neuroscientists look at neurons.

Pipeline: record (Keras) -> binarize -> convert (Neo) -> analyze (Elephant) -> export (NWB, NIX).

The core — the :data:`sample` time unit, :func:`binarize`, Neo conversion and
analysis — imports without TensorFlow; :func:`record` loads TensorFlow on first
use.  Importing ann2neo registers the ``sample`` unit with ``quantities``.
"""
from .analysis import (
    NetworkAnalysis,
    analyze,
    bernoulli_cv_isi,
    bernoulli_fano_factor,
    cv_isi,
    fano_factor,
    firing_rate,
    instantaneous_rate,
    isi,
    lv,
    network_summary,
    node_statistics,
    time_histogram,
    window_counts,
)
from .core import (
    SpikeMatrix,
    UnitError,
    as_samples,
    as_spike_matrix,
    binarize,
    from_spiketrains,
    sample,
    spike_matrix,
    to_block,
    to_segment,
    to_spiketrains,
)

try:  # one version source: the installed package's metadata (pyproject.toml)
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("ann2neo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0+unknown"

__all__ = ["sample", "UnitError", "as_samples", "SpikeMatrix", "binarize", "to_spiketrains", "from_spiketrains",
           "to_segment", "to_block", "as_spike_matrix", "spike_matrix", "record", "analyze", "NetworkAnalysis",
           "firing_rate", "fano_factor", "cv_isi", "lv", "isi", "window_counts", "time_histogram",
           "instantaneous_rate", "node_statistics", "network_summary", "bernoulli_fano_factor",
           "bernoulli_cv_isi", "write_nwb", "read_nwb", "__version__"]

_LAZY = {"record": "ann2neo.keras.recording", "write_nwb": "ann2neo.io.nwb", "read_nwb": "ann2neo.io.nwb"}


def __getattr__(name):
    # TensorFlow and pynwb are heavy optional extras: load them on first use only.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ann2neo' has no attribute {name!r}")
