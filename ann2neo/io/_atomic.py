"""Atomic file writes: write to a temporary file beside the target, then rename.

Temporary files are named ``.ann2neo-tmp-<pid>-<random>-<target name>`` in the
target's folder.  A writer that is killed (SIGKILL, power loss) cannot remove
its temporary file, so every new atomic write into a folder first sweeps the
temporary files there whose writer process no longer exists.  The target itself
is only ever replaced by :func:`os.replace`, so it is always either the
complete old file or the complete new file.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

__all__ = ["atomic_path", "write_text", "sweep_stale_temporaries", "TEMP_PREFIX"]

#: Prefix of every temporary file ann2neo writes.
TEMP_PREFIX = ".ann2neo-tmp-"
_TEMP_RE = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-[0-9a-f]{8}-")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def sweep_stale_temporaries(folder) -> list[Path]:
    """Remove ann2neo temporary files in ``folder`` whose writing process is dead.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    list of Path
        The files removed.

    Notes
    -----
    The writer's PID is part of the temporary file's name; a file is stale when
    no process with that PID exists.  (A recycled PID keeps a stale file until
    that process ends too; the file is never mistaken for a finished write.)
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(path, overwrite: bool = True, name: str = "path"):
    """Yield a temporary path in the target's folder; move it onto ``path`` on success.

    Parameters
    ----------
    path : str or Path
        Target file.  Missing parent folders are created.
    overwrite : bool, default True
        Replace an existing file.
    name : str
        Argument name for error messages.

    Yields
    ------
    Path
        Where to write; it does not exist yet (writers such as h5py create it).

    Raises
    ------
    FileExistsError
        If ``path`` is a file and ``overwrite`` is False.
    IsADirectoryError
        If ``path`` is a directory (never replaced, whatever ``overwrite`` says).

    Notes
    -----
    On any exception the temporary file is removed and an existing ``path`` is
    left untouched.  Stale temporary files of dead writers in the same folder
    are removed first (see :func:`sweep_stale_temporaries`).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{name} {str(path)!r} is a directory; give a file path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{name} {str(path)!r} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(path.parent)
    tmp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
