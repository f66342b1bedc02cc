"""Careless input and hostile environments give one line and the right exit status (issue 15: W7, W12, U9-U15, C1)."""
import errno
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ann2neo
from ann2neo.cli import main
from ann2neo.io.manifest import check_run

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--dataset", "digits", "--width", "8", "--dynamics-epochs", "0", "--no-progress", "--no-figures",
        "--no-diagnostics"]


@pytest.fixture
def no_training(monkeypatch):
    """Make any training attempt fail the test: the error must come first."""
    import ann2neo.experiments.reproduce as rep

    def forbidden(*args, **kwargs):
        raise AssertionError("training started before the error was found")

    monkeypatch.setattr(rep, "train_stage", forbidden)


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def rec_npy(tmp_path):
    path = tmp_path / "rec.npy"
    np.save(path, np.random.default_rng(0).random((300, 4)) < 0.3)
    return path


# ----------------------------------------------------------------------------- U9, U10


def test_unknown_matlab_variable_is_one_line_listing_the_variables(tmp_path, capsys):
    import scipy.io

    path = tmp_path / "real.mat"
    scipy.io.savemat(path, {"spk": np.sort(np.random.default_rng(0).random(20)), "pos": np.arange(5.0)})
    assert main(["analyze", str(path), "--variables", "nope", "--out", str(tmp_path / "o")]) == 2
    line = one_line(capsys.readouterr().err)
    assert "has no variable 'nope'; variables found: spk (1, 20) float64, pos (1, 5) float64" in line
    with pytest.raises(KeyError):  # still a KeyError for library code that catches one
        ann2neo.load_recording(path, variables=["nope"])


def test_a_folder_given_as_the_file_is_one_line(tmp_path, capsys):
    (tmp_path / "some_dir").mkdir()
    assert main(["analyze", str(tmp_path / "some_dir"), "--out", str(tmp_path / "o")]) == 2
    assert "is a folder, not a recording file" in one_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------- U11, U12: read-only, full disk


def _failing_mkdir(code):
    def mkdir(self, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(self))
    return mkdir


