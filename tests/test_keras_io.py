"""Dataset loading and the reproduce command end to end (recording: test_recording.py; NWB: test_io.py)."""
import json

import numpy as np
import pytest

import ann2neo

keras = pytest.importorskip("keras")




def test_keras_dataset_offline_gives_clear_error(monkeypatch):
    from ann2neo.experiments.data import DatasetUnavailableError, load_dataset

    def fail():
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fail)
    with pytest.raises(DatasetUnavailableError, match="--data FILE.npz"):
        load_dataset("mnist")


def test_corrupt_npz_is_a_clear_error(tmp_path):
    from ann2neo.experiments.data import DatasetUnavailableError, load_dataset

    path = tmp_path / "d.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(DatasetUnavailableError, match="cannot read"):
        load_dataset(data=path)
    np.savez(path, x_train=np.zeros((3, 2)), y_train=np.zeros(3))
    with pytest.raises(DatasetUnavailableError, match="x_test"):
        load_dataset(data=path)


def test_reproduce_cli_on_digits(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("pynwb")
    from ann2neo.cli import main

    out = tmp_path / "out"
    assert main(["reproduce", "--out", str(out), "--epochs", "3", "--mem-epochs", "3", "--width", "32",
                 "--no-progress"]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(r["condition"], r["split"]) for r in rows] == [
        (c, s) for c in ("Random", "Generalizing", "MemRetrainLast") for s in ("train", "test")]
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0].startswith("condition,split,accuracy,mfr,cv_fr,mf,cv_ff") and len(csv) == 7
    assert (out / "reproduce.log").read_text().count("MFR") == 6
    for row in rows:
        assert 0 <= row["mfr"] <= 1 and 0 <= row["accuracy"] <= 1
        assert row["n_samples"] == (1347 if row["split"] == "train" else 450)
        assert 0 <= row["ff_fraction_below_poisson"] <= 1 and 0 <= row["ljung_box_combined_p"] <= 1
        assert row["adf_fraction_nonstationary"] is None  # 13 or 4 windows of 100: too few for ADF
    # Table 2's KS comparisons: 3 train-vs-test + 2 x 3 condition pairs, Bonferroni over all 9
    ks = json.loads((out / "results.json").read_text())["ks_comparisons"]
    assert len(ks) == 9 and len((out / "comparisons.csv").read_text().splitlines()) == 10
    assert ks[0]["a"] == "Random/train" and ks[0]["b"] == "Random/test"
    for r in ks:
        assert r["p_bonferroni"] == pytest.approx(min(1.0, 9 * r["p_value"]))
    # the NWB file reads back to the same spike counts as the analysis saw
    block = ann2neo.read_nwb(out / "Generalizing.nwb")
    for seg in block.segments:
        matrix = ann2neo.from_spiketrains(seg.spiketrains)
        row = next(r for r in rows if r["condition"] == "Generalizing" and r["split"] == seg.name)
        assert matrix.shape == (row["n_samples"], 32)
        assert ann2neo.analyze(matrix).summary["mfr"] == pytest.approx(row["mfr"], rel=1e-12)
