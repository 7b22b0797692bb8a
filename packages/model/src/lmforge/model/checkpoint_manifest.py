"""Checkpoint manifests: each file's size and sha256, written last, checked before anything is loaded.

A flipped byte in ``model.safetensors`` still parses and a flipped float in ``optimizer.pt`` still
unpickles; only a checksum tells them from the real thing. ``manifest.json`` is the last file written
into a checkpoint folder, so a folder whose manifest is missing was never finished (or predates
manifests) and is not trusted either.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmforge.core import atomic_write, file_sha256

from .checkpoint import CheckpointError

MANIFEST = "manifest.json"

# files already checked in this process, keyed by (path, size, mtime): resuming checks the whole folder
# and then loads each file, which must not hash a multi-GB file twice
_VERIFIED: set[tuple[str, int, int]] = set()


def write_manifest(folder: Path) -> None:
    """Record every file in ``folder`` (call when all of them, from every rank, are written)."""
    files = {p.name: {"size": p.stat().st_size, "sha256": file_sha256(p)}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    atomic_write(folder / MANIFEST, json.dumps({"format": 1, "files": files}, indent=1))


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise CheckpointError(f"checkpoint {folder} has no {MANIFEST}: it was not finished, or was written "
                              "by an lmforge without checksums")
    try:
        files = json.loads(path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint {folder}: {MANIFEST} is unreadable: {e}") from None
    return files


def verify_checkpoint(folder: Path, names: list[str] | None = None) -> None:
    """Raise ``CheckpointError`` naming the first file (of ``names``, default all) that does not match."""
    files = _read_manifest(folder)
    for name in names if names is not None else sorted(files):
        if name not in files:
            raise CheckpointError(f"checkpoint {folder}: {name} is not in its {MANIFEST}")
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"checkpoint {folder}: {name} is missing")
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key in _VERIFIED:
            continue
        want = files[name]
        if stat.st_size != want["size"]:
            raise CheckpointError(f"checkpoint {folder}: {name} holds {stat.st_size} bytes, its manifest "
                                  f"says {want['size']} (truncated or overwritten)")
        if file_sha256(path) != want["sha256"]:
            raise CheckpointError(f"checkpoint {folder}: {name} does not match its sha256 in {MANIFEST} "
                                  "(the file is corrupt)")
        _VERIFIED.add(key)
