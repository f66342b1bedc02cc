"""One writer per run folder: a lock file that holds the writer's PID.

``ann2neo reproduce``, ``grid``, ``analyze`` and ``compare`` hold
:func:`run_lock` on their ``--out`` folder for the whole run, so a second
run into the same folder refuses at once (:class:`RunLockedError`) instead
of interleaving its files with the first one's.  The lock file
``.ann2neo.lock`` is created with ``O_CREAT | O_EXCL`` (atomic on local file
systems), holds the PID and host name, and is removed when the run ends.  A
lock left by a process that no longer exists on this host (a killed run) is
taken over, with a logged message.  Locks are re-entrant within one process
(the CLI and the library function it calls can both take it).
"""
from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
from pathlib import Path

from ._atomic import _pid_alive

__all__ = ["LOCK_NAME", "RunLockedError", "run_lock", "lock_holder"]

#: Name of the lock file inside a run folder.
LOCK_NAME = ".ann2neo.lock"
log = logging.getLogger("ann2neo.lock")
_held: dict = {}  # resolved folder -> depth, for this process
_guard = threading.Lock()


class RunLockedError(FileExistsError):
    """Another live ann2neo process is writing the run folder."""


def _read(lock: Path):
    """``(pid, host)`` recorded in a lock file; ``(None, None)`` when unreadable or empty."""
    try:
        text = lock.read_text().split()
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        return None, None
    try:
        return int(text[0]), (text[1] if len(text) > 1 else None)
    except (IndexError, ValueError):
        return None, None


def lock_holder(out):
    """PID of the live process that holds the lock on ``out``, or None.

    Parameters
    ----------
    out : str or Path
        A run folder.

    Returns
    -------
    int or None
        None when the folder is not locked, or its lock is stale (its
        process is dead) or held by this process.
    """
    pid, host = _read(Path(out) / LOCK_NAME)
    if pid is None or pid == os.getpid():
        return None
    if host is not None and host != socket.gethostname():
        return pid  # another machine's process: cannot tell, so it counts as live
    return pid if _pid_alive(pid) else None


def _try_create(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()} {socket.gethostname()}\n")
    return True


def _take_over(lock: Path, dead_pid) -> None:
    """Move a stale lock aside atomically; put it back if it was no longer the stale one."""
    aside = lock.with_name(f"{LOCK_NAME}.stale-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return  # someone else moved it: just try again
    pid, _ = _read(aside)
    if pid == dead_pid or pid is None:
        aside.unlink(missing_ok=True)
        log.warning("run folder %s: took over the lock of process %s, which no longer runs (a killed run)",
                    lock.parent, dead_pid)
        return
    with contextlib.suppress(FileExistsError):  # a live lock was moved by mistake: restore it
        os.link(aside, lock)
    aside.unlink(missing_ok=True)


def _acquire(out: Path) -> None:
    lock = out / LOCK_NAME
    for _ in range(50):
        if _try_create(lock):
            return
        pid, host = _read(lock)
        if pid is None:  # just created by another process that has not written its PID yet: give it 1 s
            import time

            for _ in range(50):
                time.sleep(0.02)
                pid, host = _read(lock)
                if pid is not None or not lock.exists():
                    break
            if pid is None:
                _take_over(lock, None)
                continue
        if pid == os.getpid():
            return
        if host is not None and host != socket.gethostname():
            raise RunLockedError(f"--out {out} is in use by process {pid} on {host} (lock file {lock}); wait for "
                                 f"it to finish or choose another folder (remove {LOCK_NAME} if that run is dead)")
        if _pid_alive(pid):
            raise RunLockedError(f"--out {out} is in use by another ann2neo run (process {pid}); wait for it to "
                                 f"finish or choose another folder")
        _take_over(lock, pid)
    raise RunLockedError(f"--out {out}: could not take the lock {lock} (contended); try again")


def _release(out: Path) -> None:
    lock = out / LOCK_NAME
    pid, _ = _read(lock)
    if pid == os.getpid():
        lock.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(out):
    """Hold the lock on a run folder for the duration of a ``with`` block.

    Parameters
    ----------
    out : str or Path
        The run folder; created (with its parents) when missing.

    Yields
    ------
    Path
        ``out``.

    Raises
    ------
    RunLockedError
        If another live process holds the lock (a subclass of FileExistsError).
    NotADirectoryError
        If ``out`` or a parent is a file.
    OSError
        If the folder cannot be created or written (read-only file system,
        full disk, permissions).

    Examples
    --------
    >>> import tempfile
    >>> with run_lock(tempfile.mkdtemp()) as out:
    ...     (out / LOCK_NAME).exists()
    True
    """
    out = Path(out)
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"--out {out}: {p} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(out)
    with _guard:
        depth = _held.get(key, 0)
        if depth == 0:
            _acquire(out)
        _held[key] = depth + 1
    try:
        yield out
    finally:
        with _guard:
            _held[key] -= 1
            if _held[key] == 0:
                del _held[key]
                _release(out)
