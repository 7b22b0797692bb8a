"""Run directories and atomic writes.

A run directory holds ``config.toml`` (the resolved config), ``metrics.jsonl`` (one JSON object per
logged step), checkpoints, the tokenizer and plots. Every file that must survive a crash is written
to a temporary file in the same folder, fsynced, then renamed over the target, so a reader never
sees half a file. The file gets the mode any new file would get under the process's umask (a temp
file alone would be 0600).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .config import config_to_toml


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on clean exit fsync it and rename it over ``path``."""
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open writes only: mode must be 'w' or 'wb'")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read the umask is to set it; put it straight back
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | Path, data: bytes | str) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def new_run_dir(root: str | Path = "runs", name: str | None = None) -> Path:
    """Create ``root/name`` (``name`` defaults to a timestamp); an existing name gets a numeric suffix."""
    root = Path(root)
    base = name or time.strftime("%Y%m%d-%H%M%S")
    for i in range(10_000):
        candidate = root / (base if i == 0 else f"{base}-{i}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a fresh run directory under {root}")


def save_config(cfg: Any, run_dir: str | Path) -> Path:
    path = Path(run_dir) / "config.toml"
    atomic_write(path, config_to_toml(cfg))
    return path


def file_sha256(path: str | Path) -> str:
    """The SHA-256 (hex) of a file's bytes, read in 1 MiB blocks (checkpoints and token files are GBs)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
