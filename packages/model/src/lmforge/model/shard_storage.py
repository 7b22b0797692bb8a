"""Where a sharded checkpoint's shards live, and whether they are all there and intact.

Every rank writes its own shards (``backend.save_checkpoint``) into a location of their own: by default
``checkpoints/shards_NNNNNNN`` beside the step folder, or, with ``train.checkpoint_shards_url``,
``URL/step_NNNNNNN`` on object storage (``s3://``, ``gs://``, ``file://``) so the ranks need no shared
filesystem for them. The step folder's ``trainer_state.json`` names the location (``"sharded"``: a name
relative to the checkpoints folder, or the full URL) and records every shard's size and sha256
(``"shard_files"``), so the step folder's manifest vouches for the whole checkpoint wherever the shards
are. Listing and hashing go through fsspec, one code path for a folder and a URL; hashing is split across
ranks (file i on rank i % world).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .checkpoint import CheckpointError


def is_url(location: str | Path) -> bool:
    return "://" in str(location)


def shard_location(step_dir: Path, state: dict) -> str | Path:
    """The shards of the checkpoint in ``step_dir`` (``state`` is its trainer_state.json)."""
    where = state["sharded"]
    return where if is_url(where) else Path(step_dir).parent / where


def _fs(location: str | Path):
    """(fsspec filesystem, path inside it) for a folder or a URL."""
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(str(location))
    return fs, root.rstrip("/")


def _shard_paths(location: str | Path) -> list[str]:
    fs, root = _fs(location)
    if not fs.exists(root):
        return []
    return sorted(p[len(root) + 1:] for p in fs.find(root))


def _sha256(fs, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _gather(items: list) -> list:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return items
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, items)
    return [x for part in out for x in part]


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shard_manifest(location: str | Path, rank: int = 0, world: int = 1) -> dict[str, dict]:
    """Size and sha256 of every file under ``location`` (a collective: every rank calls it after the
    shards are written; every rank must see the location, a shared folder or a URL)."""
    _barrier()  # every rank's shards are written before any rank lists them
    fs, root = _fs(location)
    names = _shard_paths(location)
    mine = [(n, {"size": fs.size(f"{root}/{n}"), "sha256": _sha256(fs, f"{root}/{n}")})
            for n in names[rank::world]]
    return dict(sorted(_gather(mine)))


def verify_shards(location: str | Path, files: dict[str, dict], rank: int = 0, world: int = 1) -> None:
    """Raise ``CheckpointError`` on every rank if a shard is missing, extra or differs from ``files``
    (a collective, like ``shard_manifest``)."""
    fs, root = _fs(location)
    problems = []
    if rank == 0:
        present = set(_shard_paths(location))
        problems += [f"{n} is missing" for n in sorted(set(files) - present)]
        problems += [f"{n} is not in the checksums" for n in sorted(present - set(files))]
    for name in sorted(files)[rank::world]:
        path, want = f"{root}/{name}", files[name]
        if fs.isfile(path) and (fs.size(path) != want["size"] or _sha256(fs, path) != want["sha256"]):
            problems.append(f"{name} does not match its size/sha256 (corrupt)")
    problems = _gather(problems)
    if problems:
        raise CheckpointError(f"sharded checkpoint {location}: " + "; ".join(sorted(problems)[:5]))


def remove_shards(location: str | Path) -> None:
    fs, root = _fs(location)
    if fs.exists(root):
        fs.rm(root, recursive=True)


def shard_locations(step_dirs: list[Path]) -> dict[Path, str | Path]:
    """The shard location of each step folder that has one (unreadable states are skipped: the resume
    check reports them, rotation must not fail on them)."""
    out = {}
    for step_dir in step_dirs:
        try:
            state = json.loads((step_dir / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        if state.get("sharded"):
            out[step_dir] = shard_location(step_dir, state)
    return out


def check_shards_url(url: str, resume: bool) -> None:
    """A new run's shard URL must not hold another run's shards (their step folders would be mixed up);
    a resumed run writes beside its own. Raises ``ConfigError``."""
    from lmforge.core import ConfigError

    if not (is_url(url) or Path(url).is_absolute()):
        raise ConfigError(f"train.checkpoint_shards_url must be a URL (s3://, gs://, file://...) or an "
                          f"absolute path every rank sees, got {url!r}")
    try:
        fs, root = _fs(url)
        taken = not resume and fs.exists(root) and bool(fs.ls(root, detail=False))
    except (ImportError, ValueError) as e:  # no fsspec backend for the scheme (s3fs, gcsfs)
        raise ConfigError(f"train.checkpoint_shards_url {url}: {e}") from None
    if taken:
        raise ConfigError(f"train.checkpoint_shards_url {url} already holds files (another run's shards?); "
                          "give each run its own URL")
