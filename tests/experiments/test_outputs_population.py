"""population.csv of `ann2neo reproduce`: each statistic beside its control, on recordings with planted structure."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ann2neo
from ann2neo.experiments.outputs import (
    POPULATION_COLUMNS,
    _population_report_table,
    _population_text,
    population_statistics,
    population_table,
    write_report,
)

N_CLASSES = 5


def planted(n=2000, n_units=40, *, tuned=True, shared=0.0, seed=0):
    """Binary responses: each unit prefers one class (``tuned``), plus within-class latents with random signed loadings.

    The latents give the pairs noise correlations of either sign (a wide distribution over pairs).
    """
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, N_CLASSES, n)
    drive = np.where(np.arange(n_units)[None, :] % N_CLASSES == lab[:, None], 1.5, -0.5) if tuned else 0.0
    latent = rng.normal(size=(n, 2)) @ rng.normal(size=(2, n_units)) * shared
    return (drive + latent + rng.normal(size=(n, n_units))) > 0.5, lab


@pytest.fixture(scope="module")
def tuned():
    x, lab = planted(shared=1.0)
    return x, lab, population_statistics(x, lab, seed=0)


@pytest.fixture(scope="module")
def untuned():
    x, lab = planted(tuned=False, seed=1)
    return x, lab, population_statistics(x, lab, seed=0)


def test_columns_are_the_documented_ones(tuned):
    assert list(tuned[2]) == list(POPULATION_COLUMNS)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reproduce.md").read_text()
    assert [c for c in ("condition", "split", "layer", *POPULATION_COLUMNS) if f"`{c}`" not in doc] == []


def test_selectivity_against_shuffled_labels(tuned, untuned):
    x, lab, row = tuned
    assert row["fraction_selective"] == 1.0 and row["fdr_alpha"] == 0.05
    assert row["fraction_selective_shuffled"] <= 0.05  # complete null: BH rejects anything with prob <= alpha
    # eta2 under shuffled labels is its small-sample bias, E = (k - 1) / (N - 1) (the median a bit below)
    bias = (N_CLASSES - 1) / (len(lab) - 1)
    assert 0.5 * bias < row["median_eta2_shuffled"] < 1.5 * bias < row["median_eta2"]
    # the median eta2 is the one of an independent reference: statsmodels' one-way ANOVA table
    import statsmodels.api as sm
    from statsmodels.formula.api import ols

    frame = pd.DataFrame({"y": x[:, 0].astype(float), "c": lab.astype(str)})
    aov = sm.stats.anova_lm(ols("y ~ C(c)", frame).fit())
    eta0 = aov["sum_sq"].iloc[0] / aov["sum_sq"].sum()
    assert ann2neo.selectivity(x, lab).table["eta2"].iloc[0] == pytest.approx(eta0, rel=1e-9)
    # without tuning, data and control agree
    assert untuned[2]["fraction_selective"] <= 0.1 and untuned[2]["median_eta2"] < 1.5 * bias


def test_noise_correlations_are_removed_by_the_within_class_permutation(tuned, untuned):
    _, lab, row = tuned
    assert row["noise_corr_n_pairs"] == 40 * 39 // 2
    assert row["noise_corr_sd"] > 4 * row["noise_corr_sd_shuffled_within"]
    assert abs(row["noise_corr_mean_shuffled_within"]) < 0.01
    # the control's SD is the sampling spread of a zero correlation: about 1 / sqrt(N)
    assert row["noise_corr_sd_shuffled_within"] == pytest.approx(1 / np.sqrt(len(lab)), rel=0.25)
    # independent units: the data's SD is that spread too
    assert untuned[2]["noise_corr_sd"] == pytest.approx(untuned[2]["noise_corr_sd_shuffled_within"], rel=0.25)


def test_participation_ratio_below_its_controls_for_a_shared_latent(tuned, untuned):
    row = tuned[2]
    assert row["pr"] < row["pr_shuffled_within"] < row["pr_shuffled_all"] <= row["n_units"]
    for k in ("", "_shuffled_all", "_shuffled_within"):
        assert row[f"pr_norm{k}"] == pytest.approx(row[f"pr{k}"] / 40)
    # the data's PR is (tr C)^2 / tr(C^2) of numpy's covariance
    cov = np.cov(tuned[0].T.astype(float))
    assert row["pr"] == pytest.approx(np.trace(cov) ** 2 / (cov ** 2).sum(), rel=1e-9)
    # independent units: data and controls agree, near the number of units
    u = untuned[2]
    assert u["pr"] == pytest.approx(u["pr_shuffled_all"], rel=0.05) and u["pr"] > 0.9 * 40


def test_decoding_against_chance_and_shuffled_labels(tuned, untuned):
    _, lab, row = tuned
    chance = np.bincount(lab).max() / len(lab)
    assert row["decode_chance"] == pytest.approx(chance)
    assert row["decode_accuracy"] > 0.8 and abs(row["decode_accuracy_shuffled"] - chance) < 0.05
    assert abs(untuned[2]["decode_accuracy"] - chance) < 0.05


def test_sparseness_is_over_the_class_means(tuned):
    x, lab, row = tuned
    means = np.stack([x[lab == c].mean(axis=0) for c in range(N_CLASSES)])  # (classes, units)

    def vinje_gallant(r, axis):
        n = r.shape[axis]
        return (1 - r.mean(axis=axis) ** 2 / (r ** 2).mean(axis=axis)) / (1 - 1 / n)

    assert row["lifetime_sparseness_mean"] == pytest.approx(vinje_gallant(means, 0).mean(), rel=1e-12)
    assert row["population_sparseness_mean"] == pytest.approx(vinje_gallant(means, 1).mean(), rel=1e-12)


def test_seeded_and_the_same_for_a_recording():
    x, lab = planted(n=400, n_units=12, shared=1.0)
    row = population_statistics(x, lab, seed=0)
    again = population_statistics(x, lab, seed=0)
    rec = population_statistics(ann2neo.Recording.from_matrix(x, labels=lab), seed=0)
    assert again == row
    for key, value in row.items():
        assert rec[key] == pytest.approx(value, rel=1e-12, nan_ok=True) if isinstance(value, float) else \
            rec[key] == value, key
    assert population_statistics(x, lab, seed=1)["pr_shuffled_all"] != row["pr_shuffled_all"]


def test_silent_layer_gives_undefined_values_with_notes():
    lab = np.repeat(np.arange(3), 20)
    row = population_statistics(np.zeros((60, 6), bool), lab, seed=0)
    assert row["fraction_selective"] == 0.0 and np.isnan(row["median_eta2"]) and np.isnan(row["pr"])
    assert np.isnan(row["noise_corr_sd"]) and row["noise_corr_n_pairs"] == 0
    assert "constant" in row["note"] and "never respond" in row["note"]
    assert row["decode_accuracy"] == pytest.approx(1 / 3)  # every sample gets the same guess


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="class of each sample"):
        population_statistics(np.ones((10, 2), bool))
    with pytest.raises(ValueError, match="n_shuffles"):
        population_statistics(np.ones((10, 2), bool), np.arange(10) % 2, n_shuffles=0)


def test_table_copies_coinciding_conditions_and_the_report_quotes_it():
    x, lab = planted(n=300, n_units=10)
    xt, labt = planted(n=200, n_units=10, seed=3)
    recordings = {("Random", "train", "hidden"): x, ("Random", "test", "hidden"): xt,
                  ("Same", "train", "hidden"): (x, None), ("Same", "test", "hidden"): (xt, None)}
    pop = population_table(recordings, {"train": lab, "test": labt}, seed=0, same_as={"Same": "Random"})
    assert list(pop.columns) == ["condition", "split", "layer", *POPULATION_COLUMNS]
    assert pop[["condition", "split"]].values.tolist() == [["Random", "train"], ["Random", "test"],
                                                          ["Same", "train"], ["Same", "test"]]
    pd.testing.assert_frame_equal(pop.iloc[2:, 3:].reset_index(drop=True), pop.iloc[:2, 3:].reset_index(drop=True))
    assert pop["n_samples"].tolist() == [300, 200, 300, 200]
    text = _population_text(pop)
    lo, hi = pop["noise_corr_sd"].min(), pop["noise_corr_sd"].max()
    assert f"SD over pairs {lo:.3f}–{hi:.3f}" in text and "by construction" in text
    view = _population_report_table(pop)
    assert view["PR (all / within perm.)"].iloc[0] == (f"{pop['pr'][0]:.1f} ({pop['pr_shuffled_all'][0]:.1f} / "
                                                       f"{pop['pr_shuffled_within'][0]:.1f})")

    class Config:
        architecture, width, source, seed, epochs, mem_epochs = "mlp", 10, "synthetic", 0, 1, 1
        learning_rate, batch_size, validation_split = 0.1, 32, 0.1

    table = pd.DataFrame({"condition": ["Random"], "split": ["test"], "window_samples": [10], "flags": [""]})
    empty = pd.DataFrame(columns=["split", "hypothesis", "condition", "test", "ours", "holds", "reason"])
    tables = {"table1": pd.DataFrame({"a": [1]}), "table2": pd.DataFrame({"a": [1]}),
              "table5": pd.DataFrame({"a": [1]}), "hypotheses": empty}
    report = write_report(Config(), table, tables, [], population=pop)
    section = report.split("## Population statistics")[1].split("## Figures")[0]
    assert text in section and "| Same | test |" in section
    assert "## Population statistics" not in write_report(Config(), table, tables, [])


def test_grid_rows_carry_the_cells_population_columns(tmp_path):
    from ann2neo.experiments.grid import _with_population

    cell = pd.DataFrame({"condition": ["Random", "Random"], "split": ["train", "test"], "layer": ["hidden"] * 2,
                         "n_samples": [300, 200], "mfr_per_sample": [0.5, 0.4]})
    assert _with_population(cell, tmp_path / "missing.csv") is cell  # a cell from before population.csv
    x, lab = planted(n=300, n_units=6)
    xt, labt = planted(n=200, n_units=6, seed=2)
    pop = population_table({("Random", "test", "hidden"): xt, ("Random", "train", "hidden"): x},
                           {"train": lab, "test": labt}, seed=0)
    pop.to_csv(tmp_path / "population.csv", index=False)
    merged = _with_population(cell, tmp_path / "population.csv")
    assert list(merged.columns[:5]) == list(cell.columns) and "population_note" in merged and "note" not in merged
    assert merged["pr"].tolist() == pytest.approx(pop.set_index("split").loc[["train", "test"], "pr"].tolist())
    assert len(merged) == 2
