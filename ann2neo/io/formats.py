"""One reader and one writer for every format: :func:`read`, :func:`read_all`, :func:`write`.

:data:`FORMATS` is the table (as Neo's ``get_io``): a format's name, how it is
recognised, and the function that reads it into ``{name: Recording}``.

=========  =====================================================  ==========================================
format     recognised by                                          reader
=========  =====================================================  ==========================================
``npy``    suffix ``.npy``: a spike matrix (samples x nodes)       :func:`read_npy` (memory-mapped)
``zarr``   a folder with ``zarr.json`` or suffix ``.zarr``        :func:`read_zarr` (one Recording per layer)
``nwb``    HDF5 with ``nwb_version``: network layers, or Units /   :func:`ann2neo.io.nwb.read_nwb_recordings`
           trials of neurons
``nix``    HDF5 with ``format = nix``                             :func:`ann2neo.io.nix.read_nix_recordings`
``mat``    suffix ``.mat``                                        :func:`ann2neo.io.loaders.read_mat`
``neo``    anything else Neo reads (:func:`neo.io.get_io`)        :func:`ann2neo.io.loaders.read_neo`
=========  =====================================================  ==========================================

Time extents: network layers are in :data:`ann2neo.sample` (sample ``k`` is
trial ``k``, ``[k, k + 1)``); recordings of neurons are in seconds with
``t_start``/``t_stop`` from the file (time vector, matrix, trials table,
observation intervals), else ``t_stop`` is required (see
:mod:`ann2neo.io.loaders`); a recording's ``annotations["extent"]`` says
where they came from.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["read", "read_all", "write", "file_format", "FORMATS", "read_npy", "read_zarr", "read_block"]


def _reader(module, name):
    def call(path, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(path, **kwargs)

    call.__name__ = name
    return call


@dataclass(frozen=True)
class Format:
    """A row of :data:`FORMATS`."""

    name: str
    description: str
    read: Callable
    options: tuple  # the keyword arguments of read_all it uses


def read_npy(path, *, name=None):
    """A ``.npy`` spike matrix (bool or 0/1, samples x nodes) as a network-layer Recording (memory-mapped).

    Returns
    -------
    dict of str to Recording
        ``{file stem: Recording}`` of one-bin trials in samples.
    """
    from ..core.recording import Recording

    try:  # never unpickle: an object array is refused
        m = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"{path} cannot be read as a spike matrix ({err}); save a bool or 0/1 array "
                         "(samples x nodes) without Python objects") from None
    key = name if name is not None else Path(path).stem
    return {key: Recording.from_matrix(m, annotations={"source": str(path)})}


def read_zarr(path, *, name=None, lazy=False):
    """A spike store's layers as Recordings (or, with ``lazy=True``, as dask arrays that stay on disk).

    Parameters
    ----------
    path : path-like
    name : str, optional
        One layer.
    lazy : bool, default False
        Return ``{layer: dask bool array (n_samples, n_nodes)}`` instead: the
        documented way to keep a larger-than-memory layer lazy (a Recording
        holds its spikes in memory).

    Returns
    -------
    dict of str to Recording (or dask array)
    """
    from ..core.recording import Recording
    from .store import read_store

    layers = read_store(path, name, lazy=lazy)
    if lazy:
        return layers
    return {k: Recording.from_matrix(v, annotations={"source": str(path)}) for k, v in layers.items()}


#: Formats ann2neo reads, in the order they are tried.
FORMATS = (
    Format("npy", "spike matrix (.npy, samples x nodes)", read_npy, ()),
    Format("zarr", "ann2neo spike store (.zarr folder)", read_zarr, ("lazy",)),
    Format("nwb", "NWB: ann2neo network layers, or Units/trials tables of neurons",
           _reader("ann2neo.io.nwb", "read_nwb_recordings"), ("t_start", "t_stop")),
    Format("nix", "NIX (Neo's NixIO)", _reader("ann2neo.io.nix", "read_nix_recordings"), ("t_start", "t_stop")),
    Format("mat", "MATLAB (.mat) recordings of neurons", _reader("ann2neo.io.loaders", "read_mat"),
           ("variables", "bin_width", "t_start", "t_stop", "time_unit", "variables_as")),
    Format("neo", "any format Neo reads", _reader("ann2neo.io.loaders", "read_neo"), ("t_start", "t_stop")),
)


def file_format(path) -> str:
    """The name of the :data:`FORMATS` row that reads ``path``: by content for HDF5, else by suffix.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        ``"npy"``, ``"zarr"``, ``"nwb"``, ``"nix"``, ``"mat"`` or ``"neo"``.

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path``.
    IsADirectoryError
        For a folder that is not a spike store.
    ann2neo.io.nwb.FileFormatError
        For an HDF5 file that is neither NWB nor NIX.

    Examples
    --------
    >>> file_format("Generalizing.nwb")  # doctest: +SKIP
    'nwb'
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if path.is_dir():
        if path.suffix == ".zarr" or (path / "zarr.json").exists():
            return "zarr"
        raise IsADirectoryError(f"path {str(path)!r} is a folder, not a recording file (a spike store is a folder "
                                "with zarr.json)")
    suffix = path.suffix.lower()
    if suffix in (".npy", ".mat"):
        return suffix[1:]
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic == b"\x89HDF\r\n\x1a\n" or suffix in (".nwb", ".nix", ".h5"):
        import h5py

        from .nwb import FileFormatError

        try:
            with h5py.File(path, "r") as f:
                attrs = dict(f.attrs)
        except Exception as exc:  # noqa: BLE001 - h5py raises OSError, RuntimeError, ...
            raise FileFormatError(f"{str(path)!r} is not an HDF5 file (NWB or NIX): {type(exc).__name__}: "
                                  f"{exc}") from exc
        if "nwb_version" in attrs:
            return "nwb"
        fmt = attrs.get("format")
        if (fmt.decode() if isinstance(fmt, bytes) else fmt) == "nix":
            return "nix"
        raise FileFormatError(f"{str(path)!r} is HDF5 but neither NWB nor NIX")
    return "neo"


