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


# -- the population part ---------------------------------------------------------------------------------------------
@pytest.fixture
def conditioned():
    """An ANN layer on 2 classes and 6 recorded units over 40 trials of 2 s in 2 directions (Poisson counts)."""
    rng = np.random.default_rng(3)
    labels = np.arange(800) % 2
    ann = rng.random((800, 10)) < np.where(labels[:, None] == 1, rng.uniform(0.1, 0.3, 10), rng.uniform(0.3, 0.6, 10))
    direction = np.repeat(["left", "right"], 20)
    shared = rng.gamma(4, 0.25, 40)[:, None]                          # a common gain: noise correlations > 0
    rates = np.where(direction[:, None] == "left", rng.uniform(5, 20, 6), rng.uniform(5, 20, 6)) * shared
    counts = rng.poisson(rates * 2.0)                                  # spikes per 2 s trial
    times = [[np.sort(rng.uniform(0, 2, c)) + 10 * k for c in row] for k, row in enumerate(counts)]
    real = ann2neo.Recording.from_spike_times(times, t_start=10.0 * np.arange(40) * pq.s,
                                              t_stop=(10.0 * np.arange(40) + 2) * pq.s,
                                              trials={"direction": direction}, condition="direction")
    return ann, labels, real, counts


def _rows(result, population):
    t = result.population
    return t[t["population"] == population].set_index(["statistic", "condition"])


