"""Chunked Zarr spike store: recordings streamed to disk batch by batch, bit-packed.

:func:`ann2neo.record` with ``out=PATH`` writes one Zarr (v3) group per
recording, one ``uint8`` array per layer holding the spikes bit-packed along
nodes (``np.packbits`` order: node ``j`` is bit ``7 - j % 8`` of byte
``j // 8``), chunked along samples.  Layout::

    PATH/                      group; attrs: format, format_version, complete, n_samples,
                               layers, layer_keys, model, threshold, ann2neo_version, ...
    PATH/<layer key>           uint8 (n_samples, ceil(n_nodes / 8)); attrs: layer, layer_shape,
                               n_nodes, threshold, packed, bitorder, all_chunks_written
    PATH/<layer key>.threshold float64 (n_nodes,), only for per-unit thresholds (the layer's
                               ``threshold`` attribute is then "per-unit"; +inf: never spikes)

A layer's array is named by its *key* (``layer_keys``, parallel to
``layers``): the layer name with ``/``, backslash, ``%``, the characters that
Windows forbids in file names and control characters percent-encoded
(``a/b`` is ``a%2Fb``, ``a|b`` is ``a%7Cb``), so different names never share a
key; names that differ only in case get a ``~1``, ``~2`` ... suffix (a
case-insensitive disk would merge them).  Stores written before
``layer_keys`` existed name the array ``name.replace("/", "|")``.

The group's ``default_layer`` is the model's :func:`ann2neo.keras.default_layer`
(None where it is ambiguous); ``threshold_rule`` describes a per-unit rule and
its probe.

The store is built in a temporary folder beside ``PATH`` and renamed onto it
only after the ``complete`` attribute has been written, last; a killed run
leaves at most a ``.tmp-*`` folder, never a store that looks complete, and
:func:`read_store` refuses a store whose ``complete`` is not true.

Every chunk is written, silent ones included (``all_chunks_written``), and
compressed with a Zstandard checksum, so :func:`read_store` tells a damaged
store from a silent recording: a missing chunk (which Zarr would read as its
fill value, silence), a truncated or altered chunk, an array whose shape or
data type disagrees with the metadata, or a listed layer without an array is
a :class:`~ann2neo.io.nwb.FileFormatError` naming the layer and the chunk.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..core.binarize import SpikeMatrix
from .nwb import FileFormatError

__all__ = ["read_store", "store_attrs"]

FORMAT = "ann2neo.spikes"
FORMAT_VERSION = 1
_CHUNK_BYTES = 4 * 2**20


#: Characters percent-encoded in a layer key: path separators, the escape itself, and those Windows refuses.
_ESCAPED = frozenset('/\\%<>:"|?*')
_MAX_KEY_BYTES = 200  # file names are limited to 255 bytes


def _legacy_layer_key(name: str) -> str:
    """Zarr array name of a layer in stores written before ``layer_keys`` (not unique: ``a/b`` and ``a|b``)."""
    return name.replace("/", "|")


def _escape(name: str) -> str:
    """Percent-encode the characters of ``name`` that are unsafe in a file name; injective."""
    key = "".join("".join(f"%{b:02X}" for b in c.encode("utf-8")) if c in _ESCAPED or not c.isprintable() else c
                  for c in name)
    if key.startswith("."):  # "." and ".." are directories; a leading dot hides the file
        key = "%2E" + key[1:]
    if key.startswith("__"):  # reserved by Zarr
        key = "%5F" + key[1:]
    if key.endswith(" "):  # Windows drops trailing spaces
        key = key[:-1] + "%20"
    return key or "%"


def _layer_keys(names) -> list[str]:
    """A safe, unique Zarr array name (file name) for each layer name, in order.

    Distinct names give distinct keys even on case-insensitive disks; see the
    module docstring.
    """
    keys, used = [], set()
    for name in names:
        key = _escape(name)
        if len(key.encode("utf-8")) > _MAX_KEY_BYTES:
            key = key[:100] + "~" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        base, n = key, 0
        while key.casefold() in used:
            n += 1
            key = f"{base}~{n}"
        used.add(key.casefold())
        keys.append(key)
    return keys


def _safe_key(key) -> bool:
    """Whether a layer key read from a store names an array inside it (no path tricks)."""
    return isinstance(key, str) and key not in ("", ".", "..") and not key.startswith("__") \
        and "/" not in key and "\\" not in key and key.isprintable() and len(key.encode("utf-8")) <= 255


class _StoreWriter:
    """Stream packed spikes of several layers into a new Zarr group, chunk by chunk (private).

    Parameters
    ----------
    path : path-like
        Target folder; must not exist unless ``overwrite``.
    layers : list of str
    layer_shapes : list of tuple of int
    threshold : float or list of (float or ndarray)
        One threshold for all layers, or one per layer (a float or a per-unit vector).
    model_name : str
    n_samples : int or None
        Known sample count (arrays) or None (datasets, generators: arrays grow).
    chunk_samples : int, optional
        Rows per chunk; default about 4 MiB of packed spikes of the widest layer.
    overwrite : bool
    attrs : dict, optional
        Extra provenance for the group's attributes.
    """

    def __init__(self, path, layers, layer_shapes, *, threshold, model_name, n_samples=None, chunk_samples=None,
                 overwrite=False, attrs=None):
        import zarr
        from zarr.codecs import ZstdCodec

        from .. import __version__
        from ..core.validation import check_integer

        layers = list(layers)
        if not all(isinstance(name, str) for name in layers) or len(set(layers)) != len(layers):
            raise ValueError(f"layers must be distinct names (str), got {layers}")
        keys = _layer_keys(layers)
        self.path = Path(os.fspath(path))
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"out: {self.path} exists; pass overwrite=True to replace it")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.n_nodes = [int(np.prod(s)) for s in layer_shapes]
        self.n_bytes = [-(-n // 8) for n in self.n_nodes]
        if chunk_samples is None:
            chunk_samples = max(1, _CHUNK_BYTES // max(self.n_bytes))
            if n_samples is not None:
                chunk_samples = min(chunk_samples, n_samples)
        self.chunk = check_integer(chunk_samples, "chunk_samples", min_value=1)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{self.path.name}-", dir=self.path.parent))
        try:
            self.root = zarr.open_group(str(self.tmp), mode="w")
            thresholds = list(threshold) if isinstance(threshold, (list, tuple)) else [threshold] * len(layers)
            scalar = all(np.ndim(t) == 0 for t in thresholds)
            common = scalar and len({float(t) for t in thresholds}) <= 1
            self.root.attrs.update({
                "format": FORMAT, "format_version": FORMAT_VERSION, "complete": False, "n_samples": None,
                "layers": layers, "layer_keys": keys, "model": model_name,
                "threshold": float(thresholds[0]) if common and thresholds else "per-layer" if scalar else "per-unit",
                "ann2neo_version": __version__, "time_unit": "sample", **(attrs or {})})
            self.arrays = []
            for name, key, shape, n_nodes, n_bytes, t in zip(layers, keys, layer_shapes, self.n_nodes, self.n_bytes,
                                                             thresholds, strict=True):
                # every chunk written, silent ones too: a missing chunk then means a damaged store, not silence
                arr = self.root.create_array(key, shape=(n_samples or 0, n_bytes), dtype="uint8",
                                             chunks=(self.chunk, n_bytes), fill_value=0,
                                             compressors=ZstdCodec(level=0, checksum=True),
                                             config={"write_empty_chunks": True})
                arr.attrs.update({"layer": name, "layer_shape": [int(d) for d in shape], "n_nodes": n_nodes,
                                  "threshold": float(t) if np.ndim(t) == 0 else "per-unit", "packed": True,
                                  "bitorder": "big", "all_chunks_written": True})
                if np.ndim(t) > 0:
                    vector = np.asarray(t, dtype=np.float64)
                    tarr = self.root.create_array(key + ".threshold", shape=vector.shape, dtype="float64",
                                                  chunks=vector.shape, fill_value=0.0)
                    tarr[:] = vector
                self.arrays.append(arr)
        except BaseException:
            self.abort()
            raise
        self.fixed = n_samples is not None
        self.buffers = [np.empty((self.chunk, b), dtype=np.uint8) for b in self.n_bytes]
        self.filled = 0   # rows in the buffers
        self.written = 0  # rows in the arrays

    def write(self, start, packed):
        """Append one batch (``start`` is its first sample; batches arrive in order)."""
        n = packed[0].shape[0]
        done = 0
        while done < n:
            take = min(n - done, self.chunk - self.filled)
            for buf, p in zip(self.buffers, packed, strict=True):
                buf[self.filled:self.filled + take] = p[done:done + take]
            self.filled += take
            done += take
            if self.filled == self.chunk:
                self._flush()

    def _flush(self):
        if not self.filled:
            return
        stop = self.written + self.filled
        for arr, buf in zip(self.arrays, self.buffers, strict=True):
            if not self.fixed or stop > arr.shape[0]:
                arr.resize((stop, arr.shape[1]))
            arr[self.written:stop] = buf[:self.filled]
        self.written, self.filled = stop, 0

    def close(self, n_samples):
        """Flush, mark complete (last) and move the store onto its path; return the path."""
        self._flush()
        if self.written != n_samples:
            raise RuntimeError(f"store holds {self.written} samples, expected {n_samples}")
        for arr in self.arrays:
            if arr.shape[0] != n_samples:
                arr.resize((n_samples, arr.shape[1]))
        self.root.attrs.update({"n_samples": int(n_samples)})
        self.root.attrs.update({"complete": True})
        if self.path.exists():  # overwrite: move the old store aside, then replace it
            trash = Path(tempfile.mkdtemp(prefix=f".old-{self.path.name}-", dir=self.path.parent))
            os.replace(self.path, trash / "store")
            os.replace(self.tmp, self.path)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(self.tmp, self.path)
        return self.path

    def abort(self):
        """Remove the partial store; the target path is left as it was."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def _open(path):
    import zarr

    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no spike store at {path}")
    try:
        root = zarr.open_group(str(path), mode="r")
    except Exception as err:  # noqa: BLE001 - zarr raises several kinds for a folder that is no group
        raise ValueError(f"{path} is not a Zarr spike store ({type(err).__name__}: {err})") from None
    attrs = dict(root.attrs)
    if attrs.get("format") != FORMAT:
        raise ValueError(f"{path} is not an ann2neo spike store (format {attrs.get('format')!r})")
    if attrs.get("complete") is not True:
        raise ValueError(f"{path} is incomplete: the recording that wrote it did not finish (killed or "
                         f"failed); record again")
    return root, attrs


