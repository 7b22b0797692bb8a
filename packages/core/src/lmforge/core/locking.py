"""One writer per directory: an OS file lock held for the life of the process.

``lock_dir(path)`` takes ``fcntl.flock`` on ``path/.lmforge.lock`` and keeps it until ``release()``
or until the process ends; the kernel drops the lock when the process dies (SIGKILL, OOM kill), so a
crash never leaves a stale lock behind. The file holds the holder's pid and host, so a second writer
is refused with one line that says who holds the directory. The lock file itself stays; its content
only matters while someone holds the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from .errors import LmforgeError

LOCK_NAME = ".lmforge.lock"

# path -> lock held by this process, so a command that locks the same directory twice (a train call
# inside a sweep that already holds it) does not deadlock on its own lock
_HELD: dict[Path, DirLock] = {}


class DirectoryLockedError(LmforgeError):
    """Another process is writing the directory."""


class DirLock:
    """A held lock on one directory (see ``lock_dir``)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth > 0 or self._fd < 0:
            return
        _HELD.pop(self.path, None)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> DirLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(lock_file: Path) -> str:
    try:
        info = json.loads(lock_file.read_text())
        return f"pid {info['pid']} on host {info['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its pid and host are not recorded yet)"


def lock_dir(path: str | Path, what: str = "directory") -> DirLock:
    """Lock ``path`` (created if missing) for this process, or raise ``DirectoryLockedError``."""
    path = Path(path).resolve()
    held = _HELD.get(path)
    if held is not None:
        held._depth += 1
        return held
    path.mkdir(parents=True, exist_ok=True)
    lock_file = path / LOCK_NAME
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DirectoryLockedError(f"{what} {path} is being written by {_holder(lock_file)}; wait for it "
                                   "to finish or pick another directory") from None
    # os.open's fd is not inherited across exec, so a launched subprocess never keeps the lock alive
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)
    lock = DirLock(path, fd)
    _HELD[path] = lock
    return lock
