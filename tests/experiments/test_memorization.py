"""The memorization study: label noise, AUROC, bootstrap and lead/lag on synthetic trajectories, a tiny study."""
import json

import numpy as np
import pandas as pd
import pytest

from ann2neo.analysis.indicators import INDICATORS
from ann2neo.experiments.memorization import (
    TRAJECTORY_COLUMNS,
    MemorizationConfig,
    inject_label_noise,
    load_memorization_toml,
    memorization,
    run_specs,
)
from ann2neo.experiments.memorization_analysis import (
    add_relative_scores,
    auroc,
    auroc_table,
    choose_direction,
    cluster_auroc_counts,
    cluster_bootstrap_auroc,
    first_epoch,
    lead_lag,
    lead_lag_summary,
    oof_combination,
    oof_oriented,
)
from ann2neo.io.manifest import check_run

sklearn_metrics = pytest.importorskip("sklearn.metrics")


# ---------------------------------------------------------------- label noise

@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.37, 1.0])
def test_label_noise_changes_exactly_the_fraction_and_never_keeps_the_true_class(fraction):
    y = np.repeat(np.arange(10), 37)
    noisy, flipped = inject_label_noise(y, fraction, 10, seed=3)
    assert flipped.sum() == round(fraction * y.size)
    assert (noisy[flipped] != y[flipped]).all()
    assert (noisy[~flipped] == y[~flipped]).all()
    assert noisy.min() >= 0 and noisy.max() <= 9
    again, flipped2 = inject_label_noise(y, fraction, 10, seed=3)  # seeded
    np.testing.assert_array_equal(noisy, again)
    np.testing.assert_array_equal(flipped, flipped2)


def test_label_noise_is_uniform_over_the_other_classes():
    y = np.zeros(90_000, int)
    noisy, _ = inject_label_noise(y, 1.0, 10, seed=0)
    counts = np.bincount(noisy, minlength=10)
    assert counts[0] == 0
    from scipy.stats import chisquare

    assert chisquare(counts[1:]).pvalue > 1e-3  # 9 equally likely other classes


def test_label_noise_bad_input_is_refused():
    with pytest.raises(ValueError, match="fraction"):
        inject_label_noise([0, 1], 1.5)
    with pytest.raises(ValueError, match="labels must lie"):
        inject_label_noise([0, 5], 0.5, n_classes=3)
    with pytest.raises(ValueError, match="1-D integer"):
        inject_label_noise([0.5, 1.0], 0.5)


# ---------------------------------------------------------------- AUROC and bootstrap

def test_auroc_is_sklearns_and_hand_computed():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    assert auroc(y, s) == 0.75  # 3 of 4 positive-negative pairs ordered
    assert auroc(y, s) == sklearn_metrics.roc_auc_score(y, s)
    assert np.isnan(auroc([1, 1], [0.1, 0.2]))
    assert auroc([0, 1, 0, 1], [1.0, 1.0, 0.0, 2.0]) == 0.875  # tie counts 1/2: (1 + .5 + 1 + 1) / 4


def test_direction_is_chosen_on_the_training_folds_only():
    f = pd.DataFrame({"s": [0.0, 1.0, 0.0, 1.0, 1.0, 0.0], "memorizing": [0, 1, 0, 1, 0, 1],
                      "seed": [0, 0, 1, 1, 2, 2]}).astype({"memorizing": bool})
    oriented, dirs = oof_oriented(f, "s")
    # seed 2's own data say "fall", but the folds that hold it out (seeds 0, 1) say "rise"
    assert dirs == {0: 1, 1: 1, 2: 1}
    np.testing.assert_array_equal(oriented, f["s"].to_numpy())
    assert auroc(f["memorizing"], oriented) == pytest.approx(4 / 9 + 2 / 9 / 2 * 0 + 2 / 9)  # hand count below
    # positives 1, 1, 0 ; negatives 0, 0, 1: pairs won 2*2 = 4, tied 2*1 + 1*2 = 4 -> (4 + 2) / 9
    assert auroc(f["memorizing"], oriented) == pytest.approx(6 / 9)
    assert choose_direction([0, 1], [1.0, 0.0]) == -1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_weighted_auroc_equals_sklearn_with_sample_weight(seed):
    rng = np.random.default_rng(seed)
    n = 300
    groups = rng.integers(0, 6, n)
    y = rng.random(n) < 0.4
    s = np.round(rng.normal(y * 0.8, 1), 1)  # rounding makes ties
    labels, wins, n_pos, n_neg = cluster_auroc_counts(y, s, groups)
    w = rng.multinomial(6, np.full(6, 1 / 6)).astype(float)
    closed = w @ wins @ w / ((w @ n_pos) * (w @ n_neg))
    ref = sklearn_metrics.roc_auc_score(y, s, sample_weight=w[np.searchsorted(labels, groups)])
    assert closed == pytest.approx(ref, abs=1e-12)
    ones = np.ones(6)
    assert ones @ wins @ ones / (n_pos.sum() * n_neg.sum()) == pytest.approx(sklearn_metrics.roc_auc_score(y, s))


