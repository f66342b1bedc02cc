"""Hostile files and folders (issue 15, S1-S3, D1, D2): nothing runs, nothing outside --out is touched."""
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ann2neo
from ann2neo.cli import main
from ann2neo.io._lock import LOCK_NAME, RunLockedError, run_lock
from ann2neo.io._names import safe_file_name, unique_file_names
from ann2neo.io.loaders import AmbiguousVariablesError, UnsafeFormatError
from ann2neo.io.manifest import UnsafeOverwriteError, check_run, prepare_run_dir, write_manifest

ROOT = Path(__file__).resolve().parents[2]
SCIPY_MAT = Path(__import__("scipy").__file__).parent / "io" / "matlab" / "tests" / "data"


class _Marker:
    """Unpickling this creates the marker file: proof that code from the file ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def evil_pickle(tmp_path):
    marker = tmp_path / "MARKER"

    def make(name):
        path = tmp_path / name
        path.write_bytes(pickle.dumps(_Marker(marker)))
        return path

    return make, marker


# ----------------------------------------------------------------------------- S1: never unpickle


@pytest.mark.parametrize("name", ["evil.pkl", "evil.pickle", "EVIL.PKL", "evil.joblib"])
def test_load_recording_refuses_pickles_before_any_io_runs(evil_pickle, name, monkeypatch):
    import neo

    make, marker = evil_pickle
    created = []
    monkeypatch.setattr(neo.io.PickleIO, "__init__", lambda self, *a, **k: created.append(1))
    with pytest.raises(UnsafeFormatError, match="never unpickles.*Save the spikes as .mat"):
        ann2neo.load_recording(make(name))
    assert not marker.exists() and not created  # no PickleIO was even instantiated


def test_a_pickle_under_a_neo_extension_claimed_only_by_pickleio_is_refused(evil_pickle, monkeypatch):
    import neo

    make, marker = evil_pickle
    path = make("evil.neopkl")
    monkeypatch.setitem(neo.io.io_by_extension, "neopkl", [neo.io.PickleIO])
    with pytest.raises(UnsafeFormatError, match="PickleIO, which unpickles"):
        ann2neo.load_recording(path)
    assert not marker.exists()


@pytest.mark.parametrize("command", ["analyze", "compare"])
def test_cli_refuses_pickles_with_one_line(evil_pickle, tmp_path, capsys, command):
    make, marker = evil_pickle
    evil = make("evil.pkl")
    ann = tmp_path / "ann.npy"
    np.save(ann, np.random.default_rng(0).random((200, 3)) < 0.3)
    argv = (["analyze", str(evil)] if command == "analyze" else
            ["compare", str(ann), str(evil), "--sample-duration", "1ms"])
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert not marker.exists()
    assert err.count("\n") == 1 and "never unpickles" in err and "Traceback" not in err


def test_pickled_npy_is_never_loaded(tmp_path, capsys):
    marker = tmp_path / "MARKER"
    np.save(tmp_path / "evil.npy", np.array([_Marker(marker)], dtype=object), allow_pickle=True)
    assert main(["analyze", str(tmp_path / "evil.npy"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert not marker.exists() and err.count("\n") == 1 and "without Python objects" in err


def test_zarr_store_with_a_pickle_codec_runs_nothing(tmp_path):
    from ann2neo.io import store

    marker = tmp_path / "MARKER"
    root = tmp_path / "evil.zarr"
    (root / "h").mkdir(parents=True)
    (root / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    (root / ".zattrs").write_text(json.dumps({"format": store.FORMAT, "complete": True, "layers": ["h"]}))
    (root / "h" / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [2, 1], "chunks": [2, 1], "dtype": "|u1", "compressor": None, "fill_value": 0,
        "filters": [{"id": "pickle"}], "order": "C"}))
    (root / "h" / ".zattrs").write_text(json.dumps({"n_nodes": 1, "layer_shape": [1], "threshold": 0}))
    (root / "h" / "0.0").write_bytes(pickle.dumps(np.array([[_Marker(marker)]] * 2, dtype=object)))
    for lazy in (False, True):
        with pytest.raises(ValueError):
            data = store.read_store(root, lazy=lazy)
            data["h"].compute()
        assert not marker.exists()


@pytest.mark.skipif(not (SCIPY_MAT / "some_functions.mat").exists(), reason="scipy's MATLAB test files not installed")
def test_matlab_function_handles_and_objects_are_refused(tmp_path):
    shutil.copy(SCIPY_MAT / "some_functions.mat", tmp_path / "f.mat")
    with pytest.raises(ValueError, match="'sqr' is a MATLAB function handle; ann2neo reads only numeric arrays"):
        ann2neo.load_recording(tmp_path / "f.mat", variables=["sqr"])
    shutil.copy(SCIPY_MAT / "testobject_7.4_GLNX86.mat", tmp_path / "o.mat")
    with pytest.raises(ValueError, match="'testobject' is a MATLAB class object"):
        ann2neo.load_recording(tmp_path / "o.mat", variables="testobject")
    # never a candidate for the spikes when no variable is named
    with pytest.raises(AmbiguousVariablesError):
        ann2neo.load_recording(tmp_path / "o.mat")


# ----------------------------------------------------------------------------- S2: --overwrite


def _old_run(out, listed):
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text("{}")
    write_manifest(out, ["results.json"])
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"] += [{"path": p, "bytes": 1, "sha256": "0" * 64} for p in listed]
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_overwrite_never_deletes_outside_out(tmp_path, capsys):
    victim_file = tmp_path / "victim_file.txt"
    victim_file.write_text("keep me")
    victim_dir = tmp_path / "victim_dir"
    victim_dir.mkdir()
    (victim_dir / "a.txt").write_text("keep me too")
    out = tmp_path / "folder"
    _old_run(out, ["../victim_file.txt", str(victim_dir)])
    rec = tmp_path / "rec.npy"
    np.save(rec, np.random.default_rng(0).random((200, 3)) < 0.3)
    assert main(["analyze", str(rec), "--out", str(out), "--overwrite", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "'../victim_file.txt', which is not a path inside the folder" in err and err.count("\n") == 1
    assert victim_file.read_text() == "keep me" and (victim_dir / "a.txt").exists()
    assert (out / "manifest.json").exists() and (out / "results.json").exists()  # nothing deleted at all
    with pytest.raises(UnsafeOverwriteError, match="not a path inside"):
        prepare_run_dir(out, overwrite=True)
    assert victim_dir.is_dir()


def test_overwrite_does_not_follow_a_symlink_out_of_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    out = tmp_path / "run"
    out.mkdir()
    (out / "sub").symlink_to(outside, target_is_directory=True)
    write_manifest(out, ["sub/secret.txt"])  # right checksum: only the link makes it escape
    with pytest.raises(UnsafeOverwriteError, match="leads outside the folder through a symbolic link"):
        prepare_run_dir(out, overwrite=True, owned=("*.txt",))
    assert (outside / "secret.txt").read_text() == "secret"
    # an owned pattern that matches a link removes the link only, never what it points to
    (out / "manifest.json").unlink()
    (out / "figures").symlink_to(outside, target_is_directory=True)
    prepare_run_dir(out, overwrite=True, owned=("figures", "sub"))
    assert not (out / "figures").exists() and (outside / "secret.txt").read_text() == "secret"


def test_overwrite_keeps_a_listed_file_changed_since_the_run(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.md").write_text("generated")
    write_manifest(out, ["report.md"])
    (out / "report.md").write_text("my own notes, added later")
    with pytest.raises(UnsafeOverwriteError, match="'report.md', but that file has changed since the run"):
        prepare_run_dir(out, overwrite=True)
    assert (out / "report.md").read_text() == "my own notes, added later" and check_run(out).manifest is not None


# ----------------------------------------------------------------------------- S3: HDF5 external links


@pytest.fixture
def nwb_with_labels(tmp_path):
    pytest.importorskip("pynwb")
    spikes = np.random.default_rng(1).random((50, 4)) < 0.3
    path = tmp_path / "rec.nwb"
    ann2neo.io.write_nwb(path, {"test": (spikes, {"labels": np.arange(50) % 3})})
    return path


def test_external_links_in_nwb_files_are_refused(nwb_with_labels, tmp_path):
    import h5py

    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["labels"] = np.full(50, 7, dtype=np.int64)
    with h5py.File(nwb_with_labels, "r+") as f:
        target = next(k for k in f["stimulus/presentation"] if k.startswith("labels_"))
        del f[f"stimulus/presentation/{target}/data"]
        f[f"stimulus/presentation/{target}/data"] = h5py.ExternalLink(str(secret), "/labels")
    for read in (ann2neo.io.read, ann2neo.io.read_nwb, ann2neo.io.read_nwb_matrices, ann2neo.load_recording):
        with pytest.raises(ann2neo.io.FileFormatError, match=r"data is an HDF5 external link to .*secret.h5:/labels"):
            read(nwb_with_labels)


def test_virtual_and_externally_stored_datasets_are_refused(nwb_with_labels, tmp_path):
    import h5py

    raw = tmp_path / "raw.bin"
    np.arange(10, dtype="<f8").tofile(raw)
    with h5py.File(nwb_with_labels, "r+") as f:
        f.create_dataset("extra", shape=(10,), dtype="<f8", external=[(str(raw), 0, 80)])
    with pytest.raises(ann2neo.io.FileFormatError, match="/extra is a dataset whose data are stored in"):
        ann2neo.io.read_nwb(nwb_with_labels)
    with h5py.File(nwb_with_labels, "r+") as f:
        del f["extra"]
        layout = h5py.VirtualLayout(shape=(10,), dtype="<f8")
        layout[:] = h5py.VirtualSource(str(tmp_path / "other.h5"), "x", shape=(10,))
        f.create_virtual_dataset("virtual", layout)
    with pytest.raises(ann2neo.io.FileFormatError, match="/virtual is a virtual dataset mapped from .*other.h5"):
        ann2neo.load_recording(nwb_with_labels)


def test_external_link_in_a_nix_file_is_refused(tmp_path):
    pytest.importorskip("nixio")
    import h5py

    spikes = np.random.default_rng(2).random((30, 3)) < 0.3
    path = tmp_path / "rec.nix"
    ann2neo.io.write_nix(path, ann2neo.to_block([ann2neo.to_segment(spikes, name="test")]))
    with h5py.File(path, "r+") as f:
        f["sneaky"] = h5py.ExternalLink(str(tmp_path / "x.h5"), "/y")
    with pytest.raises(ann2neo.io.FileFormatError, match="external link"):
        ann2neo.io.read_nix(path)


# ----------------------------------------------------------------------------- D1: one run per folder


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path, capsys, caplog):
    rec = tmp_path / "rec.npy"
    np.save(rec, np.random.default_rng(0).random((300, 3)) < 0.3)
    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(f"{sleeper.pid} {os.uname().nodename}\n")
        assert main(["analyze", str(rec), "--out", str(out), "--no-figures"]) == 2
        err = capsys.readouterr().err
        assert f"is in use by another ann2neo run (process {sleeper.pid})" in err and err.count("\n") == 1
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing written
    finally:
        sleeper.kill()
        sleeper.wait()
    # the holder is dead now: its lock is stale and taken over, with a message
    assert main(["analyze", str(rec), "--out", str(out), "--no-figures"]) == 0
    assert f"took over the lock of process {sleeper.pid}" in caplog.text
    assert check_run(out).complete and not (out / LOCK_NAME).exists()


def test_lock_is_reentrant_in_one_process_and_released(tmp_path):
    with run_lock(tmp_path / "o") as out:
        with run_lock(out):
            assert (out / LOCK_NAME).read_text().split()[0] == str(os.getpid())
        assert (out / LOCK_NAME).exists()  # still held by the outer block
    assert not (out / LOCK_NAME).exists()


_RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ann2neo.cli import main
    import ann2neo.experiments.files, ann2neo.analysis.report  # warm: both start the race at the same moment
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.005)
    sys.exit(main(["analyze", sys.argv[2], "--out", sys.argv[3], "--window", "20", "--no-figures"]))
""")


