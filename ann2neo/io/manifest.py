"""Self-describing run folders: a manifest written last, and the check that reads it.

A run folder is *complete* only when ``manifest.json`` exists, says
``"complete": true`` and every file it lists is present with the SHA-256 it
records.  The manifest is written atomically after every other file, so a run
killed at any point leaves a folder without a manifest — marked incomplete —
never a folder whose manifest describes files of another run.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import platform
import shutil
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from ._atomic import write_text

__all__ = ["MANIFEST", "RunStatus", "UnsafeOverwriteError", "prepare_run_dir", "write_manifest", "check_run", "sha256",
           "package_versions"]

#: File name of the manifest of a run folder, written last.
MANIFEST = "manifest.json"
#: Distributions whose versions a manifest records (found with importlib.metadata; nothing is imported).
PACKAGES = ("ann2neo", "numpy", "scipy", "pandas", "neo", "elephant", "quantities", "statsmodels", "keras",
            "tensorflow", "scikit-learn", "mlxtend", "pynwb", "hdmf", "matplotlib")


def jsonable(value):
    """Plain JSON values for a run folder's JSON files.

    numpy scalars become Python numbers, NaN/Inf become None (JSON has no
    NaN), tuples become lists, and a ``quantities`` quantity becomes a string
    with its unit (``"50.0 ms"``); dicts and lists are converted recursively.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "dimensionality") and np.ndim(value) == 0:  # a scalar quantities.Quantity
        return f"{float(value.magnitude)} {value.dimensionality.string}"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def sha256(path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict:
    """Python and installed package versions (``None`` for a package that is not installed)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class UnsafeOverwriteError(ValueError):
    """``--overwrite`` would delete a file outside the run folder, or one changed since the run: refused."""


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _listed_targets(out: Path, manifest: Path) -> list:
    """Files of the earlier run that ``--overwrite`` may delete, all checked before anything is deleted.

    Every entry must be a relative path whose resolved location (symlinks
    followed) lies inside ``out``, and an existing file must still have the
    SHA-256 the manifest records; otherwise :class:`UnsafeOverwriteError`.
    """
    try:
        entries = json.loads(manifest.read_text()).get("files", [])
        entries = [(str(e["path"]), e.get("sha256")) for e in entries]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []  # an unreadable manifest lists nothing: only the run's own file patterns are removed
    root = out.resolve()
    targets = []
    for rel, digest in entries:
        where = f"--out {out}: {MANIFEST} lists {rel!r}"
        pure = Path(rel)
        if pure.is_absolute() or ".." in pure.parts or "\x00" in rel or not pure.parts:
            raise UnsafeOverwriteError(f"{where}, which is not a path inside the folder; --overwrite deletes only "
                                       f"the run's own files. Nothing was deleted: check {MANIFEST} or choose "
                                       f"another --out")
        full = out / pure
        if not _inside(full.resolve(), root):
            raise UnsafeOverwriteError(f"{where}, which leads outside the folder through a symbolic link "
                                       f"(to {full.resolve()}); nothing was deleted: remove the link or choose "
                                       f"another --out")
        if not (full.exists() or full.is_symlink()):
            continue
        if full.is_dir() or not full.is_file():
            raise UnsafeOverwriteError(f"{where}, but it is now a folder or a special file; nothing was deleted: "
                                       f"move it away or choose another --out")
        if digest is None or sha256(full) != digest:
            raise UnsafeOverwriteError(f"{where}, but that file has changed since the run (checksum differs); "
                                       f"nothing was deleted: move it out of the folder or choose another --out")
        targets.append(full)
    return targets


def prepare_run_dir(out, overwrite: bool = False, owned=()) -> Path:
    """Check an output folder before any work starts, and empty it of an earlier run when allowed.

    Parameters
    ----------
    out : str or Path
        Folder to create or reuse.
    overwrite : bool, default False
        Allow a non-empty folder.  Every file the earlier run's manifest lists
        is checked first: it must lie inside ``out`` (after resolving symbolic
        links) and still have the SHA-256 the manifest records.  Then the
        manifest is deleted (so the folder is marked incomplete from that
        moment), then the listed files and the entries matching ``owned``
        (symbolic links among them are removed, never followed); other files
        are kept.
    owned : sequence of str
        Glob patterns of files and folders this kind of run writes, relative to
        ``out`` (removed on overwrite even when an older run left no manifest).

    Returns
    -------
    Path

    Raises
    ------
    NotADirectoryError
        If ``out`` (or a parent) is an existing file.
    FileExistsError
        If ``out`` is a non-empty folder and ``overwrite`` is False.
    ann2neo.io._lock.RunLockedError
        If another live process holds the folder's lock (a FileExistsError).
    UnsafeOverwriteError
        If the manifest lists a path outside ``out`` (``../x``, ``/abs``, a
        symbolic link leading out) or a file changed since the run: nothing
        is deleted.

    Examples
    --------
    >>> import tempfile
    >>> prepare_run_dir(tempfile.mkdtemp()).is_dir()
    True
    """
    from ._lock import LOCK_NAME, RunLockedError, lock_holder

    out = Path(out)
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"--out {out}: {p} is a file, not a folder")
    holder = lock_holder(out) if out.is_dir() else None
    if holder is not None:
        raise RunLockedError(f"--out {out} is in use by another ann2neo run (process {holder}); wait for it to "
                             f"finish or choose another folder")
    if out.exists() and any(p.name != LOCK_NAME for p in out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"--out {out} is not empty; choose a new folder or pass --overwrite "
                                  f"(overwrite=True) to replace the run in it")
        manifest = out / MANIFEST
        listed = _listed_targets(out, manifest) if manifest.is_file() else []
        root = out.resolve()
        owned_paths = []
        for pattern in owned:
            if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                raise ValueError(f"owned pattern {pattern!r} must be relative to the run folder")
            for p in out.glob(pattern):
                if p.name != LOCK_NAME and _inside(p.parent.resolve(), root):
                    owned_paths.append(p)
        if manifest.exists() or manifest.is_symlink():
            manifest.unlink()
        for target in sorted(set(listed) | set(owned_paths), key=lambda p: len(p.parts), reverse=True):
            if target.is_symlink() or not target.is_dir():
                target.unlink(missing_ok=True)  # a link is removed, never followed
            else:
                shutil.rmtree(target)  # does not follow links inside the folder
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_manifest(out, files, *, config=None, argv=None, extra=None) -> Path:
    """Write ``manifest.json`` last: configuration, command line, versions, files with checksums.

    Parameters
    ----------
    out : str or Path
        The run folder.
    files : iterable of str or Path
        The run's files (relative to ``out`` or absolute inside it).
    config : dict, optional
        The run's configuration (with its seed).
    argv : list of str, optional
        The command line; default ``sys.argv``.
    extra : dict, optional
        More JSON values to record.

    Returns
    -------
    Path
        The manifest's path.

    Raises
    ------
    FileNotFoundError
        If a listed file does not exist.
    """
    out = Path(out)
    entries = []
    for f in files:
        path = Path(f)
        rel = path.relative_to(out) if path.is_absolute() else path
        full = out / rel
        entries.append({"path": rel.as_posix(), "bytes": full.stat().st_size, "sha256": sha256(full)})
    manifest = {
        "format": "ann2neo-run/1",
        "complete": True,
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command_line": list(sys.argv if argv is None else argv),
        "config": config or {},
        "versions": package_versions(),
        **(extra or {}),
        "files": sorted(entries, key=lambda e: e["path"]),
    }
    path = out / MANIFEST
    write_text(path, json.dumps(manifest, indent=2, allow_nan=False))
    return path


@dataclass
class RunStatus:
    """What :func:`check_run` found.

    Attributes
    ----------
    complete : bool
        A manifest exists and every file it lists matches its checksum.
    problems : list of str
        Why the folder is incomplete (empty when complete).
    extra_files : list of str
        Files in the folder the manifest does not list (not a problem in itself).
    manifest : dict or None
    """

    complete: bool
    problems: list = field(default_factory=list)
    extra_files: list = field(default_factory=list)
    manifest: dict | None = None


def check_run(out) -> RunStatus:
    """Check that a run folder is complete: manifest present and every listed file intact.

    Parameters
    ----------
    out : str or Path

    Returns
    -------
    RunStatus

    Examples
    --------
    >>> check_run("no-such-folder").complete
    False
    """
    out = Path(out)
    if not out.is_dir():
        return RunStatus(False, [f"{out} is not a folder"])
    path = out / MANIFEST
    if not path.exists():
        return RunStatus(False, [f"no {MANIFEST}: the run did not finish (incomplete folder)"])
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
    except (ValueError, KeyError, TypeError) as err:
        return RunStatus(False, [f"{MANIFEST} is unreadable: {err}"])
    problems = [] if manifest.get("complete") is True else [f"{MANIFEST} does not say complete"]
    for entry in files:
        f = out / entry["path"]
        if not f.exists():
            problems.append(f"{entry['path']} is missing")
        elif sha256(f) != entry["sha256"]:
            problems.append(f"{entry['path']} has changed since the run (checksum differs)")
    listed = {e["path"] for e in files} | {MANIFEST}
    extra = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                   if p.is_file() and p.relative_to(out).as_posix() not in listed)
    return RunStatus(not problems, problems, extra, manifest)
