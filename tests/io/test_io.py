"""NWB and NIX files: lossless round trips, clear errors, atomic writes, clean nwbinspector reports."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import neo
import numpy as np
import pytest
import quantities as pq

import ann2neo

pynwb = pytest.importorskip("pynwb")

from ann2neo.io.nwb import FileFormatError, read_nwb, read_nwb_matrices, write_nwb  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _same(v0, v1):
    if isinstance(v0, np.ndarray):
        return isinstance(v1, np.ndarray) and v0.dtype == v1.dtype and np.array_equal(v0, v1)
    return type(v0) is type(v1) and v0 == v1


def assert_blocks_equal(b0, b1, check_block=True):
    if check_block:
        assert b0.name == b1.name
        assert set(b0.annotations) == set(b1.annotations)
        assert all(_same(b0.annotations[k], b1.annotations[k]) for k in b0.annotations)
    assert [s.name for s in b0.segments] == [s.name for s in b1.segments]
    for s0, s1 in zip(b0.segments, b1.segments, strict=True):
        assert s0.description == s1.description
        assert set(s0.annotations) == set(s1.annotations), (s0.annotations.keys(), s1.annotations.keys())
        for k in s0.annotations:
            assert _same(s0.annotations[k], s1.annotations[k]), k
        assert len(s0.spiketrains) == len(s1.spiketrains)
        for t0, t1 in zip(s0.spiketrains, s1.spiketrains, strict=True):
            assert t0.name == t1.name
            np.testing.assert_array_equal(t0.magnitude, t1.magnitude)
            assert t0.units == t1.units and t0.t_start == t1.t_start and t0.t_stop == t1.t_stop
            assert set(t0.annotations) == set(t1.annotations), (t0.annotations, t1.annotations)
            for k in t0.annotations:
                assert _same(t0.annotations[k], t1.annotations[k]), (k, t0.annotations[k], t1.annotations[k])


@pytest.fixture
def block(rng):
    """Two splits as `ann2neo reproduce` builds them, plus every annotation kind the contract names."""
    a = ann2neo.binarize(rng.normal(size=(120, 6)), layer="conv")
    a = ann2neo.SpikeMatrix(a, layer_shape=(2, 3), threshold=0.0, layer="conv")
    b = ann2neo.binarize(rng.normal(size=(40, 6)), threshold=0.25)  # layer=None
    train = ann2neo.to_segment(a, name="train", split="train", condition="Generalizing", dataset="digits", seed=3,
                               model_summary="Flatten -> Dense(6)", labels=rng.integers(0, 10, 120),
                               sample_index=rng.permutation(120).astype(np.int32))
    test = ann2neo.to_segment(b, name="test", description="held out", split="test", labels=None)
    return ann2neo.to_block([train, test], name="Generalizing", model="mlp: Dense(6)", seed=3, dataset="digits",
                            condition="Generalizing")


def test_nwb_round_trip_is_lossless(tmp_path, block):
    path = tmp_path / "new" / "sub" / "rec.nwb"  # parent folders are created
    write_nwb(path, block)
    back = read_nwb(path)
    assert_blocks_equal(block, back)
    seg = back.segments[1].spiketrains[0]
    assert seg.annotations["layer"] is None and seg.annotations["threshold"] == 0.25  # not the string "None"
    assert back.segments[0].spiketrains[0].annotations["layer_shape"] == (2, 3)      # not (6,)
    assert back.segments[0].annotations["sample_index"].dtype == np.int32
    np.testing.assert_array_equal(ann2neo.from_spiketrains(back.segments[0].spiketrains),
                                  ann2neo.from_spiketrains(block.segments[0].spiketrains))
    matrices = read_nwb_matrices(path)
    assert list(matrices) == ["train", "test"] and matrices["train"].layer_shape == (2, 3)
    assert matrices["test"].layer is None and matrices["test"].threshold == 0.25
    np.testing.assert_array_equal(matrices["test"], ann2neo.from_spiketrains(block.segments[1].spiketrains))
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        write_nwb(path, block)


@pytest.mark.parametrize("rate", [1.0, 250.0, 30000.0])
def test_nwb_other_nominal_rates_and_matrix_mapping(tmp_path, rng, rate):
    m = ann2neo.binarize(rng.normal(size=(333, 7)), layer="h")
    path = tmp_path / "m.nwb"
    if rate == 250.0:
        with pytest.warns(DeprecationWarning, match="sampling_rate= is deprecated: give sample_duration="):
            write_nwb(path, {"a": m, "b": m[:50]}, sampling_rate=rate)   # the deprecated alias
    else:
        write_nwb(path, {"a": m, "b": m[:50]}, sample_duration=(1 / rate) * pq.s)
    back = read_nwb_matrices(path)
    np.testing.assert_array_equal(back["a"], m)
    np.testing.assert_array_equal(back["b"], m[:50])
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        times = f.units["spike_times"].target.data[:]
        assert f.units.resolution == pytest.approx(1 / rate, rel=1e-12)
        # segment b sits after segment a and one empty sample: sample k of b at (334 + k + 0.5) / rate s
        first_b = f.units["spike_times"][7]
        np.testing.assert_allclose(first_b, (334 + np.flatnonzero(m[:50, 0]) + 0.5) / rate, rtol=0, atol=1e-9)
        assert not np.any(times == np.floor(times))
        np.testing.assert_allclose(f.epochs["start_time"][:], [0, 334 / rate])
        np.testing.assert_allclose(f.epochs["stop_time"][:], [333 / rate, 384 / rate])


def test_nwb_path_that_is_a_directory(tmp_path, block):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        write_nwb(tmp_path, block, overwrite=True)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_nwb(tmp_path)


def test_duplicate_segment_names_are_refused(tmp_path, rng):
    m = ann2neo.binarize(rng.normal(size=(20, 3)))
    block = ann2neo.to_block([ann2neo.to_segment(m, name="test"), ann2neo.to_segment(m, name="test")])
    with pytest.raises(ValueError, match="two segments are named 'test'"):
        write_nwb(tmp_path / "d.nwb", block)
    assert not any(tmp_path.iterdir())


def test_damaged_files_give_one_error_naming_the_file(tmp_path, block):
    good = tmp_path / "good.nwb"
    write_nwb(good, block)
    raw = good.read_bytes()
    garbage = tmp_path / "garbage.nwb"
    garbage.write_bytes(b"not an hdf5 file")
    truncated = tmp_path / "truncated.nwb"
    truncated.write_bytes(raw[: len(raw) // 2])
    cases = [garbage, truncated]
    rng = np.random.default_rng(1)
    for i in range(6):  # bit flips spread over the file
        flipped = bytearray(raw)
        for pos in rng.integers(0, len(raw), size=200):
            flipped[pos] ^= 1 << int(rng.integers(0, 8))
        p = tmp_path / f"flipped{i}.nwb"
        p.write_bytes(bytes(flipped))
        cases.append(p)
    for p in cases:
        try:
            back = read_nwb(p)
        except FileFormatError as exc:
            assert p.name in str(exc)
        else:  # a flip that hit only padding must still give the exact recording
            assert_blocks_equal(block, back)
    with pytest.raises(FileFormatError, match="garbage.nwb"):
        read_nwb(garbage)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_nwb(tmp_path / "missing.nwb")


def test_off_grid_spike_times_are_refused_not_rounded(tmp_path, rng):
    h5py = pytest.importorskip("h5py")
    m = np.zeros((4, 1), dtype=bool)
    m[[0, 1, 2, 3], 0] = True
    path = tmp_path / "g.nwb"
    write_nwb(path, {"s": m}, sample_duration=1 * pq.s, compression=None)
    with h5py.File(path, "r+") as f:
        f["units/spike_times"][:] = [0.4, 0.6, 1.5, 2.5]  # old reader gave [0, 1, 2, 2]
    with pytest.raises(FileFormatError, match="not at sample centres"):
        read_nwb(path)


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path):
    import quantities as pq

    bad = tmp_path / "bad.nwb"
    bad.write_bytes(b"old content")
    in_ms = ann2neo.to_segment([neo.SpikeTrain([1] * pq.ms, t_stop=5 * pq.ms)])
    with pytest.raises(ann2neo.UnitError, match="not in samples"):
        write_nwb(bad, in_ms, overwrite=True)
    off_grid = ann2neo.to_segment([neo.SpikeTrain([1.5] * ann2neo.sample, t_stop=5 * ann2neo.sample)])
    with pytest.raises(ValueError, match="off the integer sample grid"):
        write_nwb(bad, off_grid, overwrite=True)
    assert bad.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nwb"]


_WRITER = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
from ann2neo.io.nwb import write_nwb
m = np.random.default_rng(int(sys.argv[3])).random((20000, 256)) < 0.4
print("ready", flush=True)
write_nwb(sys.argv[2], {"s": m}, overwrite=True)
"""