def test_two_processes_racing_on_one_folder(tmp_path):
    recs = []
    for seed in (0, 1):
        m = np.random.default_rng(seed).random((20_000, 40)) < (0.1 + 0.2 * seed)
        recs.append(tmp_path / f"rec{seed}.npy")
        np.save(recs[-1], m)
    out, go = tmp_path / "SAME", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(go), str(r), str(out)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in recs]
    time.sleep(8)  # both import ann2neo, then wait for the start signal
    go.write_text("go")
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[0] == 2)
    assert ("in use by another ann2neo run" in loser[2] or "is not empty" in loser[2]) and "Traceback" not in loser[2]
    assert loser[2].strip().count("\n") == 0
    winner = recs[[r[0] for r in results].index(0)]
    assert check_run(out).complete and not (out / LOCK_NAME).exists()
    summary = json.loads((out / "results.json").read_text())
    assert summary["file"] == str(winner)  # one run's files only


def test_prepare_run_dir_refuses_a_folder_locked_by_another_process(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_NAME).write_text(f"{sleeper.pid} {os.uname().nodename}\n")
        with pytest.raises(RunLockedError, match=f"process {sleeper.pid}"):
            prepare_run_dir(tmp_path, overwrite=True)
        with pytest.raises(RunLockedError):
            with run_lock(tmp_path):
                pass
    finally:
        sleeper.kill()
        sleeper.wait()


