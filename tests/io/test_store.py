"""The Zarr spike store refuses damaged or edited stores instead of reading silence (issue 15).

Stores are written with the store's own writer (no Keras needed); each test damages one the way a disk, a
copy or a careless edit would, then reads it eagerly, lazily and through ``ann2neo analyze``.
"""
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("zarr")
pytest.importorskip("dask.array")

from ann2neo.cli import main  # noqa: E402
from ann2neo.io.nwb import FileFormatError  # noqa: E402
from ann2neo.io.store import _StoreWriter, read_store  # noqa: E402


def _write(path, layers=("hidden",), n_samples=100, n_nodes=13, chunk=20, seed=0):
    """A complete store of random spikes; returns the matrices written."""
    rng = np.random.default_rng(seed)
    spikes = {name: rng.random((n_samples, n_nodes)) < 0.3 for name in layers}
    writer = _StoreWriter(path, list(layers), [(n_nodes,)] * len(layers), threshold=0.0, model_name="m",
                          n_samples=n_samples, chunk_samples=chunk)
    writer.write(0, [np.packbits(spikes[name], axis=1) for name in layers])
    writer.close(n_samples)
    return spikes


def _edit_json(path, edit):
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def _refused(path, capsys, match):
    """Eager, lazy and CLI reads all refuse the store with one clear line."""
    with pytest.raises(FileFormatError, match=match):
        read_store(path)
    with pytest.raises(FileFormatError, match=match):
        read_store(path, lazy=True)["hidden"].sum().compute()
    assert main(["analyze", str(path), "--out", str(path.parent / "out"), "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "damaged" in err


def test_a_missing_chunk_is_an_error_not_silence(tmp_path, capsys):
    """W3: a deleted chunk of run.zarr/hidden was read as Zarr's fill value, 0: silence."""
    path = tmp_path / "run.zarr"
    _write(path)
    (path / "hidden" / "c" / "2" / "0").unlink()
    _refused(path, capsys, r"layer 'hidden': 1 of 5 chunks missing: hidden/c/2/0 \(samples 40-59\)")
    # a chunk deleted after a lazy read_store is caught when that chunk is computed
    _write(tmp_path / "later.zarr")
    lazy = read_store(tmp_path / "later.zarr", lazy=True)["hidden"]
    (tmp_path / "later.zarr" / "hidden" / "c" / "3" / "0").unlink()
    with pytest.raises(FileFormatError, match=r"chunk hidden/c/3/0 \(samples 60-79\) is missing"):
        lazy.sum().compute()


def test_silent_chunks_are_written_and_read_as_silence(tmp_path):
    """All-zero chunks are stored (Zarr skips them by default), so silence is told from a deleted chunk."""
    path = tmp_path / "silent.zarr"
    writer = _StoreWriter(path, ["h"], [(13,)], threshold=0.0, model_name="m", chunk_samples=30)  # growing
    for start in range(0, 100, 45):
        writer.write(start, [np.zeros((min(45, 100 - start), 2), np.uint8)])
    writer.close(100)
    assert sorted(p.name for p in (path / "h" / "c").iterdir()) == ["0", "1", "2", "3"]
    assert read_store(path)["h"].shape == (100, 13) and not read_store(path)["h"].any()
    assert not read_store(path, lazy=True)["h"].any().compute()


def test_a_store_without_all_chunks_written_warns_for_missing_chunks(tmp_path):
    """Stores written before all_chunks_written skipped silent chunks: absent ones read as silence, with a warning."""
    path = tmp_path / "old.zarr"
    spikes = _write(path)["hidden"]
    _edit_json(path / "hidden" / "zarr.json", lambda m: m["attributes"].pop("all_chunks_written"))
    (path / "hidden" / "c" / "0" / "0").unlink()
    with pytest.warns(UserWarning, match=r"hidden/c/0/0 \(samples 0-19\), read as silence.*record again"):
        got = read_store(path)["hidden"]
    np.testing.assert_array_equal(got[20:], spikes[20:])
    assert not got[:20].any()


def test_a_shape_that_disagrees_with_n_samples_is_refused(tmp_path, capsys):
    """W8: a shape edited to 200 rows while n_samples says 100 was read as 200 rows padded with silence."""
    path = tmp_path / "run.zarr"
    _write(path)
    _edit_json(path / "hidden" / "zarr.json", lambda m: m["shape"].__setitem__(0, 200))
    _refused(path, capsys, r"has shape \(200, 2\), but the store holds n_samples = 100 .* shape \(100, 2\)")


def test_a_truncated_chunk_is_named(tmp_path, capsys):
    """U6: a truncated chunk gave a RuntimeError 'Zstd decompression error' traceback."""
    path = tmp_path / "run.zarr"
    _write(path)
    chunk = path / "hidden" / "c" / "1" / "0"
    chunk.write_bytes(chunk.read_bytes()[:-5])
    _refused(path, capsys, r"chunk hidden/c/1/0 \(samples 20-39\) cannot be decoded .*truncated or altered")


def test_an_altered_chunk_fails_its_checksum(tmp_path):
    """A flipped byte in a chunk fails the Zstandard checksum instead of giving other spikes."""
    path = tmp_path / "run.zarr"
    _write(path)
    chunk = path / "hidden" / "c" / "4" / "0"
    data = bytearray(chunk.read_bytes())
    data[-6] ^= 0xFF  # inside the compressed block, before the 4-byte checksum
    chunk.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"chunk hidden/c/4/0 \(samples 80-99\) cannot be decoded"):
        read_store(path)


def test_a_listed_layer_without_an_array_is_named(tmp_path, capsys):
    """U7: a store listing an absent layer gave KeyError: 'ghost'."""
    path = tmp_path / "run.zarr"
    _write(path)

    def add_ghost(meta):
        meta["attributes"]["layers"].append("ghost")
        meta["attributes"]["layer_keys"].append("ghost")
    _edit_json(path / "zarr.json", add_ghost)
    with pytest.raises(FileFormatError, match=r"layer 'ghost' is listed in the store's layers, but there is no array"):
        read_store(path)
    assert read_store(path, "hidden")["hidden"].shape == (100, 13)  # the other layers stay readable
    # a store written before layer_keys existed: the same message
    _edit_json(path / "zarr.json", lambda m: m["attributes"].pop("layer_keys"))
    with pytest.raises(FileFormatError, match=r"layer 'ghost' is listed .* no array 'ghost'"):
        read_store(path, lazy=True)
    assert main(["analyze", str(path), "--out", str(tmp_path / "out"), "--no-figures"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_an_edited_data_type_is_refused(tmp_path, capsys):
    """U8: a data type edited to uint16 gave a reshape error."""
    path = tmp_path / "run.zarr"
    _write(path)
    _edit_json(path / "hidden" / "zarr.json", lambda m: m.__setitem__("data_type", "uint16"))
    _refused(path, capsys, r"layer 'hidden' \(hidden/zarr.json\) has data type uint16, but ann2neo writes packed "
                           r"spikes as uint8")


@pytest.mark.parametrize("edit, match", [
    (lambda m: m["attributes"].__setitem__("layer_keys", ["../../elsewhere"]), "not one distinct, safe array name"),
    (lambda m: m["attributes"].__setitem__("layer_keys", ["a", "b"]), r"list 1 layers \['hidden'\] but 2 array"),
    (lambda m: m["attributes"].__setitem__("n_samples", "100"), "n_samples = '100' is not a sample count"),
    (lambda m: m["attributes"].__setitem__("layers", "hidden"), "is not a list of distinct names"),
])
def test_edited_group_attributes_are_refused(tmp_path, edit, match):
    path = tmp_path / "run.zarr"
    _write(path)
    _edit_json(path / "zarr.json", edit)
    with pytest.raises(FileFormatError, match=match):
        read_store(path)


def test_layer_names_map_to_distinct_safe_keys(tmp_path):
    """U16: layers "a/b" and "a|b" both became the array "a|b" (zarr's ContainsArrayError)."""
    from ann2neo.io.store import _layer_keys

    names = ["a/b", "a|b", "A|B", "..", ".", "", "__x", "a%2Fb", "c:\\d", "n\x00ul", "x" * 300, "hidden"]
    keys = _layer_keys(names)
    assert len({k.casefold() for k in keys}) == len(names)  # distinct, even on a case-insensitive disk
    assert keys[:3] == ["a%2Fb", "a%7Cb", "A%7CB~1"] and keys[-1] == "hidden"
    assert all("/" not in k and "\\" not in k and k not in ("", ".", "..") and not k.startswith("__")
               and k.isprintable() and len(k.encode()) <= 255 for k in keys)
    path = tmp_path / "run.zarr"
    spikes = _write(path, layers=names, n_samples=30, n_nodes=5, chunk=8)
    back = read_store(path)
    assert list(back) == names
    for name in names:
        np.testing.assert_array_equal(back[name], spikes[name], err_msg=repr(name))
        assert back[name].layer == name
    np.testing.assert_array_equal(read_store(path, "a|b", lazy=True)["a|b"].compute(), spikes["a|b"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.zarr"]  # the store holds only its own arrays
    with pytest.raises(ValueError, match="distinct names"):
        _StoreWriter(tmp_path / "dup.zarr", ["h", "h"], [(3,), (3,)], threshold=0.0, model_name="m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.zarr"]  # nothing left behind


def test_a_store_of_the_old_layout_still_reads(tmp_path):
    """Stores written before layer_keys name the array name.replace('/', '|'); they read as before."""
    path = tmp_path / "old.zarr"
    spikes = _write(path, layers=("conv/1",))
    shutil.move(path / "conv%2F1", path / "conv|1")
    _edit_json(path / "zarr.json", lambda m: m["attributes"].pop("layer_keys"))
    np.testing.assert_array_equal(read_store(path)["conv/1"], spikes["conv/1"])


def test_legacy_layer_names_that_leave_the_store_are_refused(tmp_path):
    """A store without layer_keys whose layers list '..': the name would address the folder above the store."""
    path = tmp_path / "run.zarr"
    _write(path)
    _edit_json(path / "zarr.json", lambda m: (m["attributes"].pop("layer_keys"),
                                              m["attributes"].__setitem__("layers", [".."])))
    with pytest.raises(FileFormatError, match="no array name inside the store"):
        read_store(path)


def test_an_empty_store_reads_as_no_samples(tmp_path):
    path = tmp_path / "empty.zarr"
    _StoreWriter(path, ["h"], [(5,)], threshold=0.0, model_name="m").close(0)
    assert read_store(path)["h"].shape == (0, 5)
    assert read_store(path, lazy=True)["h"].compute().shape == (0, 5)