def read_all(path, *, variables=None, bin_width=None, t_start=None, t_stop=None, time_unit=None,
             variables_as="units", lazy=False, name=None) -> dict:
    """Read every recording in a file, by name.

    Parameters
    ----------
    path : str or Path
        Any format of :data:`FORMATS`.
    variables : str or list of str, optional
        MATLAB variables holding the spikes.
    bin_width : pq.Quantity, optional
        Bin width of a MATLAB trial x bin matrix (``--bin-width 1ms``).
    t_start, t_stop : pq.Quantity, optional
        The recording's extent where the file does not state it; ``t_stop`` is
        required for spike times without one (it is never the last spike).
    time_unit : pq unit or str, optional
        Unit of the numbers in a MATLAB file (default seconds for spike times).
    variables_as : {"units", "trials"}, default "units"
        Several MATLAB spike-time variables are units, or trials of one neuron.
    lazy : bool, default False
        Spike stores only: dask arrays instead of Recordings.
    name : str, optional
        Read only this recording.

    Returns
    -------
    dict of str to Recording
        Network layers in samples (one-bin trials, labels as the condition
        ``label``), neurons in seconds.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    TypeError
        For an option the file's format does not take (e.g. ``bin_width`` for
        an NWB file).
    ValueError, ann2neo.UnitError, ann2neo.io.nwb.FileFormatError
        See the readers.

    Examples
    --------
    >>> import quantities as pq
    >>> read_all("10_spikes-1.mat", bin_width=1 * pq.ms)  # doctest: +SKIP
    {'10_spikes-1': Recording(1 unit x 50 trials x 2000 bins of 0.001 s; condition 'direction': 0 (25), 1 (25))}
    """
    from .loaders import check_extent_args

    fmt = next(f for f in FORMATS if f.name == file_format(path))
    given = {"variables": variables, "bin_width": bin_width, "t_start": t_start, "t_stop": t_stop,
             "time_unit": time_unit, "variables_as": None if variables_as == "units" else variables_as,
             "lazy": lazy or None}
    wrong = [k for k, v in given.items() if v is not None and k not in fmt.options]
    if wrong:
        raise TypeError(f"{str(path)!r} is a {fmt.description} file; {', '.join(wrong)} "
                        f"{'does' if len(wrong) == 1 else 'do'} not apply to it")
    kwargs = {k: given[k] for k in fmt.options if given[k] is not None}
    if fmt.name in ("nwb",):
        start, stop, _, _ = check_extent_args(t_start, t_stop, None, None)
        kwargs.update({k: v for k, v in (("t_start", start), ("t_stop", stop)) if v is not None})
    return fmt.read(path, name=name, **kwargs)


