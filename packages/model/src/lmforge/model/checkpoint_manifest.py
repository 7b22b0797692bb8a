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


# Sharded checkpoints: the shards live in a folder beside the step folder (every rank writes its own).
# Their sizes and checksums go into the step folder's trainer_state.json, which its manifest covers, so
# one manifest vouches for the whole checkpoint. Hashing is split across ranks (file i on rank i % world).


def _shard_paths(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _gather(items: list) -> list:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return items
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, items)
    return [x for part in out for x in part]


def shard_manifest(folder: Path, rank: int = 0, world: int = 1) -> dict[str, dict]:
    """Size and sha256 of every file under ``folder`` (a collective: every rank calls it after the
    shards are written, on a filesystem all ranks see; each hashes its share)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # every rank's shards are written before any rank lists the folder
    folder = Path(folder)
    names = _shard_paths(folder)
    mine = [(n, {"size": (folder / n).stat().st_size, "sha256": file_sha256(folder / n)})
            for n in names[rank::world]]
    return dict(sorted(_gather(mine)))


def verify_shards(folder: Path, files: dict[str, dict], rank: int = 0, world: int = 1) -> None:
    """Raise ``CheckpointError`` on every rank if a shard is missing, extra or differs from ``files``
    (a collective, like ``shard_manifest``)."""
    folder = Path(folder)
    problems = []
    if rank == 0:
        present = set(_shard_paths(folder)) if folder.is_dir() else set()
        problems += [f"{n} is missing" for n in sorted(set(files) - present)]
        problems += [f"{n} is not in the checksums" for n in sorted(present - set(files))]
    for name in sorted(files)[rank::world]:
        path, want = folder / name, files[name]
        if path.is_file() and (path.stat().st_size != want["size"] or file_sha256(path) != want["sha256"]):
            problems.append(f"{name} does not match its size/sha256 (corrupt)")
    problems = _gather(problems)
    if problems:
        raise CheckpointError(f"sharded checkpoint {folder}: " + "; ".join(sorted(problems)[:5]))