def store_attrs(path) -> dict:
    """Provenance of a complete spike store (the group's attributes).

    Parameters
    ----------
    path : path-like
        Store written by ``ann2neo.record(..., out=path)``.

    Returns
    -------
    dict
        ``n_samples``, ``layers``, ``model``, ``threshold``, ``ann2neo_version``,
        ``backend``, ``dtypes``, ...

    Raises
    ------
    FileNotFoundError
        If there is nothing at ``path``.
    ValueError
        If it is not an ann2neo store or is incomplete.
    """
    return _open(path)[1]


def _damaged(path, what, why):
    return FileFormatError(f"spike store {path}: {what} {why}; the store is damaged or was edited: restore it "
                           f"from a copy or record again")


def _chunk_rows(arr):
    """Row ranges ``(start, stop)`` of the store's chunks along samples."""
    n, step = arr.shape[0], arr.chunks[0]
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _chunk_files(key, arr, row):
    """Relative paths of the chunk files of row chunk ``row`` (all column chunks)."""
    n_cols = -(-arr.shape[1] // arr.chunks[1])
    return [f"{key}/{arr.metadata.encode_chunk_key((row, j))}" for j in range(n_cols)]


def _missing_chunks(path, key, arr, rows=None):
    """Chunk files of the array ``key`` absent from the store at ``path`` (optionally of some row chunks only)."""
    rows = range(len(_chunk_rows(arr))) if rows is None else rows
    return [(r, f) for r in rows for f in _chunk_files(key, arr, r) if not (path / f).is_file()]


def _describe_missing(missing, arr, total=None):
    rows = _chunk_rows(arr)
    shown = ", ".join(f"{f} (samples {rows[r][0]}-{rows[r][1] - 1})" for r, f in missing[:4])
    if total is None:
        return f"chunk {shown} {'is' if len(missing) == 1 else 'are'} missing"
    return f"{len(missing)} of {total} chunks missing: {shown}{' ...' if len(missing) > 4 else ''}"


def _check_layer(path, root, name, key, n_samples):
    """The Zarr array of a layer and its attributes, checked against the store's metadata, or FileFormatError."""
    import zarr

    try:
        arr = root[key]
    except KeyError:
        arr = None
    if not isinstance(arr, zarr.Array):
        raise _damaged(path, f"layer {name!r} is listed in the store's layers, but", f"there is no array {key!r}")
    meta = dict(arr.attrs)
    where = f"layer {name!r} ({key}/zarr.json)"
    if arr.dtype != np.uint8:
        raise _damaged(path, where, f"has data type {arr.dtype}, but ann2neo writes packed spikes as uint8")
    if meta.get("layer", name) != name:
        raise _damaged(path, where, f"belongs to layer {meta.get('layer')!r}")
    if meta.get("packed") is not True or meta.get("bitorder") != "big":
        raise _damaged(path, where, f"is not bit-packed big-endian (packed={meta.get('packed')!r}, "
                                    f"bitorder={meta.get('bitorder')!r})")
    n_nodes, shape = meta.get("n_nodes"), meta.get("layer_shape")
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int) or n_nodes < 1 or not isinstance(shape, list) \
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape) \
            or int(np.prod(shape)) != n_nodes:
        raise _damaged(path, where, f"has n_nodes {n_nodes!r} and layer_shape {shape!r}, which do not agree")
    expected = (n_samples, -(-n_nodes // 8))
    if arr.ndim != 2 or tuple(arr.shape) != expected:
        raise _damaged(path, where, f"has shape {tuple(arr.shape)}, but the store holds n_samples = {n_samples} "
                                    f"samples of {n_nodes} nodes packed in {expected[1]} bytes: shape {expected}")
    total = len(_chunk_rows(arr)) * -(-arr.shape[1] // arr.chunks[1])
    if arr.nchunks_initialized < total:
        missing = _missing_chunks(path, key, arr)
        if meta.get("all_chunks_written") is True:
            raise _damaged(path, f"layer {name!r}:", f"{_describe_missing(missing, arr, total)}; Zarr would read "
                                                     f"them as silence")
        warnings.warn(f"spike store {path}, layer {name!r}: {_describe_missing(missing, arr, total)}, read as "
                      f"silence. This store predates all_chunks_written: its recording skipped all-silent chunks, "
                      f"so these are silent or were deleted; record again to be sure", UserWarning, stacklevel=4)
    return arr, meta


def _read_rows(path, name, key, arr, row, check_files):
    """Rows of one chunk of a layer's array, or FileFormatError naming the chunk."""
    start, stop = _chunk_rows(arr)[row]
    if check_files:  # a chunk deleted after read_store checked the store (lazy reads)
        missing = _missing_chunks(path, key, arr, [row])
        if missing:
            raise _damaged(path, f"layer {name!r}:", f"{_describe_missing(missing, arr)}; Zarr would "
                                                     f"read it as silence")
    try:
        return arr[start:stop]
    except Exception as err:  # noqa: BLE001 - codecs raise RuntimeError, ValueError, ... for a damaged chunk
        files = ", ".join(_chunk_files(key, arr, row))
        raise _damaged(path, f"layer {name!r}: chunk {files} (samples {start}-{stop - 1})",
                       f"cannot be decoded ({type(err).__name__}: {err}); it is truncated or altered") from None


def _unpack_block(path, name, key, arr, n_nodes, check_files, block_id=None):
    """One row chunk of a layer, unpacked to bool (a dask block)."""
    rows = _read_rows(path, name, key, arr, block_id[0], check_files)
    return np.unpackbits(rows, axis=1, count=n_nodes).view(bool)


def _layer_names_and_keys(path, attrs):
    """The store's layer names and their array names (``layer_keys``), checked: distinct, safe, one per layer."""
    names = attrs.get("layers")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise _damaged(path, "the group's attribute", f"layers = {names!r} is not a list of distinct names")
    keys = attrs.get("layer_keys")
    if keys is None:  # written before layer_keys
        keys = [_legacy_layer_key(n) for n in names]
        if not all(_safe_key(k) for k in keys):
            raise _damaged(path, "the group's attribute", f"layers = {names!r} holds a name that is no array name "
                                                          f"inside the store")
    elif isinstance(keys, list) and len(keys) != len(names):
        raise _damaged(path, "the group's attributes", f"list {len(names)} layers {names} but {len(keys)} array "
                                                       f"names (layer_keys)")
    elif not isinstance(keys, list) or not all(_safe_key(k) for k in keys) \
            or len({k.casefold() for k in keys}) != len(keys):
        raise _damaged(path, "the group's attribute", f"layer_keys = {keys!r} is not one distinct, safe array name "
                                                      f"per layer")
    return names, keys


def read_store(path, layers=None, *, lazy=False):
    """Read spikes from a store written by ``ann2neo.record(..., out=path)``.

    Parameters
    ----------
    path : path-like
        The store.
    layers : str or list of str, optional
        Layers to read; default all, in recording order.
    lazy : bool, default False
        Return dask arrays (bool, ``(n_samples, n_nodes)``, chunked like the
        store along samples) that unpack chunk by chunk when computed, for
        recordings larger than memory.

    Returns
    -------
    dict of str to SpikeMatrix, or dict of str to dask.array.Array
        Bool spikes ``(n_samples, n_nodes)`` per layer; a SpikeMatrix carries
        ``layer_shape``, ``threshold`` and ``layer`` from the store.

    Raises
    ------
    FileNotFoundError
        If there is nothing at ``path``.
    ValueError
        If it is not an ann2neo store, is incomplete (a killed recording), or
        has no layer of a requested name.
    ann2neo.io.nwb.FileFormatError
        (a ``ValueError``) If the store is damaged: a listed layer without an
        array, an array whose shape or data type disagrees with the metadata,
        a missing chunk (which Zarr would read as silence) or a chunk that
        cannot be decoded (truncated, altered).  A lazy read checks the
        layout when called and each chunk when it is computed.

    Warns
    -----
    UserWarning
        For missing chunks in a store written before ``all_chunks_written``
        existed, whose recordings skipped all-silent chunks (read as silence).

    Examples
    --------
    >>> spikes = read_store("run.zarr")["hidden"]          # doctest: +SKIP
    >>> lazy = read_store("run.zarr", lazy=True)["hidden"]  # doctest: +SKIP
    >>> rates = lazy.mean(axis=0).compute()                 # doctest: +SKIP
    """
    root, attrs = _open(path)
    path = Path(os.fspath(path))
    names, keys = _layer_names_and_keys(path, attrs)
    n_samples = attrs.get("n_samples")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
        raise _damaged(path, "the group's attribute", f"n_samples = {n_samples!r} is not a sample count")
    key_of = dict(zip(names, keys, strict=True))
    if layers is None:
        layers = names
    elif isinstance(layers, str):
        layers = [layers]
    for name in layers:
        if name not in key_of:
            raise ValueError(f"store {path} has no layer {name!r}; its layers are {names}")
    checked = {name: _check_layer(path, root, name, key_of[name], n_samples) for name in layers}
    result = {}
    for name, (arr, meta) in checked.items():
        key, n_nodes, shape = key_of[name], int(meta["n_nodes"]), tuple(meta["layer_shape"])
        check_files = meta.get("all_chunks_written") is True
        if lazy:
            import dask.array as da

            row_chunks = tuple(stop - start for start, stop in _chunk_rows(arr))
            if not row_chunks:  # no samples
                result[name] = da.zeros((0, n_nodes), dtype=bool)
                continue
            result[name] = da.map_blocks(_unpack_block, path, name, key, arr, n_nodes, check_files, dtype=bool,
                                         chunks=(row_chunks, (n_nodes,)), meta=np.empty((0, 0), dtype=bool),
                                         name=f"ann2neo-store-{name}-" + _token(path, key, arr))
            continue
        out = np.empty((arr.shape[0], n_nodes), dtype=bool)
        for row, (start, stop) in enumerate(_chunk_rows(arr)):
            out[start:stop] = np.unpackbits(_read_rows(path, name, key, arr, row, False), axis=1,
                                            count=n_nodes).view(bool)
        threshold = meta["threshold"]
        if threshold == "per-unit":
            threshold = np.asarray(root[key + ".threshold"][:], dtype=np.float64)
        result[name] = SpikeMatrix(out, layer_shape=shape, threshold=threshold, layer=name,
                                   threshold_rule=root.attrs.get("threshold_rule"))
    return result


def _token(path, key, arr):
    """Dask name of a lazily read layer: changes when the store is rewritten."""
    stat = (Path(path) / key / "zarr.json").stat()
    return hashlib.sha256(f"{Path(path).resolve()}|{key}|{stat.st_mtime_ns}|{arr.shape}|{arr.chunks}".encode()
                          ).hexdigest()[:16]