@pytest.mark.slow
def test_sigkill_during_write_leaves_old_or_new_file_and_no_stale_temporary(tmp_path):
    from ann2neo.io._atomic import TEMP_PREFIX

    target = tmp_path / "rec.nwb"
    old = np.random.default_rng(0).random((20000, 256)) < 0.4
    write_nwb(target, {"s": old})
    new = np.random.default_rng(1).random((20000, 256)) < 0.4
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def temporaries():
        return [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]

    outcomes, killed_mid_write = set(), 0
    # kill as soon as the temporary file appears, once it has grown, after fixed delays, and never
    for when in ("created", 200_000, 0.0, 0.5, 1.5, None):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(REPO), str(target), "1"], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        if isinstance(when, float):
            time.sleep(when)
        elif when is not None:
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                tmps = temporaries()
                if tmps and (when == "created" or tmps[0].stat().st_size >= when):
                    break
                time.sleep(0.001)
        if when is not None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=120)
        killed_mid_write += bool(temporaries())
        got = read_nwb_matrices(target)["s"]  # never partial: complete old or complete new
        assert np.array_equal(got, new) or np.array_equal(got, old)
        outcomes.add("new" if np.array_equal(got, new) else "old")
    assert outcomes == {"old", "new"} and killed_mid_write >= 2
    # the next write into the folder removes the temporaries of the killed writers
    write_nwb(tmp_path / "other.nwb", {"s": old[:10]})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.nwb", "rec.nwb"]