def read(path, *, name=None, variables=None, bin_width=None, t_start=None, t_stop=None, time_unit=None,
         variables_as="units", lazy=False):
    """Read one recording from any file ann2neo knows: a :class:`ann2neo.Recording`.

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.zarr``, NWB, NIX, ``.mat``, or any format Neo reads
        (:data:`FORMATS`).
    name : str, optional
        Which recording, when the file holds several (NWB/NIX segments such as
        ``"train"``/``"test"``, store layers); without it such a file raises
        and the message lists the names.
    variables : str or list of str, optional
        MATLAB variables holding the spikes, as :func:`read_all`.
    bin_width : pq.Quantity, optional
        Bin width of a MATLAB trial x bin matrix, as :func:`read_all`.
    t_start, t_stop : pq.Quantity, optional
        The recording's extent where the file does not state it, as :func:`read_all`.
    time_unit : pq unit or str, optional
        Unit of the numbers in a MATLAB file, as :func:`read_all`.
    variables_as : {"units", "trials"}, default "units"
        As :func:`read_all`.
    lazy : bool, default False
        Spike stores only: a dask array instead of a Recording, as :func:`read_all`.

    Returns
    -------
    Recording
        (A dask array for ``lazy=True`` on a spike store.)

    Raises
    ------
    ValueError
        If the file holds several recordings and ``name`` is not given, or no
        recording of that name; and see :func:`read_all`.

    Examples
    --------
    >>> import quantities as pq, ann2neo
    >>> stn = ann2neo.read("10_spikes-1.mat", bin_width=1 * pq.ms)      # doctest: +SKIP
    >>> stn.n_units, stn.n_trials, stn.condition                        # doctest: +SKIP
    (1, 50, 'direction')
    >>> cell = ann2neo.read("spikes-1.mat")                              # doctest: +SKIP
    >>> float(cell.t_stop[0] - cell.t_start[0])                          # doctest: +SKIP
    177.761
    """
    recs = read_all(path, variables=variables, bin_width=bin_width, t_start=t_start, t_stop=t_stop,
                    time_unit=time_unit, variables_as=variables_as, lazy=lazy, name=name)
    if name is not None:
        if name not in recs:
            raise ValueError(f"{str(path)!r} has no recording {name!r}; it holds {list(recs)}")
        return recs[name]
    if len(recs) != 1:
        raise ValueError(f"{str(path)!r} holds {len(recs)} recordings ({', '.join(map(str, recs))}); pick one with "
                         "name=... (or read them all with ann2neo.read_all)")
    return next(iter(recs.values()))


def read_block(path):
    """An NWB or NIX file written by ann2neo as the :class:`neo.Block` written (the lower-level view).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    neo.Block
        Segment and train names, annotations (``labels``, ...) exactly as
        written, trains in samples (:func:`ann2neo.io.nwb.read_nwb`,
        :func:`ann2neo.io.nix.read_nix`).

    Raises
    ------
    ann2neo.io.nwb.FileFormatError
        For other files.

    Examples
    --------
    >>> block = read_block("Generalizing.nwb")   # doctest: +SKIP
    """
    fmt = file_format(path)
    if fmt == "nwb":
        from .nwb import read_nwb

        return read_nwb(path)
    if fmt == "nix":
        from .nix import read_nix

        return read_nix(path)
    from .nwb import FileFormatError

    raise FileFormatError(f"{str(path)!r} is not an NWB or NIX file written by ann2neo; read it with ann2neo.read")


#: Writers by format name.
WRITERS = {"nwb": ("ann2neo.io.nwb", "write_nwb"), "nix": ("ann2neo.io.nix", "write_nix")}


def write(path, data, *, format=None, **kwargs) -> None:  # noqa: A002 - the natural name, as in pandas
    """Write recordings to NWB or NIX, chosen by ``format`` or the suffix (``.nwb``, ``.nix``).

    Parameters
    ----------
    path : str or Path
    data : Recording, mapping of str to Recording (or spike matrix), or neo.Block
        Network layers (samples) and neurons (seconds) alike; see
        :func:`ann2neo.write_nwb` and :func:`ann2neo.write_nix`, which take the
        same parameters.
    format : {"nwb", "nix"}, optional
    **kwargs
        ``sample_duration``, ``overwrite``, metadata: see :func:`ann2neo.write_nwb`.

    Raises
    ------
    ValueError
        For an unknown format or suffix.

    Examples
    --------
    >>> ann2neo.write("stn.nwb", ann2neo.read("10_spikes-1.mat", bin_width=1 * pq.ms))  # doctest: +SKIP
    """
    import importlib

    fmt = format if format is not None else Path(path).suffix.lower().lstrip(".")
    if fmt not in WRITERS:
        raise ValueError(f"cannot tell the format of {str(path)!r}: give a .nwb or .nix path, or format='nwb'/'nix'")
    module, func = WRITERS[fmt]
    getattr(importlib.import_module(module), func)(path, data, **kwargs)
