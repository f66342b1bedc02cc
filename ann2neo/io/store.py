"""Chunked Zarr spike store: recordings streamed to disk batch by batch, bit-packed.

:func:`ann2neo.record` with ``out=PATH`` writes one Zarr (v3) group per
recording, one ``uint8`` array per layer holding the spikes bit-packed along
nodes (``np.packbits`` order: node ``j`` is bit ``7 - j % 8`` of byte
``j // 8``), chunked along samples.  Layout::

    PATH/                      group; attrs: format, format_version, complete, n_samples,
                               layers, model, threshold, ann2neo_version, ...
    PATH/<layer>               uint8 (n_samples, ceil(n_nodes / 8)); attrs: layer, layer_shape,
                               n_nodes, threshold, packed, bitorder
    PATH/<layer>.threshold     float64 (n_nodes,), only for per-unit thresholds (the layer's
                               ``threshold`` attribute is then "per-unit"; +inf: never spikes)

The group's ``default_layer`` is the model's :func:`ann2neo.keras.default_layer`
(None where it is ambiguous); ``threshold_rule`` describes a per-unit rule and
its probe.

The store is built in a temporary folder beside ``PATH`` and renamed onto it
only after the ``complete`` attribute has been written, last; a killed run
leaves at most a ``.tmp-*`` folder, never a store that looks complete, and
:func:`read_store` refuses a store whose ``complete`` is not true.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..core.binarize import SpikeMatrix

__all__ = ["read_store", "store_attrs"]

FORMAT = "ann2neo.spikes"
FORMAT_VERSION = 1
_CHUNK_BYTES = 4 * 2**20


def _layer_key(name: str) -> str:
    """Zarr array name of a layer (``/`` is a path separator in Zarr)."""
    return name.replace("/", "|")


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

        from .. import __version__
        from ..core.validation import check_integer

        self.path = Path(os.fspath(path))
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"out: {self.path} exists; pass overwrite=True to replace it")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{self.path.name}-", dir=self.path.parent))
        self.n_nodes = [int(np.prod(s)) for s in layer_shapes]
        self.n_bytes = [-(-n // 8) for n in self.n_nodes]
        if chunk_samples is None:
            chunk_samples = max(1, _CHUNK_BYTES // max(self.n_bytes))
            if n_samples is not None:
                chunk_samples = min(chunk_samples, n_samples)
        self.chunk = check_integer(chunk_samples, "chunk_samples", min_value=1)
        self.root = zarr.open_group(str(self.tmp), mode="w")
        thresholds = list(threshold) if isinstance(threshold, (list, tuple)) else [threshold] * len(layers)
        scalar = all(np.ndim(t) == 0 for t in thresholds)
        common = scalar and len({float(t) for t in thresholds}) <= 1
        self.root.attrs.update({
            "format": FORMAT, "format_version": FORMAT_VERSION, "complete": False, "n_samples": None,
            "layers": list(layers), "model": model_name,
            "threshold": float(thresholds[0]) if common and thresholds else "per-layer" if scalar else "per-unit",
            "ann2neo_version": __version__, "time_unit": "sample", **(attrs or {})})
        self.arrays = []
        for name, shape, n_nodes, n_bytes, t in zip(layers, layer_shapes, self.n_nodes, self.n_bytes, thresholds,
                                                    strict=True):
            arr = self.root.create_array(_layer_key(name), shape=(n_samples or 0, n_bytes), dtype="uint8",
                                         chunks=(self.chunk, n_bytes), fill_value=0)
            arr.attrs.update({"layer": name, "layer_shape": [int(d) for d in shape], "n_nodes": n_nodes,
                              "threshold": float(t) if np.ndim(t) == 0 else "per-unit", "packed": True,
                              "bitorder": "big"})
            if np.ndim(t) > 0:
                vector = np.asarray(t, dtype=np.float64)
                tarr = self.root.create_array(_layer_key(name) + ".threshold", shape=vector.shape, dtype="float64",
                                              chunks=vector.shape, fill_value=0.0)
                tarr[:] = vector
            self.arrays.append(arr)
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

    Examples
    --------
    >>> spikes = read_store("run.zarr")["hidden"]          # doctest: +SKIP
    >>> lazy = read_store("run.zarr", lazy=True)["hidden"]  # doctest: +SKIP
    >>> rates = lazy.mean(axis=0).compute()                 # doctest: +SKIP
    """
    root, attrs = _open(path)
    names = attrs["layers"]
    if layers is None:
        layers = names
    elif isinstance(layers, str):
        layers = [layers]
    for name in layers:
        if name not in names:
            raise ValueError(f"store {path} has no layer {name!r}; its layers are {names}")
    result = {}
    for name in layers:
        arr = root[_layer_key(name)]
        meta = dict(arr.attrs)
        n_nodes, shape = int(meta["n_nodes"]), tuple(meta["layer_shape"])
        if lazy:
            import dask.array as da

            packed = da.from_zarr(arr)
            result[name] = packed.map_blocks(
                lambda block, n=n_nodes: np.unpackbits(block, axis=1, count=n).view(bool),
                dtype=bool, chunks=(packed.chunks[0], (n_nodes,)))
            continue
        out = np.empty((arr.shape[0], n_nodes), dtype=bool)
        step = arr.chunks[0]
        for i in range(0, arr.shape[0], step):
            out[i:i + step] = np.unpackbits(arr[i:i + step], axis=1, count=n_nodes).view(bool)
        threshold = meta["threshold"]
        if threshold == "per-unit":
            threshold = np.asarray(root[_layer_key(name) + ".threshold"][:], dtype=np.float64)
        result[name] = SpikeMatrix(out, layer_shape=shape, threshold=threshold, layer=name,
                                   threshold_rule=attrs.get("threshold_rule"))
    return result