def test_stale_temporary_of_dead_pid_is_swept_live_one_kept(tmp_path):
    from ann2neo.io._atomic import TEMP_PREFIX, atomic_path

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{TEMP_PREFIX}{dead.pid}-0123abcd-x.nwb"
    stale.write_bytes(b"partial")
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-89abcdef-y.nwb"
    live.write_bytes(b"being written")
    with atomic_path(tmp_path / "z.txt") as tmp:
        tmp.write_text("z")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "z.txt"])


def test_existing_nwbfile_and_session_metadata(tmp_path, block):
    import datetime

    from pynwb.file import Subject

    f = pynwb.NWBFile(session_description="my session", identifier="abc",
                      session_start_time=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc), lab="lab X")
    path = tmp_path / "e.nwb"
    write_nwb(path, block, nwbfile=f)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        g = io.read()
        assert g.lab == "lab X" and g.identifier == "abc" and len(g.units) == 12
    assert_blocks_equal(block, read_nwb(path))
    with pytest.raises(ValueError, match="already has a Units table"):
        write_nwb(tmp_path / "e2.nwb", block, nwbfile=f)
    with pytest.raises(ValueError, match="institution cannot be combined with nwbfile="):
        write_nwb(tmp_path / "e3.nwb", block, nwbfile=f, institution="Uni")
    subject = Subject(subject_id="net-1", species="http://purl.obolibrary.org/obo/NCBITaxon_32630", sex="U",
                      age="P0D")
    write_nwb(tmp_path / "m.nwb", block, subject=subject, experimenter=["Doe, Jane"], institution="Uni",
              keywords=["ann", "spikes"], session_description="desc")
    with pynwb.NWBHDF5IO(str(tmp_path / "m.nwb"), "r") as io:
        g = io.read()
        assert g.subject.subject_id == "net-1" and g.experimenter == ("Doe, Jane",)
        assert g.institution == "Uni" and list(g.keywords[:]) == ["ann", "spikes"]
        assert g.session_description == "desc"


