"""compare(): an ANN layer next to recorded units, on the same statistics."""
import neo
import numpy as np
import pytest
import quantities as pq
from scipy import stats

import ann2neo
from ann2neo.analysis.compare import binning_loss, compare, fano_factor_curve


@pytest.fixture
def populations():
    rng = np.random.default_rng(0)
    ann = rng.random((5000, 30)) < rng.uniform(0.05, 0.6, 30)
    real = [neo.SpikeTrain(np.sort(rng.uniform(0, 20, rng.poisson(20 * r))) * pq.s, t_stop=20 * pq.s)
            for r in rng.uniform(2, 30, 12)]
    return ann, real


def test_compare_tables_and_ks(populations):
    ann, real = populations
    result = compare(ann, real, sample_duration=1 * pq.ms)
    assert len(result.nodes["ann"]) == 30 and len(result.nodes["real"]) == 12
    np.testing.assert_allclose(result.nodes["ann"]["firing_rate"], ann.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(result.nodes["real"]["firing_rate"], [len(st) / 20 for st in real], rtol=1e-12)
    row = result.ks.set_index("quantity").loc["cv_isi"]
    a = result.nodes["ann"]["cv_isi"].dropna()
    b = result.nodes["real"]["cv_isi"].dropna()
    assert row["statistic"] == pytest.approx(stats.ks_2samp(a, b).statistic, rel=1e-12)
    assert row["p_bonferroni"] == pytest.approx(min(1, row["p_value"] * result.ks["p_value"].notna().sum()))
    # independent ANN nodes have CV sqrt(1 - rate) (Bernoulli), Poisson units CV 1: the raw CVs differ,
    # the ratios to each side's null do not
    assert result.ks.set_index("quantity").loc["cv_isi", "different"]
    assert not result.ks.set_index("quantity").loc["cv_dispersion", "different"]
    curve = result.fano_curve
    assert set(curve["population"]) == {"ann", "real"}
    ann_curve = curve[curve.population == "ann"]
    assert ann_curve["window_unit"].eq("sample").all() and (ann_curve["window_ms"] == ann_curve["window"]).all()
    assert (ann_curve["n_windows"] >= 2).all()
    assert any("sample_duration" in note for note in result.notes)


def test_fano_factor_curve_matches_node_statistics(populations):
    ann, real = populations
    curve = fano_factor_curve(ann, [50, 100, 3000])
    assert list(curve["window"]) == [50.0, 100.0]  # 3000 samples give 1 window: skipped
    assert curve["mean_fano_factor"].iloc[1] == pytest.approx(ann2neo.fano_factor(ann, 100).mean(), rel=1e-12)
    real_curve = fano_factor_curve(real, [100 * pq.ms, 1 * pq.s])
    assert list(real_curve["window"]) == [100.0, 1000.0] and list(real_curve["n_windows"]) == [200, 20]


def test_binning_loss_counts_double_spikes():
    st = neo.SpikeTrain([0.1, 0.2, 1.5, 3.0, 3.9, 3.95] * pq.ms, t_stop=10 * pq.ms)
    loss = binning_loss([st], 1 * pq.ms)
    assert loss == {"bin_ms": 1.0, "n_spikes": 6, "n_lost": 3, "fraction_lost": 0.5}


def test_compare_refuses_units_that_do_not_fit(populations):
    ann, real = populations
    with pytest.raises(ann2neo.UnitError, match="sample_duration"):
        compare(ann, real, sample_duration=1)
    with pytest.raises(ann2neo.UnitError, match="physical time"):
        compare(ann, ann2neo.to_spiketrains(ann), sample_duration=1 * pq.ms)
    with pytest.raises(ann2neo.UnitError, match="in samples"):
        compare(real, real, sample_duration=1 * pq.ms)
    with pytest.raises(ValueError, match="alpha"):
        compare(ann, real, sample_duration=1 * pq.ms, alpha=1.5)