@pytest.mark.parametrize("command", ["analyze", "reproduce"])
def test_read_only_out_is_one_line_exit_2(tmp_path, capsys, monkeypatch, rec_npy, command, no_training):
    out = tmp_path / "ro" / "out"
    monkeypatch.setattr(pathlib.Path, "mkdir", _failing_mkdir(errno.EROFS))  # as on a read-only mount
    argv = ["analyze", str(rec_npy)] if command == "analyze" else ["reproduce", *FAST]
    assert main([*argv, "--out", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"ann2neo {command}: error: Read-only file system: '{out}'")
    assert "writable file system" in line


def test_real_read_only_location_is_one_line(tmp_path, capsys, rec_npy):
    # /proc refuses new folders to everyone, root included
    assert main(["analyze", str(rec_npy), "--out", "/proc/ann2neo-test/out"]) == 2
    assert one_line(capsys.readouterr().err).startswith("ann2neo analyze: error: ")


def test_full_disk_is_one_line_and_recorded_in_the_log(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    import ann2neo.experiments.reproduce as rep

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(rep, "write_text", full)
    out = tmp_path / "out"
    # Random only, no training-dynamics stage: no network is trained
    assert main(["reproduce", "--out", str(out), *FAST, "--conditions", "Random"]) == 2
    err = capsys.readouterr().err  # progress lines go to the log; the error is one line
    assert "Traceback" not in err
    [line] = [x for x in err.splitlines() if x.startswith("ann2neo reproduce: error:")]
    assert "No space left on device" in line and "results.csv" in line
    log = (out / "reproduce.log").read_text()
    assert "run failed, the folder is incomplete (no manifest.json): OSError: [Errno 28] No space left" in log
    assert not check_run(out).complete


# ----------------------------------------------------------------------------- W12, U13, C1


def test_data_and_dataset_together_are_a_contradiction(tmp_path, capsys, no_training):
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=np.zeros((40, 4)), y_train=np.zeros(40, int), x_test=np.zeros((40, 4)),
             y_test=np.zeros(40, int))
    out = tmp_path / "o"
    assert main(["reproduce", "--out", str(out), "--data", str(path), "--dataset", "cifar10"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--data" in line and "--dataset cifar10 contradict each other" in line
    assert not out.exists() or not any(out.iterdir())
    from ann2neo.experiments.config import ReproduceConfig

    config = ReproduceConfig(data=str(path))
    assert config.dataset is None and config.to_dict()["dataset"] is None and config.source == f"npz:{path}"
    assert ReproduceConfig().dataset == "mnist5k"


def test_data_that_is_a_npy_says_what_it_needs(tmp_path, capsys, no_training, rec_npy):
    assert main(["reproduce", "--out", str(tmp_path / "o"), "--data", str(rec_npy)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "holds a single array of shape (300, 4), not an archive; --data needs an .npz archive with x_train, " \
           "y_train, x_test, y_test" in line


def test_a_network_too_large_for_memory_is_refused_before_it_is_built(tmp_path, capsys, monkeypatch, no_training):
    pytest.importorskip("sklearn")
    import ann2neo.experiments.conditions as cond

    monkeypatch.setattr(cond, "_physical_memory", lambda: 16 * 2**30)
    built = []
    monkeypatch.setattr(cond, "build_model", lambda *a, **k: built.append(a))
    assert main(["reproduce", "--out", str(tmp_path / "o"), *FAST, "--width", "100000000"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "width 100000000 gives a mlp network of 7,500,000,010 weights on inputs of shape (8, 8)" in line
    assert "more than this machine's 16.0 GiB" in line and not built


@pytest.mark.parametrize("architecture, shape", [("mlp", (8, 8)), ("cnn", (8, 8)), ("cnn", (12, 10, 3)),
                                                 ("densenet121", (32, 32, 3))])
def test_parameter_count_matches_keras(architecture, shape, monkeypatch):
    pytest.importorskip("keras")
    import ann2neo.experiments.conditions as cond

    monkeypatch.setattr(cond, "_densenet_weights", lambda: None)
    model = cond.build_model(architecture, shape, width=7, n_classes=5)
    assert cond.parameter_count(architecture, shape, width=7, n_classes=5) == model.count_params()


# ----------------------------------------------------------------------------- W7


def test_a_condition_that_fails_its_own_criterion_is_flagged():
    from ann2neo.experiments.reproduce import criterion_flag, near_chance

    assert criterion_flag("Generalizing", "test", "true", True, 0.099, 0.101).startswith(
        "Generalizing near chance (test accuracy 0.099, chance 0.101)")
    assert criterion_flag("Generalizing", "test", "true", True, 0.93, 0.101) == ""
    assert criterion_flag("Generalizing", "train", "true", True, 0.099, 0.101) == ""  # its criterion is the test
    assert criterion_flag("Random", "test", "true", False, 0.099, 0.101) == ""  # untrained: no criterion
    assert criterion_flag("MemRandomLast", "train", "shuffled", True, 0.11, 0.101).startswith(
        "memorization near chance (train accuracy 0.110 on shuffled labels")
    assert criterion_flag("MemRandomLast", "test", "shuffled", True, 0.11, 0.101) == ""  # chance on test is expected
    assert near_chance(0.74, 0.5) and not near_chance(0.76, 0.5)  # two classes: halfway to perfect


@pytest.mark.slow
def test_generalizing_at_chance_is_flagged_in_table_report_and_banner(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "o"
    assert main(["reproduce", "--out", str(out), "--dataset", "digits", "--validation-split", "0.999",
                 "--conditions", "Generalizing", "--epochs", "2", "--dynamics-epochs", "0", "--no-progress",
                 "--no-diagnostics"]) == 0
    rows = {r["split"]: r for r in json.loads((out / "results.json").read_text())["rows"]}
    assert rows["test"]["accuracy"] < 0.2
    assert "Generalizing near chance (test accuracy" in rows["test"]["flags"]
    assert "!! FLAG Generalizing/test/hidden: Generalizing near chance" in capsys.readouterr().out
    assert "Generalizing near chance" in (out / "report.md").read_text()


# ----------------------------------------------------------------------------- U14


@pytest.mark.slow
def test_sigint_during_training_exits_130_with_one_line(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "o"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "ann2neo.cli", "reproduce", "--out", str(out), *FAST,
                             "--conditions", "Generalizing", "--epochs", "100000"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "reproduce.log"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (log.exists() and "dataset digits" in log.read_text()):
        time.sleep(0.2)
    time.sleep(2)  # inside model.fit
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("ann2neo reproduce: interrupted (SIGINT)")
    assert "run failed, the folder is incomplete (no manifest.json): interrupted (SIGINT)" in log.read_text()
    assert not check_run(out).complete


# ----------------------------------------------------------------------------- U15


def test_a_segment_name_with_nul_is_named_in_the_error(tmp_path):
    pytest.importorskip("pynwb")
    spikes = np.random.default_rng(0).random((20, 3)) < 0.3
    with pytest.raises(ValueError, match=r"segment 'a\\x00b' holds a NUL character \(\\x00\) at position 1"):
        ann2neo.io.write_nwb(tmp_path / "x.nwb", {"a\x00b": spikes})
    assert not (tmp_path / "x.nwb").exists()
    pytest.importorskip("nixio")
    with pytest.raises(ValueError, match=r"segment 'a\\x00b' holds a NUL character"):
        ann2neo.io.write_nix(tmp_path / "x.nix", ann2neo.to_block([ann2neo.to_segment(spikes, name="a\x00b")]))
    assert not (tmp_path / "x.nix").exists()