def test_default_subject_and_inspector_clean(tmp_path, block):
    nwbinspector = pytest.importorskip("nwbinspector")
    path = tmp_path / "i.nwb"
    write_nwb(path, block, institution="Uni")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        g = io.read()
        assert g.subject.species == "http://purl.obolibrary.org/obo/NCBITaxon_32630" and g.subject.sex == "U"
        assert g.subject.subject_id == "mlp seed 3"
    bad = [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path))
           if m.importance.name in ("CRITICAL", "PYNWB_VALIDATION", "ERROR", "BEST_PRACTICE_VIOLATION")]
    assert bad == []
    assert pynwb.validate(path=str(path)) == []


@pytest.mark.filterwarnings("error:Some starts and ends are equal")  # epochs do not touch: pynapple trims nothing
def test_pynapple_reads_per_split_numbers(tmp_path, rng):
    nap = pytest.importorskip("pynapple")
    train = rng.random((1000, 4)) < [0.1, 0.3, 0.5, 0.7]
    test = rng.random((500, 4)) < 0.9
    path = tmp_path / "p.nwb"
    write_nwb(path, ann2neo.to_block([ann2neo.to_segment(train, name="train", split="train"),
                                      ann2neo.to_segment(test, name="test", split="test")]))
    data = nap.load_file(str(path))
    units, epochs = data["units"], data["epochs"]
    for name, m in (("train", train), ("test", test)):
        ep = epochs[epochs["segment"] == name]
        group = units.getby_category("segment")[name].restrict(ep)
        counts = group.count(0.1, ep)  # 100 samples at the nominal 1 kHz
        c = np.asarray(counts.values)
        expected = m.reshape(-1, 100, m.shape[1]).sum(axis=1)
        np.testing.assert_array_equal(c, expected)
        ff = c.var(axis=0) / c.mean(axis=0)
        np.testing.assert_allclose(ff, ann2neo.fano_factor(m, window=100), rtol=1e-12)


def test_nix_round_trip_and_read_dispatch(tmp_path, block):
    pytest.importorskip("nixio")
    from ann2neo.io.formats import read_block
    from ann2neo.io.nix import write_nix

    write_nix(tmp_path / "r.nix", block)
    write_nwb(tmp_path / "r.nwb", block)
    for name in ("r.nix", "r.nwb"):
        back = read_block(tmp_path / name)
        assert_blocks_equal(block, back)
        assert [g.name for g in back.groups] == [g.name for g in block.groups] and len(block.groups) == 12
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        write_nix(tmp_path / "r.nix", block)
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(FileFormatError, match="x.txt"):
        read_block(tmp_path / "x.txt")


_PLAIN_NEO = """
import sys, json
sys.path = [p for p in sys.path if "wt" not in p or "site-packages" in p]
import numpy as np, neo, quantities as pq
block = neo.NixIO(sys.argv[1], mode="ro").read_block()
assert "ann2neo" not in sys.modules
out = []
for seg in block.segments:
    for st in seg.spiketrains:
        rate = st.annotations["ann2neo_sampling_rate"]
        out.append([seg.name, st.rescale(pq.s).magnitude.tolist(), float(st.t_stop.rescale(pq.s)),
                    st.annotations.get("layer"), rate])
print(json.dumps(out))
"""


