"""ann2neo: look at an artificial network the way neuroscientists look at neurons.

Pipeline: record (Keras) -> binarize -> convert (Neo) -> analyze (Elephant) -> export (NWB, NIX).

The core — the :data:`sample` time unit, :func:`binarize`, Neo conversion and
analysis — imports without TensorFlow; :func:`record` loads TensorFlow on first
use.  Importing ann2neo registers the ``sample`` unit with ``quantities``
and quiets TensorFlow's C++ start-up lines (:mod:`ann2neo._quiet`; set
``TF_CPP_MIN_LOG_LEVEL`` yourself, ``ANN2NEO_TF_LOGS=1``, or enable DEBUG
logging for ``ann2neo`` before TensorFlow loads to see them).
"""
from . import _quiet

_quiet.install()  # before anything can import TensorFlow
from .analysis import (  # noqa: E402
    NetworkAnalysis,
    SmallSampleWarning,
    analyze,
    bernoulli_cv_isi,
    bernoulli_fano_factor,
    correlations,
    cross_correlograms,
    cv_isi,
    decode,
    fano_factor,
    firing_rate,
    instantaneous_rate,
    isi,
    lv,
    mutual_information,
    network_summary,
    node_statistics,
    participation_ratio,
    psth,
    selectivity,
    sparseness,
    sttc,
    synchrony,
    time_histogram,
    trial_fano_factor,
    trial_statistics,
    trial_surrogates,
    tuning,
    window_counts,
)
from .core import (  # noqa: E402
    OrderWarning,
    Recording,
    SpikeMatrix,
    UnitError,
    as_samples,
    as_spike_matrix,
    binarize,
    from_spiketrains,
    iter_spiketrains,
    sample,
    spike_matrix,
    to_block,
    to_segment,
    to_spiketrains,
    unit_thresholds,
)

try:  # one version source: the installed package's metadata (pyproject.toml)
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("ann2neo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0+unknown"

_LAZY = {
    # TensorFlow/Keras, pynwb, nixio and the comparison load on first use only.
    "record": "ann2neo.keras.recording", "default_layer": "ann2neo.keras.recording",
    "record_activations": "ann2neo.keras.probe",
    "write_nwb": "ann2neo.io.nwb", "read_nwb": "ann2neo.io.nwb", "read_nwb_matrices": "ann2neo.io.nwb",
    "add_recordings": "ann2neo.io.nwb", "FileFormatError": "ann2neo.io.nwb",
    "write_nix": "ann2neo.io.nix", "read_nix": "ann2neo.io.nix",
    "read": "ann2neo.io.formats", "read_block": "ann2neo.io.formats", "read_all": "ann2neo.io.formats",
    "write": "ann2neo.io.formats",
    "file_format": "ann2neo.io.formats",
    "load_recording": "ann2neo.io.loaders", "AmbiguousVariablesError": "ann2neo.io.loaders",
    "read_store": "ann2neo.io.store",
    "compare": "ann2neo.analysis.compare", "Comparison": "ann2neo.analysis.compare",
    "threshold_sweep": "ann2neo.analysis.threshold", "layer_scan": "ann2neo.experiments.depth",
}

__all__ = ["sample", "UnitError", "Recording", "as_samples", "SpikeMatrix", "binarize", "to_spiketrains",
           "iter_spiketrains", "from_spiketrains", "to_segment", "to_block", "as_spike_matrix", "spike_matrix",
           "analyze", "NetworkAnalysis", "SmallSampleWarning", "firing_rate", "fano_factor", "cv_isi", "lv", "isi",
           "window_counts", "time_histogram", "instantaneous_rate", "node_statistics", "network_summary",
           "trial_statistics", "bernoulli_fano_factor", "bernoulli_cv_isi", "OrderWarning", "unit_thresholds",
           "tuning", "selectivity", "mutual_information", "sparseness", "trial_fano_factor", "psth", "correlations",
           "participation_ratio", "decode", "cross_correlograms", "sttc", "synchrony", "trial_surrogates",
           "__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ann2neo' has no attribute {name!r}")
