"""`ann2neo reproduce`: argument checks before work, results contract, flags, run folders with manifests."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ann2neo
from ann2neo.cli import main
from ann2neo.io.manifest import MANIFEST, check_run, prepare_run_dir, sha256, write_manifest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--dataset", "digits", "--width", "8", "--epochs", "1", "--mem-epochs", "1", "--dynamics-epochs", "1",
        "--dynamics-mem-epochs", "1", "--no-progress"]


@pytest.fixture
def no_training(monkeypatch):
    """Make any training attempt fail the test: argument errors must come first."""
    import ann2neo.experiments.reproduce as rep

    def forbidden(*args, **kwargs):
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr(rep, "train_stage", forbidden)


@pytest.mark.parametrize("argv, match", [
    (["--mem-epochs", "-3"], "mem_epochs must be >= 1, got -3"),
    (["--epochs", "0"], "epochs must be >= 1, got 0"),
    (["--window", "0"], "window must be >= 1"),
    (["--width", "0"], "width must be >= 1"),
    (["--learning-rate", "-0.1"], "learning_rate must be > 0"),
])
def test_bad_numbers_exit_2_before_any_work(tmp_path, capsys, no_training, argv, match):
    out = tmp_path / "out"
    assert main(["reproduce", "--out", str(out), *argv]) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()  # nothing was created


def test_window_longer_than_a_split_is_refused_before_training(tmp_path, capsys, no_training):
    pytest.importorskip("sklearn")
    assert main(["reproduce", "--out", str(tmp_path / "o"), "--dataset", "digits", "--window", "1000"]) == 2
    assert "window 1000 is longer than the test split (450 samples)" in capsys.readouterr().err


def test_out_that_is_a_file_is_a_clear_error(tmp_path, capsys, no_training):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    assert main(["reproduce", "--out", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_non_empty_out_is_refused_without_overwrite(tmp_path, capsys, no_training):
    (tmp_path / "results.json").write_text('{"seed": 0}')
    assert main(["reproduce", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and "--overwrite" in err
    assert (tmp_path / "results.json").read_text() == '{"seed": 0}'


def test_bad_npz_exits_2_without_traceback(tmp_path, capsys, no_training):
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.zeros((6, 4)), y_train=[0, 1, 2, 0, 1, 2.5], x_test=np.zeros((2, 4)), y_test=[0, 1])
    assert main(["reproduce", "--out", str(tmp_path / "o"), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "whole-number class labels; y_train[5] = 2.5" in err and "Traceback" not in err


def test_all_silent_recording_is_flagged_loudly():
    keras = pytest.importorskip("keras")
    from ann2neo.experiments.config import ReproduceConfig
    from ann2neo.experiments.reproduce import RunData, record_stage

    rng = np.random.default_rng(0)
    x = rng.random((300, 4)).astype("float32")
    y = rng.integers(0, 3, 300)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu", name="hidden"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    w, b = model.get_layer("hidden").get_weights()
    model.get_layer("hidden").set_weights([np.zeros_like(w), np.full_like(b, -1.0)])  # dead layer
    data = RunData(x, y, x[:200], y[:200], y, {"train": np.arange(300), "test": np.arange(200)}, 10, "", 3)
    nets = {"Random": {"model": model, "labels": y, "label_kind": "true", "history": None, "same_as": None}}
    config = ReproduceConfig(conditions=("Random",), diagnostics=False, progress=False)
    with pytest.warns(RuntimeWarning, match="Random/train/hidden: all nodes silent"):
        rows, _ = record_stage(config, data, nets)
    assert all("all nodes silent" in r["flags"] for r in rows) and rows[0]["mfr_per_sample"] == 0
    model.get_layer("hidden").set_weights([np.zeros_like(w), np.full_like(b, 1.0)])  # always on
    with pytest.warns(RuntimeWarning, match="all nodes always on"):
        rows, _ = record_stage(config, data, nets)
    assert rows[1]["flags"] == "all nodes always on" and rows[1]["n_windows"] == 20
    b_on = np.where(np.arange(5) < 2, 1.0, -1.0)  # 2 nodes always on, 3 silent
    model.get_layer("hidden").set_weights([np.zeros_like(w), b_on.astype(b.dtype)])
    with pytest.warns(RuntimeWarning, match=r"no node varies \(3 silent, 2 always on\)"):
        rows, _ = record_stage(config, data, nets)


# --- run folders: manifest last, incomplete when killed ---------------------------------------------------------

def test_manifest_lists_files_with_checksums_and_detects_changes(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    assert not check_run(tmp_path).complete and "no manifest.json" in check_run(tmp_path).problems[0]
    write_manifest(tmp_path, ["a.csv", "sub/b.txt"], config={"seed": 5}, argv=["ann2neo", "reproduce"])
    status = check_run(tmp_path)
    assert status.complete and status.extra_files == []
    m = json.loads((tmp_path / MANIFEST).read_text())
    assert m["config"] == {"seed": 5} and m["command_line"] == ["ann2neo", "reproduce"]
    assert m["versions"]["numpy"] == np.__version__
    assert {f["path"]: f["sha256"] for f in m["files"]}["a.csv"] == sha256(tmp_path / "a.csv")
    import hashlib

    assert sha256(tmp_path / "a.csv") == hashlib.sha256(b"x\n1\n").hexdigest()
    (tmp_path / "a.csv").write_text("x\n2\n")
    status = check_run(tmp_path)
    assert not status.complete and status.problems == ["a.csv has changed since the run (checksum differs)"]


def test_overwrite_removes_the_old_manifest_first_and_only_run_files(tmp_path):
    for name in ("results.json", "Random.nwb", "notes.txt"):
        (tmp_path / name).write_text(name)
    write_manifest(tmp_path, ["results.json", "Random.nwb"])
    with pytest.raises(FileExistsError, match="is not empty"):
        prepare_run_dir(tmp_path)
    prepare_run_dir(tmp_path, overwrite=True, owned=("*.nwb",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # the user's own file stays


_WRITER = textwrap.dedent("""
    import sys
    import numpy as np, pandas as pd
    import ann2neo
    from ann2neo.experiments.config import ReproduceConfig
    from ann2neo.experiments.reproduce import OUTPUT_PATTERNS, write_outputs, _checkpoint
    from ann2neo.io.manifest import prepare_run_dir, write_manifest
    out, seed = sys.argv[1], int(sys.argv[2])
    config = ReproduceConfig(seed=seed, conditions=("Random",), figures=False)
    prepare_run_dir(out, overwrite=True, owned=OUTPUT_PATTERNS)
    recordings, rows = {}, []
    for split in ("train", "test"):
        spikes = np.random.default_rng(seed).random((400, 6)) < 0.3
        result = ann2neo.analyze(spikes, window=20)
        s = result.summary
        recordings[("Random", split, "hidden")] = (spikes, result)
        rows.append({"condition": "Random", "split": split, "layer": "hidden", "labels": "true", "accuracy": 0.1,
                     "mfr_per_sample": s["mfr"], "cv_fr_pct": s["cv_fr"], "mf": s["mf"], "cv_ff_pct": s["cv_ff"],
                     "mf_bernoulli": s["mf_null"], "window_samples": 20, "n_windows": 20, "flags": ""})
    files = write_outputs(out, config, pd.DataFrame(rows), recordings, meta={"seed": seed})
    _checkpoint("before:manifest")
    write_manifest(out, files, config=config.to_dict())
