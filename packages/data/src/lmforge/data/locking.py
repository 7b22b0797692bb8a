"""One run per output folder, through core's directory lock (``lmforge.core.lock_dir``).

The lock is an ``fcntl`` lock on ``<output_dir>/.lmforge.lock`` that the kernel drops when the process
dies, so a killed run never blocks the next one; a second live run is refused naming the holder's pid
and host.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from lmforge.core import lock_dir


@contextlib.contextmanager
def output_dir_lock(folder: str | Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the ``with`` block; refuse at once if another process holds it."""
    with lock_dir(folder, "pipeline output directory"):
        yield