@pytest.mark.filterwarnings("ignore::ann2neo.analysis.statistics.SmallSampleWarning")
def test_population_rows_match_the_public_functions(conditioned):
    ann, labels, real, counts = conditioned
    result = compare(ann, real, sample_duration=1 * pq.ms, ann_labels=labels, n_shuffles=3, seed=1)
    assert list(result.population.columns) == ann2neo.analysis.compare.POPULATION_COLUMNS
    assert result.population.attrs["conditions"] == {"ann": "label", "real": "direction"}
    rec_ann = ann2neo.Recording.from_matrix(ann, labels=labels)
    ann_rows, real_rows = _rows(result, "ann"), _rows(result, "real")
    # tuning: rates per condition in each side's own unit, with the SE of the mean over trials
    for cond in (0, 1):
        row = ann_rows.loc[("rate", str(cond))]
        assert row["value"] == pytest.approx(ann[labels == cond].mean(), rel=1e-12)
        assert row["value_unit"] == "1/sample" and "sample_duration" in row["note"]
    direction = real.conditions()
    for cond in ("left", "right"):
        row = real_rows.loc[("rate", cond)]
        per_trial = counts[direction == cond].mean(axis=1) / 2.0
        assert row["value"] == pytest.approx(per_trial.mean(), rel=1e-12) and row["value_unit"] == "Hz"
        assert row["se"] == pytest.approx(per_trial.std(ddof=1) / np.sqrt(20), rel=1e-12)
        assert row["value"] == pytest.approx(ann2neo.tuning(real).rate[:, ["left", "right"].index(cond)].mean())
    # selectivity: FDR fraction, median eta2 and median |d'| as the public function gives them
    for side, rec, rows in (("ann", rec_ann, ann_rows), ("real", real, real_rows)):
        s = ann2neo.selectivity(rec)
        assert rows.loc[("fraction_selective", "all"), "value"] == pytest.approx(s.fraction_selective)
        assert rows.loc[("median_eta2", "all"), "value"] == pytest.approx(s.table["eta2"].median(), rel=1e-12)
        assert rows.loc[("d_prime", "all"), "value"] == pytest.approx(s.table["d_prime"].abs().median(), rel=1e-12)
        sp = ann2neo.sparseness(rec)
        assert rows.loc[("lifetime_sparseness", "all"), "value"] == pytest.approx(np.median(sp.lifetime), rel=1e-12)
        noise = ann2neo.correlations(rec, kind="noise")
        assert rows.loc[("noise_correlation_mean", "all"), "value"] == pytest.approx(noise.mean, rel=1e-12)
        assert rows.loc[("noise_correlation_sd", "all"), "value"] == pytest.approx(noise.sd, rel=1e-12)
        pr = ann2neo.participation_ratio(rec if side == "real" else ann, n_shuffles=0)
        assert rows.loc[("participation_ratio", "all"), "value"] == pytest.approx(pr.value, rel=1e-12)
        assert rows.loc[("participation_ratio_normalized", "all"), "value"] == pytest.approx(pr.value / rec.n_units)
    # independent references: numpy on the counts
    resid = counts.astype(float)
    for cond in ("left", "right"):
        resid[direction == cond] -= resid[direction == cond].mean(axis=0)
    iu = np.triu_indices(6, 1)
    assert real_rows.loc[("noise_correlation_mean", "all"), "value"] == pytest.approx(
        np.corrcoef(resid.T)[iu].mean(), rel=1e-9)
    eig = np.linalg.eigvalsh(np.cov(counts.T))
    assert real_rows.loc[("participation_ratio", "all"), "value"] == pytest.approx(eig.sum() ** 2 / (eig ** 2).sum(),
                                                                                   rel=1e-9)
    left, right = counts[direction == "left"], counts[direction == "right"]
    d = np.abs(right.mean(0) - left.mean(0)) / np.sqrt((right.var(0, ddof=1) + left.var(0, ddof=1)) / 2)
    assert real_rows.loc[("d_prime", "all"), "value"] == pytest.approx(np.median(d), rel=1e-12)
    for cond, x in (("left", left), ("right", right)):
        row = real_rows.loc[("trial_fano_factor", cond)]
        assert row["value"] == pytest.approx((x.var(axis=0) / x.mean(axis=0)).mean(), rel=1e-12)
        assert row["control"] == pytest.approx(19 / 20) and "Poisson" in row["control_kind"]
    # the ANN's across-trial Fano factor is 1 - p by construction, and says so
    row = ann_rows.loc[("trial_fano_factor", "0")]
    assert row["value"] == pytest.approx((1 - ann[labels == 0].mean(axis=0)).mean(), rel=1e-12)
    assert row["value"] == pytest.approx(row["control"], rel=1e-12) and "by construction" in row["note"]
    # controls: label shuffles remove selectivity, within-condition shuffles remove the shared gain
    assert real_rows.loc[("noise_correlation_mean", "all"), "value"] > 0.2
    assert abs(real_rows.loc[("noise_correlation_mean", "all"), "control"]) < 0.15
    assert ann_rows.loc[("fraction_selective", "all"), "value"] == 1.0
    assert ann_rows.loc[("fraction_selective", "all"), "control"] < 0.2
    # the total correlation of the spike matrix: Elephant's reference (equality tested in test_population)
    total = ann2neo.correlations(ann)
    assert ann_rows.loc[("total_correlation_mean", "all"), "value"] == pytest.approx(total.mean, rel=1e-12)


@pytest.mark.filterwarnings("ignore::ann2neo.analysis.statistics.SmallSampleWarning")
def test_population_one_real_unit_is_flagged_not_silently_nan():
    """One neuron over 50 trials (as 10_spikes-1.mat): no pairs, no population, no dimensionality."""
    rng = np.random.default_rng(0)
    direction = np.repeat([0, 1], 25)
    binned = rng.random((50, 1, 2000)) < np.where(direction == 0, 0.06, 0.035)[:, None, None]
    real = ann2neo.Recording.from_binned(binned, 1 * pq.ms, t_start=-1 * pq.s, trials={"direction": direction})
    assert real.condition is None  # the default is the first trials column
    ann = rng.random((400, 8)) < 0.3
    result = compare(ann, real, sample_duration=1 * pq.ms, ann_labels=np.arange(400) % 2, n_shuffles=2)
    rows = _rows(result, "real")
    for stat in ("noise_correlation_mean", "noise_correlation_sd", "total_correlation_mean", "participation_ratio",
                 "participation_ratio_normalized", "population_sparseness_observations"):
        assert np.isnan(rows.loc[(stat, "all"), "value"]) and "one unit" in rows.loc[(stat, "all"), "note"]
    assert rows.loc[("population_sparseness", "0"), "note"].startswith("one unit")
    assert "one unit" in rows.loc[("fraction_selective", "all"), "note"]
    d = ann2neo.selectivity(real, condition="direction").table["d_prime"].iloc[0]
    assert rows.loc[("d_prime", "all"), "value"] == pytest.approx(abs(d)) and f"{d:.4g}" in rows.loc[
        ("d_prime", "all"), "note"]
    assert rows.loc[("rate", "0"), "value_unit"] == "Hz" and rows.loc[("rate", "0"), "n_observations"] == 25
    assert result.population.attrs["conditions"]["real"] == "direction"
    # every undefined value of the table says why
    undefined = result.population[result.population["value"].isna()]
    assert len(undefined) and (undefined["note"].str.len() > 0).all()