def test_cluster_bootstrap_draws_are_resampled_seeds():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(8), 40)
    y = rng.random(groups.size) < 0.5
    s = y + rng.normal(0, 1 + groups / 4, groups.size)  # clusters differ
    low, high, draws = cluster_bootstrap_auroc(y, s, groups, n_boot=400, seed=1)
    # a draw by hand: the same multinomial draw, samples repeated, scored by sklearn
    w = np.random.default_rng(1).multinomial(8, np.full(8, 1 / 8), size=400)[0]
    rep = np.repeat(np.arange(groups.size), w[groups])
    assert draws[0] == pytest.approx(sklearn_metrics.roc_auc_score(y[rep], s[rep]))
    assert low < auroc(y, s) < high and 0 < high - low < 0.4
    again = cluster_bootstrap_auroc(y, s, groups, n_boot=400, seed=1)
    assert (again[0], again[1]) == (low, high)


# ---------------------------------------------------------------- synthetic trajectories

def _synthetic(n_seeds=4, epochs=6, rise=1.0, seed=0):
    """Trajectories where `mfr` falls once a noisy run memorizes and `dead_fraction` is pure noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for noise in (0.0, 0.6):
        for s in range(n_seeds):
            for e in range(epochs + 1):
                mem = noise > 0 and e >= 3
                gap = 0.3 if mem else 0.0
                val_gap = 0.3 if noise > 0 and e >= 4 else 0.0  # the baseline is one epoch late
                row = {"run": f"mlp-digits-n{noise:g}-s{s}", "architecture": "mlp", "dataset": "digits",
                       "noise": noise, "seed": s, "epoch": e, "layer": "hidden", "n_units": 8}
                row.update({k: rng.normal() for k in INDICATORS})
                row["mfr"] = 0.5 - rise * 0.2 * mem + 0.01 * rng.normal()
                row.update({"train_acc": 0.9, "noisy_acc": np.nan, "test_acc": 0.9 - gap, "gap": gap,
                            "val_acc": 0.9 - val_gap, "val_gap": val_gap, "memorizing": mem})
                rows.append(row)
    return pd.DataFrame(rows, columns=list(TRAJECTORY_COLUMNS))


def test_relative_scores_divide_and_subtract_the_epoch_1_value():
    t = add_relative_scores(_synthetic())
    r = t[(t["run"] == "mlp-digits-n0.6-s1")].set_index("epoch")
    assert r.loc[5, "mfr_rel"] == pytest.approx(r.loc[5, "mfr"] / r.loc[1, "mfr"])
    assert r.loc[5, "mfr_delta"] == pytest.approx(r.loc[5, "mfr"] - r.loc[1, "mfr"])
    assert r.loc[1, "mfr_delta"] == 0


def test_auroc_table_finds_the_falling_indicator_and_scores_the_baseline():
    auc = auroc_table(_synthetic(), n_boot=200)
    mfr = auc[auc["score"] == "mfr"].iloc[0]
    assert mfr["direction"] == "fall" and mfr["auroc"] == 1.0 and mfr["ci_low"] == 1.0
    noise = auc[auc["score"] == "dead_fraction"].iloc[0]
    assert abs(noise["auroc"] - 0.5) < 0.25
    base = auc[auc["score"] == "val_gap"].iloc[0]
    t = _synthetic()
    one = t[t["epoch"] >= 1]
    assert base["auroc"] == pytest.approx(sklearn_metrics.roc_auc_score(one["memorizing"], one["val_gap"]))
    assert base["n_checkpoints"] == len(one) and base["n_memorizing"] == int(one["memorizing"].sum())
    comb = auc[auc["score"] == "combination"].iloc[0]
    assert comb["auroc"] > 0.95
    assert set(auc["subset"]) == {"all", "noisy", "noise 0.6"}
    # within one noise level the epoch number alone is a perfect clock here (memorizing = epoch >= 3)
    clock = auc[(auc["subset"] == "noise 0.6") & (auc["score"] == "epoch")].iloc[0]
    assert clock["auroc"] == 1.0 and clock["n_runs"] == 4
    # in the 'noisy' subset only the noisy runs' checkpoints count
    noisy = auc[(auc["subset"] == "noisy") & (auc["score"] == "mfr")].iloc[0]
    assert noisy["n_checkpoints"] == 4 * 6 and noisy["auroc"] == 1.0


def test_combination_is_out_of_fold():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"a": rng.normal(size=80), "seed": np.repeat(np.arange(4), 20)})
    f["memorizing"] = rng.random(80) < 0.5  # unrelated to the feature
    p = oof_combination(f, ["a"])
    assert np.isfinite(p).all()
    assert abs(auroc(f["memorizing"], p) - 0.5) < 0.2  # no leakage: out of fold, a random label stays random


def test_lead_lag_by_hand():
    t = _synthetic()
    ll = lead_lag(t, ["mfr"], quantile=0.95)
    noisy = ll[ll["noise"] > 0]
    # mfr falls at epoch 3 (the truth), the baseline fires at 4: one epoch of lead
    assert (noisy["alarm_epoch"] == 3).all() and (noisy["truth_epoch"] == 3).all()
    assert (noisy["baseline_epoch"] == 4).all() and (noisy["lead_vs_baseline"] == 1).all()
    clean = ll[ll["noise"] == 0]
    assert clean["truth_epoch"].isna().all() and clean["baseline_epoch"].isna().all()
    # the threshold is the 95 % quantile of the other seeds' clean (oriented) checkpoints
    t1 = t[(t["epoch"] >= 1) & (t["seed"] != 0) & (t["noise"] == 0)]
    row = ll[(ll["seed"] == 0)].iloc[0]
    assert row["threshold"] == pytest.approx(-np.quantile(-t1["mfr"], 0.95))
    s = lead_lag_summary(ll)
    assert s.loc[0, "n_memorizing_runs"] == 4 and s.loc[0, "detected"] == 4
    assert s.loc[0, "no_later_than_baseline"] == 4 and s.loc[0, "median_lead_vs_baseline"] == 1
    assert s.loc[0, "n_clean"] == 4


def test_first_epoch():
    assert first_epoch([0, 1, 2], [False, False, True]) == 2
    assert np.isnan(first_epoch([0, 1], [False, False]))


# ---------------------------------------------------------------- configuration

def test_config_validation_errors():
    with pytest.raises(ValueError, match="architectures"):
        MemorizationConfig(architectures=("mlp", "resnet"))
    with pytest.raises(ValueError, match="noise"):
        MemorizationConfig(noise=(0, 1.2))
    with pytest.raises(TypeError, match="noise"):
        MemorizationConfig(noise=(True,))
    with pytest.raises(ValueError, match="epochs"):
        MemorizationConfig(epochs=0)
    with pytest.raises(ValueError, match="lists a value twice"):
        MemorizationConfig(seeds=(1, 1))
    with pytest.raises(ValueError, match="gap_threshold"):
        MemorizationConfig(gap_threshold=1.0)
    with pytest.raises(TypeError, match="figures"):
        MemorizationConfig(figures="yes")
    c = MemorizationConfig(seeds=(0, 1), clean_seeds=(0, 1, 2, 3), noise=(0.4, 0, 1))
    assert c.noise == (0.0, 0.4, 1.0)
    specs = run_specs(c)
    assert sum(s.noise == 0 for s in specs) == 4 * len(c.architectures) * len(c.datasets)
    assert specs[0].name == "mlp-digits-n0-s0"


def test_toml_settings_and_unknown_keys(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('epochs = 3\nseeds = [0, 1]\n[grid]\narchitectures = ["mlp"]\n')
    assert load_memorization_toml(p) == {"epochs": 3, "seeds": [0, 1], "architectures": ["mlp"]}
    p.write_text("epoch = 3\n")
    with pytest.raises(ValueError, match="unknown setting"):
        load_memorization_toml(p)


def test_documented_grid_is_valid_and_has_30_clean_runs():
    from pathlib import Path

    docs = Path(__file__).parents[2] / "docs"
    config = MemorizationConfig(**load_memorization_toml(docs / "memorization-grid.toml"))
    specs = run_specs(config)
    assert sum(s.noise == 0 for s in specs) >= 30
    assert set(config.noise) == {0.0, 0.2, 0.4, 0.6, 0.8, 1.0} and len(config.seeds) >= 2
    # the confirmation grid (where the monitor's default is measured) is the same study on seeds it never saw
    confirm = MemorizationConfig(**load_memorization_toml(docs / "memorization-confirm.toml"))
    assert confirm.replace(seeds=config.seeds, clean_seeds=config.clean_seeds) == config
    assert not set(confirm.seeds) & set(config.seeds) and not set(confirm.clean_seeds) & set(config.clean_seeds)
    assert sum(s.noise == 0 for s in run_specs(confirm)) >= 30


# ---------------------------------------------------------------- end to end (trains networks)

TINY = dict(architectures=("mlp",), datasets=("digits",), noise=(0.0, 1.0), seeds=(0,), clean_seeds=(0,), epochs=2,
            width=8, probe_size=100, max_train=300, n_bootstrap=20, figures=False)


@pytest.mark.slow
def test_tiny_study_end_to_end_resumes_to_identical_rows(tmp_path):
    config = MemorizationConfig(**TINY)
    table = memorization(tmp_path / "s", config, argv=["test"])
    assert list(table.columns[:len(TRAJECTORY_COLUMNS)]) == list(TRAJECTORY_COLUMNS)
    assert len(table) == 2 * 3  # 2 runs x epochs 0..2 x 1 layer
    assert table["epoch"].tolist() == [0, 1, 2, 0, 1, 2]
    assert (table["n_units"] == 8).all() and (table["n_probe"] == 100).all()
    clean = table[table["noise"] == 0]
    assert clean["noisy_acc"].isna().all()
    np.testing.assert_allclose(table["gap"], table["train_acc"] - table["test_acc"])
    np.testing.assert_allclose(table["val_gap"], table["train_acc"] - table["val_acc"])
    assert (table["memorizing"] == (table["gap"] > 0.2)).all()
    assert check_run(tmp_path / "s").complete
    for name in ("auroc.csv", "lead_lag.csv", "trajectories.csv"):
        assert (tmp_path / "s" / name).exists()
    runs = tmp_path / "s" / "runs"
    first = {p.name: p.read_text() for p in runs.iterdir()}
    # a second call skips both finished runs (their files are not rewritten)
    again = memorization(tmp_path / "s", config, argv=["test"])
    pd.testing.assert_frame_equal(again, table)
    assert {p.name: p.read_text() for p in runs.iterdir()} == first
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["runs_skipped"] == 2
    # a killed study: one run's rows are missing; the rerun trains it again, with the same rows (seeded)
    (runs / "mlp-digits-n1-s0.csv").unlink()
    resumed = memorization(tmp_path / "s", config, argv=["test"])
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["runs_skipped"] == 1
    cols = [c for c in resumed if c != "seconds"]
    pd.testing.assert_frame_equal(resumed[cols], table[cols])
    # a run made with other settings is not reused
    from ann2neo.experiments.memorization import RunSpec, _finished

    spec = RunSpec("mlp", "digits", 0.0, 0)
    assert _finished(runs, spec, json.loads(json.dumps(config.run_settings()))) is not None
    assert _finished(runs, spec, json.loads(json.dumps(config.replace(width=6).run_settings()))) is None
    # a folder that holds something else is refused before anything runs
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no memorization study"):
        memorization(tmp_path / "other", config)