def test_nix_opens_in_plain_neo_without_ann2neo(tmp_path, block):
    pytest.importorskip("nixio")
    import json

    from ann2neo.io.nix import write_nix

    path = tmp_path / "plain.nix"
    write_nix(path, block)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-I", "-c", _PLAIN_NEO, str(path)], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    trains = [st for seg in block.segments for st in seg.spiketrains]
    assert len(rows) == len(trains)
    for (seg_name, times, t_stop, layer, rate), st in zip(rows, trains, strict=True):
        assert rate == 1000.0 and seg_name == st.segment.name
        np.testing.assert_allclose(times, (st.magnitude + 0.5) / 1000.0, rtol=0, atol=1e-12)  # seconds
        assert t_stop == pytest.approx(float(st.t_stop.magnitude) / 1000.0)
        assert layer == st.annotations["layer"]  # plain annotations kept where NIX can store them


def test_neo_nwbio_reads_per_split_segments_and_time_ranges(tmp_path, block):
    import quantities as pq

    path = tmp_path / "n.nwb"
    write_nwb(path, block)
    with _quiet():
        blocks = neo.NWBIO(str(path), mode="r").read_all_blocks()
    got = next(b for b in blocks if b.name == "Generalizing")  # Neo's NWBIO: names kept, annotations dropped
    assert [s.name for s in got.segments] == ["train", "test"]
    for seg, ref_seg, offset in zip(got.segments, block.segments, (0, 121), strict=True):
        assert [e.name for e in seg.epochs] == [ref_seg.name]
        assert [st.name for st in seg.spiketrains] == [st.name for st in ref_seg.spiketrains]
        for st, ref in zip(seg.spiketrains, ref_seg.spiketrains, strict=True):
            np.testing.assert_allclose(st.rescale(pq.s).magnitude, (ref.magnitude + offset + 0.5) / 1000.0,
                                       rtol=0, atol=1e-12)
            assert float(st.t_start.rescale(pq.s)) == pytest.approx(offset / 1000.0)
            assert float(st.t_stop.rescale(pq.s)) == pytest.approx((offset + float(ref.t_stop.magnitude)) / 1000.0)
    labels = next(x for x in got.segments[0].analogsignals if x.name == "labels_0")
    np.testing.assert_array_equal(labels.magnitude.ravel(), block.segments[0].annotations["labels"])


def _quiet():
    import contextlib
    import warnings

    @contextlib.contextmanager
    def cm():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield

    return cm()


@pytest.mark.slow
def test_reproduce_files_are_inspector_clean_and_read_back(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("keras")
    nwbinspector = pytest.importorskip("nwbinspector")
    from ann2neo.cli import main

    out = tmp_path / "out"
    assert main(["reproduce", "--out", str(out), "--dataset", "digits", "--epochs", "1", "--mem-epochs", "1",
                 "--width", "16", "--conditions", "Random", "Generalizing", "MemRetrainLast", "--dynamics-epochs",
                 "0", "--no-figures", "--no-progress", "--no-diagnostics"]) == 0
    files = sorted(out.glob("*.nwb"))
    assert [p.stem for p in files] == ["Generalizing", "MemRetrainLast", "Random"]
    for path in files:
        bad = [(m.importance.name, m.check_function_name, m.message)
               for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path))
               if m.importance.name in ("CRITICAL", "PYNWB_VALIDATION", "ERROR", "BEST_PRACTICE_VIOLATION")]
        assert bad == []
        assert pynwb.validate(path=str(path)) == []
        back = read_nwb(path)
        assert [s.name for s in back.segments] == ["train", "test"]
        assert back.segments[0].annotations["condition"] == path.stem
        assert back.segments[0].spiketrains[0].annotations["layer"] == "hidden"