""")


def _run_writer(out, seed, kill_at=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ANN2NEO_KILL_AT", None)
    if kill_at:
        env["ANN2NEO_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-c", _WRITER, str(out), str(seed)], env=env, capture_output=True,
                          text=True, timeout=120)


def test_killed_writer_leaves_an_incomplete_folder_never_a_mixed_one(tmp_path):
    out = tmp_path / "run"
    assert _run_writer(out, 0).returncode == 0
    assert check_run(out).complete
    old = json.loads((out / "results.json").read_text())
    assert old["config"]["seed"] == 0
    for point in ("after:results.csv", "after:nodes.csv", "after:results.json", "before:manifest"):
        proc = _run_writer(out, 1, kill_at=point)
        assert proc.returncode == -9, proc.stderr  # SIGKILL
        status = check_run(out)
        assert not status.complete and "no manifest.json" in status.problems[0], point
        results = out / "results.json"
        if results.exists():  # whatever is there belongs to the new run
            assert json.loads(results.read_text())["config"]["seed"] == 1, point
    assert _run_writer(out, 1).returncode == 0
    assert check_run(out).complete


@pytest.mark.slow
def test_killed_cli_run_is_marked_incomplete_and_rerun_completes(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "ann2neo.cli", "reproduce", "--out", str(out), "--overwrite", *TINY, "--no-figures",
           "--conditions", "Random", "Generalizing", "--no-diagnostics"]
    assert subprocess.run(cmd + ["--seed", "0"], env=env, capture_output=True, timeout=300).returncode == 0
    assert check_run(out).complete
    for point in ("trained", "after:Generalizing.nwb"):
        proc = subprocess.run(cmd + ["--seed", "1"], env={**env, "ANN2NEO_KILL_AT": point}, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == -9
        assert not check_run(out).complete
        assert not (out / "results.json").exists()  # the old run's results are gone with its manifest
        assert subprocess.run([sys.executable, "-m", "ann2neo.cli", "check-run", str(out)], env=env,
                              capture_output=True, timeout=60).returncode == 1


@pytest.mark.slow  # trains networks
def test_reproduce_cli_on_digits(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("pynwb")
    out = tmp_path / "out"
    assert main(["reproduce", "--out", str(out), *TINY, "--conditions", "Random", "Generalizing",
                 "MemRetrainLast", "MemRetrainAll"]) == 0
    printed = capsys.readouterr().out
    assert "MemRetrainAll coincides with MemRetrainLast" in printed
    assert "window 15 samples instead of the paper's 100" in printed
    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    assert [(r["condition"], r["split"]) for r in rows] == [
        (c, s) for c in ("Random", "Generalizing", "MemRetrainLast", "MemRetrainAll") for s in ("train", "test")]
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0].startswith("condition,split,layer,labels,accuracy,mfr_per_sample,cv_fr_pct,mf,cv_ff_pct,"
                             "window_samples,n_windows,flags") and len(csv) == 9
    assert results["config"]["seed"] == 0 and results["command_line"][:2] == ["ann2neo", "reproduce"]
    assert results["versions"]["numpy"] == np.__version__ and results["coinciding_conditions"] == {
        "MemRetrainAll": "MemRetrainLast"}
    for row in rows:
        assert 0 <= row["mfr_per_sample"] <= 1 and 0 <= row["accuracy"] <= 1
        n = 1347 if row["split"] == "train" else 450
        assert row["n_samples"] == n and row["window_samples"] == 15 and row["n_windows"] == n // 15
        assert row["labels"] == ("shuffled" if row["split"] == "train" and row["condition"].startswith("Mem")
                                 else "true")
        if row["labels"] == "shuffled":  # 1 epoch on shuffled labels cannot memorize: flagged, not hidden
            assert "memorization near chance" in row["flags"]
        assert 0 <= row["ff_fraction_below_poisson"] <= 1 and 0 <= row["ljung_box_combined_p"] <= 1
    # Table 2's KS comparisons: MemRetrainAll is MemRetrainLast's network, so 3 distinct networks:
    # 3 train-vs-test + 2 x 3 condition pairs, Bonferroni over all 9
    ks = results["ks_comparisons"]
    assert len(ks) == 9 and ks[0]["a"] == "Random/train" and ks[0]["b"] == "Random/test"
    assert not any("MemRetrainAll" in r["a"] + r["b"] for r in ks)
    for r in ks:
        assert r["p_bonferroni"] == pytest.approx(min(1.0, 9 * r["p_value"]))
    nodes = (out / "nodes.csv").read_text().splitlines()
    assert nodes[0].startswith("condition,split,layer,node,") and len(nodes) == 1 + 8 * 8
    # the NWB file reads back to the same spike counts as the analysis saw, with the run's annotations
    from ann2neo.experiments.data import load_dataset

    _, y_train, _, _ = load_dataset("digits", seed=0)
    block = ann2neo.read_nwb(out / "Generalizing.nwb")
    for seg in block.segments:
        matrix = ann2neo.from_spiketrains(seg.spiketrains)
        row = next(r for r in rows if r["condition"] == "Generalizing" and r["split"] == seg.name)
        assert matrix.shape == (row["n_samples"], 8)
        assert ann2neo.analyze(matrix).summary["mfr"] == pytest.approx(row["mfr_per_sample"], rel=1e-12)
    status = check_run(out)
    assert status.complete and status.extra_files == []
    listed = {f["path"] for f in status.manifest["files"]}
    assert {"results.csv", "results.json", "nodes.csv", "comparisons.csv", "reproduce.log", "Random.nwb", "report.md",
            "tables/table2.md", "figures/fig6_mf_vs_mfr.png", "figures/fig6_mf_vs_mfr.svg", "training_dynamics.csv",
            "figures/fig5_mfr_during_training.png"} <= listed
    dyn = pd.read_csv(out / "training_dynamics.csv")
    assert list(dyn["phase"].unique()) == ["true", "shuffled"] and set(dyn["probe"]) == {"train", "test"}
    assert len(dyn) == 2 * 2 * 5  # ceil(1,212 / 256) = 5 batches per epoch after the 10% validation split
    report = (out / "report.md").read_text()
    assert "![fig6_mf_vs_mfr](figures/fig6_mf_vs_mfr.png)" in report and "coincides with MemRetrainLast" in report
    # population.csv: one row per recording, each statistic beside its control; the class is the true label
    from ann2neo.experiments.outputs import POPULATION_COLUMNS, _population_text

    assert "population.csv" in listed
    pop = pd.read_csv(out / "population.csv")
    assert list(pop.columns) == ["condition", "split", "layer", *POPULATION_COLUMNS]
    assert pop[["condition", "split"]].values.tolist() == [[r["condition"], r["split"]] for r in rows]
    assert pop["n_units"].eq(8).all() and pop["n_shuffles"].eq(5).all() and pop["n_classes"].eq(10).all()
    assert pop["n_samples"].tolist() == [r["n_samples"] for r in rows]
    train = pop[pop["split"] == "train"]
    assert train["decode_chance"].eq(np.bincount(y_train).max() / len(y_train)).all()  # true labels, every network
    stats = pop.set_index(["condition", "split"]).drop(columns=["layer"])
    pd.testing.assert_frame_equal(stats.loc["MemRetrainAll"], stats.loc["MemRetrainLast"])  # one network
    assert (pop["fraction_selective_shuffled"] <= pop["fraction_selective"]).all()
    for c in ("Random", "Generalizing"):  # the class is readable from 8 binary units well above the shuffle
        row = stats.loc[(c, "test")]
        assert row["decode_accuracy"] > row["decode_accuracy_shuffled"] + 0.1
        assert row["noise_corr_sd"] > row["noise_corr_sd_shuffled_within"]
    section = report.split("## Population statistics")[1].split("## Figures")[0]
    assert _population_text(pop) in section and "| Generalizing | test |" in section
    doc = (ROOT / "docs" / "reproduce.md").read_text()
    assert [c for c in pop.columns if f"`{c}`" not in doc] == []
    t2 = (out / "tables" / "table2.csv").read_text().splitlines()
    assert t2[0] == ("condition,split,mfr_per_sample,cv_fr_pct,paper_mfr_per_sample,paper_cv_fr_pct,paper_dataset,"
                     "our_dataset,similar_to_random,similar_to_generalizing")
    marks = pd.read_csv(out / "tables" / "table2.csv").set_index(["condition", "split"])
    gen_vs_random = next(r for r in ks if r["a"] == "Random/test" and r["b"] == "Generalizing/test")
    assert marks.loc[("Generalizing", "test"), "similar_to_random"] == (not gen_vs_random["different"])
    assert np.isnan(marks.loc[("Random", "test"), "similar_to_random"])
    assert t2[1].startswith("Random,train,") and ",,,digits," in t2[1]  # the paper has no width-8 cell
    from ann2neo.experiments.outputs import table2

    frame = pd.read_csv(out / "results.csv")
    paper = table2(frame, "mlp", 64, "digits").set_index(["condition", "split"])  # the paper's Dense-64 MNIST cells
    assert tuple(paper.loc[("Random", "train"), ["paper_mfr_per_sample", "paper_cv_fr_pct"]]) == (0.45, 60.92)
    assert tuple(paper.loc[("MemRetrainLast", "test"), ["paper_mfr_per_sample", "paper_cv_fr_pct"]]) == (0.03, 72.30)
    assert np.isnan(paper.loc[("MemRetrainAll", "test"), "paper_mfr_per_sample"])  # "-" in the paper