@pytest.mark.filterwarnings("ignore::ann2neo.analysis.statistics.SmallSampleWarning")
def test_population_part_is_skipped_with_a_note_without_conditions(populations):
    ann, real = populations
    result = compare(ann, real, sample_duration=1 * pq.ms)
    assert result.population.empty and list(result.population.columns) == \
        ann2neo.analysis.compare.POPULATION_COLUMNS
    assert any(note.startswith("population part skipped") and "ann_labels" in note for note in result.notes)
    # labels on one side only: that side's conditioned rows, the other's are undefined with the reason
    result = compare(ann, real, sample_duration=1 * pq.ms, ann_labels=np.arange(5000) % 3, n_shuffles=1)
    rows = _rows(result, "real")
    assert np.isnan(rows.loc[("fraction_selective", "all"), "value"])
    assert rows.loc[("fraction_selective", "all"), "note"].startswith("no condition")
    assert np.isfinite(rows.loc[("participation_ratio", "all"), "value"])          # 12 units in 100 ms bins
    assert rows.loc[("participation_ratio", "all"), "observation"].startswith("bin of 100 ms")
    assert rows.loc[("participation_ratio", "all"), "n_observations"] == 200
    ann_rows = _rows(result, "ann")
    assert np.isnan(ann_rows.loc[("d_prime", "all"), "value"]) and "exactly 2" in ann_rows.loc[("d_prime", "all"),
                                                                                                "note"]
    assert compare(ann, real, sample_duration=1 * pq.ms, ann_labels=np.arange(5000) % 3,
                   population=False).population.empty


@pytest.mark.filterwarnings("ignore::ann2neo.analysis.statistics.SmallSampleWarning")
def test_population_condition_arguments_are_checked(conditioned):
    ann, labels, real, _ = conditioned
    with pytest.raises(ValueError, match="'nope' is not a column.*direction"):
        compare(ann, real, sample_duration=1 * pq.ms, condition="nope")
    with pytest.raises(ValueError, match="ann_labels="):
        compare(ann, real, sample_duration=1 * pq.ms, ann_condition="label")
    with pytest.raises(ValueError, match="one class per sample"):
        compare(ann, real, sample_duration=1 * pq.ms, ann_labels=labels[:-1])
    with pytest.raises(ann2neo.UnitError, match="population_bin"):
        compare(ann, real, sample_duration=1 * pq.ms, ann_labels=labels, population_bin=100)
    rec = ann2neo.Recording.from_matrix(ann, labels=labels, condition="digit")
    result = compare(rec, real, sample_duration=1 * pq.ms, n_shuffles=1)
    assert result.population.attrs["conditions"] == {"ann": "digit", "real": "direction"}
    # without a condition set, a first trials column that does not repeat (an id) is not taken as one
    real.trials.insert(0, "trial_id", np.arange(real.n_trials))
    real.condition = None
    result = compare(rec, real, sample_duration=1 * pq.ms, n_shuffles=1)
    assert result.population.attrs["conditions"] == {"ann": "digit", "real": None}
    assert "'trial_id' does not repeat" in _rows(result, "real").loc[("rate", "all"), "note"]
    result = compare(rec, real, sample_duration=1 * pq.ms, n_shuffles=1, condition="direction")
    assert result.population.attrs["conditions"]["real"] == "direction"