def test_tagged_json_restores_types_exactly():
    import datetime

    import quantities as pq

    from ann2neo.io import _json

    value = {"t": (1, 2), "l": [1, "a", None], "nan": float("nan"), "inf": -float("inf"), "b": True,
             "a": np.arange(6, dtype=np.int16).reshape(2, 3), "s": np.float32(0.5), "i": np.int64(7),
             "d": {(1, 2): "k"}, "when": datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc),
             "day": datetime.date(2024, 5, 1), "q": 3.0 * pq.ms, "strs": np.array(["x", "yz"])}
    text = _json.dumps(value)
    assert "{" not in text  # no JSON objects: nwbinspector flags dictionaries in table cells
    back = _json.loads(text)
    assert back["t"] == (1, 2) and back["l"] == [1, "a", None] and np.isnan(back["nan"]) and back["inf"] == -np.inf
    assert back["a"].dtype == np.int16 and back["a"].shape == (2, 3) and np.array_equal(back["a"], value["a"])
    assert type(back["s"]) is np.float32 and type(back["i"]) is np.int64 and back["d"] == {(1, 2): "k"}
    assert back["when"] == value["when"] and back["day"] == value["day"] and back["b"] is True
    assert back["q"].units == pq.ms and float(back["q"].magnitude) == 3.0
    assert back["strs"].dtype == value["strs"].dtype and list(back["strs"]) == ["x", "yz"]
    with pytest.raises(TypeError, match="annotation 'x' has type object"):
        _json.dumps(object(), "annotation 'x'")


def test_matrix_mapping_with_annotations_and_bad_arguments(tmp_path, rng):
    m = ann2neo.binarize(rng.normal(size=(30, 4)), layer="h")
    labels = rng.integers(0, 3, 30)
    path = tmp_path / "a.nwb"
    write_nwb(path, {"test": (m, {"split": "test", "labels": labels})})
    seg = read_nwb(path).segments[0]
    assert seg.annotations["split"] == "test" and np.array_equal(seg.annotations["labels"], labels)
    with pytest.raises(ValueError, match="compression must be one of"):
        write_nwb(tmp_path / "b.nwb", {"test": m}, compression="zip")
    with pytest.raises(ValueError, match="sampling_rate must be"), pytest.warns(DeprecationWarning):
        write_nwb(tmp_path / "b.nwb", {"test": m}, sampling_rate=0)
    with pytest.raises(ValueError, match="sample_duration must be positive"):
        write_nwb(tmp_path / "b.nwb", {"test": m}, sample_duration=0 * pq.ms)
    with pytest.raises(ann2neo.UnitError, match="sample_duration must be a physical time"):
        write_nwb(tmp_path / "b.nwb", {"test": m}, sample_duration=1 * ann2neo.sample)
    with pytest.raises(ValueError, match="'labels' must be a 1-D integer array with one value per time step"):
        write_nwb(tmp_path / "b.nwb", {"test": (m, {"labels": labels[:5]})})
    with pytest.raises(TypeError, match="data must be a neo.Block"):
        write_nwb(tmp_path / "b.nwb", "spikes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nwb"]


def test_bit_flip_in_spike_data_is_caught_by_the_checksum(tmp_path, rng):
    h5py = pytest.importorskip("h5py")
    m = rng.random((500, 20)) < 0.4
    path = tmp_path / "c.nwb"
    write_nwb(path, {"s": m})
    with h5py.File(path, "r") as f:
        info = f["units/spike_times"].id.get_chunk_info(0)
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset + info.size // 2] ^= 0x10  # one bit inside the compressed spike times
    path.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="c.nwb"):
        read_nwb_matrices(path)


