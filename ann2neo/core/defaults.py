"""Shared defaults of the analysis: one home for the numbers several modules use.

Examples
--------
>>> from ann2neo.core.defaults import PAPER_WINDOW, MIN_WINDOWS
>>> PAPER_WINDOW, MIN_WINDOWS
(100, 20)
"""
from __future__ import annotations

import quantities as pq

__all__ = ["PAPER_WINDOW", "DEFAULT_TIME_WINDOW", "MIN_WINDOWS", "MIN_UNITS_KS", "ALPHA", "LAGS",
           "MIN_ADF_WINDOWS"]

#: Fano-factor window of arXiv:2308.00858 (section 3.3.1), in samples.
PAPER_WINDOW = 100

#: Fano-factor window for spike trains in physical time when none is given.
DEFAULT_TIME_WINDOW = 100 * pq.ms

#: Recordings with fewer complete windows than this are flagged (``summary["flags"]``) and warned about.
MIN_WINDOWS = 20

#: Fewest units on each side for a Kolmogorov-Smirnov test between two populations of units
#: (below it the KS distribution of a handful of values is too coarse to mean anything).
MIN_UNITS_KS = 5

#: Significance level of the diagnostics.
ALPHA = 0.05

#: Ljung-Box lags (samples for a spike matrix, windows for spike times).
LAGS = 10

#: Fewest windows for the ADF test.
MIN_ADF_WINDOWS = 20
