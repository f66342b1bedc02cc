"""``read(path)``: open any file ann2neo wrote (NWB or NIX) by its content, not its name."""
from __future__ import annotations

from pathlib import Path

__all__ = ["read", "file_format"]


def file_format(path) -> str:
    """Return ``"nwb"`` or ``"nix"`` for an HDF5 file written by ann2neo (or by pynwb / Neo's NixIO).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    ann2neo.io.nwb.FileFormatError
        If the file is not HDF5 or neither NWB nor NIX.

    Examples
    --------
    >>> file_format("Generalizing.nwb")  # doctest: +SKIP
    'nwb'
    """
    import h5py

    from .nwb import FileFormatError

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"path {str(path)!r} is a directory, not a file")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, RuntimeError, ...
        raise FileFormatError(f"{str(path)!r} is not an HDF5 file (NWB or NIX): {type(exc).__name__}: {exc}") \
            from exc
    if "nwb_version" in attrs:
        return "nwb"
    fmt = attrs.get("format")
    if (fmt.decode() if isinstance(fmt, bytes) else fmt) == "nix":
        return "nix"
    raise FileFormatError(f"{str(path)!r} is HDF5 but neither NWB nor NIX")


def read(path):
    """Read an NWB or NIX file written by ann2neo into a :class:`neo.Block` in samples.

    Parameters
    ----------
    path : str or Path
        A file from :func:`ann2neo.io.nwb.write_nwb` or :func:`ann2neo.io.nix.write_nix`.

    Returns
    -------
    neo.Block
        The block as written: segment and train names, annotations (``labels``,
        ``sample_index``, ``layer_shape``, ...) and spike matrices, exactly.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
    ann2neo.io.nwb.FileFormatError
        If the file is damaged, of another format, or not written by ann2neo.

    Examples
    --------
    >>> block = read("Generalizing.nwb")                     # doctest: +SKIP
    >>> ann2neo.from_spiketrains(block.segments[0].spiketrains)  # doctest: +SKIP
    """
    if file_format(path) == "nwb":
        from .nwb import read_nwb

        return read_nwb(path)
    from .nix import read_nix

    return read_nix(path)