# ----------------------------------------------------------------------------- D2: name collisions


def test_segments_whose_names_sanitize_alike_get_distinct_files(tmp_path):
    pytest.importorskip("pynwb")
    rng = np.random.default_rng(3)
    five, seven = rng.random((300, 5)) < 0.3, rng.random((300, 7)) < 0.3
    path = tmp_path / "rec.nwb"
    ann2neo.io.write_nwb(path, {"a b": five, "a_b": seven, "A_B": seven})
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-figures", "--no-diagnostics"]) == 0
    rows = {p.name: len(p.read_text().splitlines()) - 1 for p in out.glob("nodes_*.csv")}
    assert rows == {"nodes_a_b.csv": 5, "nodes_a_b-2.csv": 7, "nodes_A_B-3.csv": 7}
    listed = [e["path"] for e in json.loads((out / "manifest.json").read_text())["files"]]
    assert len(listed) == len(set(listed)) and check_run(out).complete


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=12))
def test_sanitized_file_names_are_unique_and_safe(names):
    parts = unique_file_names(names)
    assert len(parts) == len(names)
    assert len({p.lower() for p in parts}) == len(parts)  # unique, even on case-insensitive file systems
    for p in parts:
        assert p and "/" not in p and "\\" not in p and "\x00" not in p and ".." not in p
        assert not p.startswith((".", "-")) and len(p) <= 90
        assert Path(p).name == p
    assert parts == unique_file_names(names)  # deterministic
    for name in names:
        assert safe_file_name(name) == safe_file_name(name)
