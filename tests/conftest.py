import os
import warnings
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def hetero_matrix(rng):
    """Heterogeneous rates with edge nodes: silent, always-on, 1 spike, 2 spikes, spike at last sample."""
    n_samples, n_nodes = 1050, 40
    p = rng.uniform(0.0, 0.95, size=n_nodes)
    m = rng.random((n_samples, n_nodes)) < p
    m[:, 0] = False                     # silent
    m[:, 1] = True                      # spikes every sample
    m[:, 2] = False; m[7, 2] = True     # one spike
    m[:, 3] = False; m[[5, 40], 3] = True  # one ISI
    m[:, 4] = False; m[-1, 4] = True; m[3, 4] = True; m[500, 4] = True  # spike at the last sample
    m[:, 5] = False; m[1020:, 5] = True  # spikes only after the last complete window
    return m


def elephant_quiet():
    warnings.filterwarnings("ignore", message="Binning discarded")


#: The real recordings beside the repository (``../shared/data/real_neurons``), or $ANN2NEO_REAL_NEURONS.
REAL_NEURONS = Path(os.environ.get("ANN2NEO_REAL_NEURONS",
                                   Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_neurons"))


@pytest.fixture(scope="session")
def real_neurons():
    """Folder of the real spike recordings (see its README); the tests that need it skip without it."""
    if not (REAL_NEURONS / "10_spikes-1.mat").exists():
        pytest.skip(f"real recordings not found at {REAL_NEURONS} (set ANN2NEO_REAL_NEURONS)")
    return REAL_NEURONS
