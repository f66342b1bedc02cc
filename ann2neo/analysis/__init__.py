"""Analysis: spike-train statistics, the Bernoulli null model, diagnostics, surrogates."""
from .nullmodel import bernoulli_cv_isi, bernoulli_fano_factor, cv_dispersion, dispersion
from .report import NetworkAnalysis, analyze
from .statistics import (cv_isi, fano_factor, firing_rate, instantaneous_rate, isi, lv,
                         network_summary, node_statistics, time_histogram, window_counts)

__all__ = ["analyze", "NetworkAnalysis", "firing_rate", "fano_factor", "cv_isi", "lv", "isi",
           "window_counts", "time_histogram", "instantaneous_rate", "node_statistics",
           "network_summary", "bernoulli_fano_factor", "bernoulli_cv_isi", "dispersion", "cv_dispersion"]