def test_files_of_the_previous_layout_still_read(tmp_path, rng):
    """ann2neo 0.1.0 wrote sample k at k / rate s, one Units row per node with node/layer/segment columns."""
    import datetime

    a = rng.random((50, 3)) < 0.4
    b = rng.random((20, 3)) < 0.4
    f = pynwb.NWBFile(session_description="s", identifier="i", experiment_description="mlp",
                      session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    for col in ("node", "layer", "segment", "threshold", "sampling_rate"):
        f.add_unit_column(col, col)
    for seg, m in (("train", a), ("test", b)):
        for j in range(3):
            f.add_unit(spike_times=np.flatnonzero(m[:, j]) / 1.0, obs_intervals=[[0.0, float(len(m))]], node=j,
                       layer="None", segment=seg, threshold=0.0, sampling_rate=1.0)
    path = tmp_path / "old.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(f)
    back = read_nwb(path)
    assert [s.name for s in back.segments] == ["train", "test"] and back.annotations["model"] == "mlp"
    np.testing.assert_array_equal(ann2neo.from_spiketrains(back.segments[0].spiketrains), a)
    np.testing.assert_array_equal(read_nwb_matrices(path)["test"], b)
    assert back.segments[1].spiketrains[0].annotations["layer"] is None


def test_trains_with_own_time_ranges_round_trip(tmp_path):
    s = ann2neo.sample
    seg = ann2neo.to_segment([neo.SpikeTrain([10, 12, 49] * s, t_start=10 * s, t_stop=50 * s, name="a", depth=3),
                              neo.SpikeTrain([] * s, t_start=0 * s, t_stop=60 * s)], name="odd")
    block = ann2neo.to_block([seg, ann2neo.to_segment(np.eye(4, dtype=bool), name="next")], group_nodes=False)
    write_nwb(tmp_path / "o.nwb", block)
    back = read_nwb(tmp_path / "o.nwb")
    assert_blocks_equal(block, back)
    with pynwb.NWBHDF5IO(str(tmp_path / "o.nwb"), "r") as io:  # next segment: one sample after this one ends
        np.testing.assert_allclose(io.read().epochs["start_time"][:], [0.0, 0.061])


def test_bad_annotation_leaves_the_given_nwbfile_untouched(tmp_path, rng):
    import datetime

    m = ann2neo.binarize(rng.normal(size=(10, 2)))
    f = pynwb.NWBFile(session_description="s", identifier="i",
                      session_start_time=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc))
    block = ann2neo.to_block([ann2neo.to_segment(m, name="a")])
    block.annotations["model"] = object()  # bypasses Neo's own check, as a dict update would
    with pytest.raises(TypeError, match="block annotations has type object"):
        write_nwb(tmp_path / "x.nwb", block, nwbfile=f)
    assert f.units is None and f.epochs is None and "ann2neo" not in f.processing
    assert not any(tmp_path.iterdir())


def test_read_nix_written_directly_by_neo_in_samples(tmp_path, rng):
    pytest.importorskip("nixio")
    from ann2neo.io.formats import read_block

    block = ann2neo.to_block([ann2neo.to_segment(ann2neo.binarize(rng.normal(size=(30, 4)), layer="h"), name=n)
                              for n in ("train", "test")], model="m")  # NixIO itself cannot store None values

    with neo.NixIO(str(tmp_path / "old.nix"), mode="ow") as io:  # how ann2neo 0.1.0 documented NIX export
        io.write_block(block)
    back = read_block(tmp_path / "old.nix")
    recs = ann2neo.read_all(tmp_path / "old.nix")
    assert list(recs) == ["train", "test"] and recs["test"].n_trials == 30
    for s0, s1 in zip(block.segments, back.segments, strict=True):
        np.testing.assert_array_equal(ann2neo.from_spiketrains(s1.spiketrains),
                                      ann2neo.from_spiketrains(s0.spiketrains))


def test_neo_nwbio_reads_our_label_series_without_unit_warnings(tmp_path, block, caplog):
    import logging

    path = tmp_path / "u.nwb"
    write_nwb(path, block)
    with caplog.at_level(logging.WARNING, logger="Neo"):
        blocks = neo.NWBIO(str(path), mode="r").read_all_blocks()
    assert blocks and not [r for r in caplog.records if "Can't handle unit" in r.getMessage()]
    # other Neo messages still pass the filter
    record = logging.LogRecord("Neo", logging.WARNING, __file__, 1, "Can't handle unit 'furlong'. x", None, None)
    assert all(f.filter(record) for f in logging.getLogger("Neo").filters)
