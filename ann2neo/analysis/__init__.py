"""Analysis: spike-train statistics in any time base (one adapter), the exact nulls, diagnostics, trials,
stimulus-conditioned and population statistics, surrogates.
"""
from ._trials import trial_surrogates
from .conditioned import mutual_information, psth, selectivity, sparseness, trial_fano_factor, tuning
from .diagnostics import adf_test, autocorrelation, compare_firing_rates, diagnose, fano_factor_test, ljung_box
from .nullmodel import (
    bernoulli_cv_isi,
    bernoulli_fano_factor,
    bernoulli_fano_factor_variance,
    cv_dispersion,
    dispersion,
    expected_cv_isi_squared,
    expected_fano_factor,
    expected_lv,
    lv_dispersion,
)
from .pairwise import cross_correlograms, sttc, synchrony
from .population import correlations, decode, participation_ratio
from .report import NetworkAnalysis, analyze
from .statistics import (
    MIN_WINDOWS,
    SmallSampleWarning,
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
from .surrogates import bernoulli_surrogates, poisson_surrogates
from .trials import TrialStatistics, trial_statistics

__all__ = ["analyze", "NetworkAnalysis", "firing_rate", "fano_factor", "cv_isi", "lv", "isi",
           "window_counts", "time_histogram", "instantaneous_rate", "node_statistics",
           "network_summary", "SmallSampleWarning", "MIN_WINDOWS", "bernoulli_fano_factor", "bernoulli_cv_isi",
           "expected_fano_factor", "expected_cv_isi_squared", "expected_lv", "dispersion", "cv_dispersion",
           "lv_dispersion", "bernoulli_fano_factor_variance", "fano_factor_test", "autocorrelation", "ljung_box",
           "adf_test", "compare_firing_rates", "poisson_surrogates", "bernoulli_surrogates", "diagnose",
           "trial_statistics", "TrialStatistics",
           # population and stimulus-conditioned statistics
           "tuning", "selectivity", "mutual_information", "sparseness", "trial_fano_factor", "psth", "correlations",
           "participation_ratio", "decode", "cross_correlograms", "sttc", "synchrony", "trial_surrogates"]
