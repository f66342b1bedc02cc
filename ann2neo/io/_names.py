"""File-name parts from recording names: safe on every file system, and never two alike.

``ann2neo analyze`` writes ``nodes_<name>.csv`` and ``summary_<name>.png`` per
recording.  Names come from files (NWB segment names, layer names, MATLAB
variables) and may hold spaces, slashes, ``..``, NUL or characters that only
differ in case; two different names may sanitize to the same text (``"a b"``
and ``"a_b"``).  :func:`unique_file_names` maps them to distinct, safe parts,
deterministically (the same names in the same order always give the same
parts).
"""
from __future__ import annotations

import hashlib
import re

__all__ = ["safe_file_name", "unique_file_names", "check_storable_name", "MAX_NAME_CHARS"]

#: Longest part kept from a name (file systems allow 255 bytes per file name, with room for prefix and suffix).
MAX_NAME_CHARS = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_file_name(name) -> str:
    """One name as a file-name part: letters, digits, ``_``, ``-`` and single inner dots only.

    Parameters
    ----------
    name : object
        Converted with ``str``.

    Returns
    -------
    str
        Non-empty; no path separator, no ``..``, no NUL, no leading dot or
        dash, at most :data:`MAX_NAME_CHARS` characters (a longer name is cut
        and ends with 8 hex digits of its SHA-256, so cut names stay apart).

    Examples
    --------
    >>> safe_file_name("train/hidden layer"), safe_file_name("../x"), safe_file_name("")
    ('train_hidden_layer', 'x', 'unnamed')
    """
    text = str(name)
    safe = _UNSAFE.sub("_", text)
    safe = re.sub(r"\.{2,}", "_", safe).strip("._-") or "unnamed"
    if len(safe) > MAX_NAME_CHARS:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = safe[:MAX_NAME_CHARS - 9].rstrip("._-") + "-" + digest
    return safe


def unique_file_names(names) -> list:
    """File-name parts for several names: :func:`safe_file_name`, made unique.

    Parameters
    ----------
    names : iterable
        Recording names, in order (e.g. a dict's keys).

    Returns
    -------
    list of str
        One part per name, pairwise different even when compared without
        case (macOS and Windows file systems ignore case).  The first name
        that maps to a part keeps it; later ones get ``-2``, ``-3``, ... (the
        first free number), so the result depends only on the names and their
        order.

    Examples
    --------
    >>> unique_file_names(["a b", "a_b", "A_B", "c"])
    ['a_b', 'a_b-2', 'A_B-3', 'c']
    """
    parts, taken = [], set()
    for name in names:
        base = safe_file_name(name)
        part, n = base, 1
        while part.lower() in taken:
            n += 1
            part = f"{base}-{n}"
        taken.add(part.lower())
        parts.append(part)
    return parts


def check_storable_name(name, what: str) -> None:
    r"""Refuse a name that HDF5 cannot store as a string (it holds a NUL character).

    Parameters
    ----------
    name : str or None
        The name (None passes).
    what : str
        What it names, for the message (e.g. ``"segment 'a\x00b'"``).

    Raises
    ------
    ValueError
        If ``name`` holds ``"\x00"``: HDF5 strings end at NUL, so the name
        would be cut or refused by h5py with a message that does not say which.

    Examples
    --------
    >>> check_storable_name("train", "segment 'train'")
    """
    if isinstance(name, str) and "\x00" in name:
        raise ValueError(f"{what} holds a NUL character (\\x00) at position {name.index(chr(0))}; NWB and NIX "
                         f"(HDF5) cannot store it: rename it, e.g. name.replace('\\x00', '')")
