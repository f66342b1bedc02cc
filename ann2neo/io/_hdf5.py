"""Refuse HDF5 files that would make a reader load data from other files.

An HDF5 file can hold, in place of a dataset, an *external link* (a path to
an object in another file, followed silently by h5py and pynwb), a *virtual
dataset* (whose data are mapped from other files) or a dataset with
*external storage* (its raw bytes kept in other files).  A file given to
ann2neo could use any of them to make a reader load another file's data in
place of its own, around the Fletcher-32 checksums.  :func:`check_self_contained`
walks every group of a file once, when it is opened, and refuses all three.
Soft links are kept: they name objects inside the same file.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["check_self_contained"]


def check_self_contained(path) -> None:
    """Raise unless every object of an HDF5 file is stored in the file itself.

    Parameters
    ----------
    path : str or Path
        An HDF5 file (NWB, NIX, ...).

    Raises
    ------
    ann2neo.io.nwb.FileFormatError
        If a link is an external link (to another file), or a dataset is
        virtual or has external storage; the message names the object and the
        other file.  Also if the file is not HDF5 (h5py cannot open it).

    Notes
    -----
    The walk follows hard links only (``h5py.Group.visititems``, never an
    external link); each group's links are read with ``getlink=True``, which
    does not open their targets.

    Examples
    --------
    >>> check_self_contained("Generalizing.nwb")  # doctest: +SKIP
    """
    import h5py

    from .nwb import FileFormatError

    try:
        f = h5py.File(Path(path), "r")
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, RuntimeError, ...
        raise FileFormatError(f"{str(path)!r} is not an HDF5 file: {type(exc).__name__}: {exc}") from exc
    with f:
        try:
            found = _foreign_objects(f)
        except Exception as exc:  # noqa: BLE001 - a damaged file fails the walk with RuntimeError, KeyError, ...
            raise FileFormatError(f"{str(path)!r} cannot be read (damaged or truncated HDF5): "
                                  f"{type(exc).__name__}: {exc}") from exc
    if found:
        name, what = found
        raise FileFormatError(f"{str(path)!r}: /{name} is {what}; ann2neo reads data only from the file itself, "
                              "so the file is refused. Copy the data into the file (e.g. h5py's Group.copy) or "
                              "open it with h5py/pynwb yourself")


def _foreign_objects(f):
    """``(name, what)`` of the first object stored outside the file, or None."""
    import h5py

    groups, datasets = [("", f)], []

    def collect(name, obj):
        (groups if isinstance(obj, h5py.Group) else datasets).append((name, obj))

    f.visititems(collect)
    for gname, group in groups:
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                return f"{gname}/{name}".lstrip("/"), f"an HDF5 external link to {link.filename}:{link.path}"
    for name, dset in datasets:
        if not isinstance(dset, h5py.Dataset):
            continue
        if dset.is_virtual:
            sources = sorted({m.file_name for m in dset.virtual_sources()})
            return name, f"a virtual dataset mapped from {', '.join(sources)}"
        if dset.external:
            return name, f"a dataset whose data are stored in {', '.join(str(e[0]) for e in dset.external)}"
    return None
