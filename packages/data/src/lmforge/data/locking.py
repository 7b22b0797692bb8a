"""One run per output folder: an exclusive, non-blocking ``fcntl`` lock on ``<output_dir>/.lock``.

Stand-in for ``lmforge.core.locking`` (being added in core): the pipeline takes its lock only through
:func:`output_dir_lock`, so swapping the implementation is a one-function change. The lock belongs to
the open file, so a killed run releases it with its process; the file itself stays (harmless).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from lmforge.core import LmforgeError


@contextlib.contextmanager
def output_dir_lock(folder: str | Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the ``with`` block; refuse at once if another process holds it."""
    path = Path(folder) / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LmforgeError(
                f"another run is writing to {folder} (it holds {path}); wait for it or use another output_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
