"""Run checkpoints: ``run_dir/checkpoints/step_NNNNNNN/`` folders, written atomically.

A folder holds ``model.safetensors`` (full weights under the model's own names; tied tensors stored
once), ``optimizer.pt`` (per rank when several: ZeRO shards its state), ``rng.pt`` (torch / CUDA
generators, the data sampler and Python's ``random``, per rank), ``trainer_state.json`` (step,
tokens, seconds, model config), ``config.toml`` and, written last, ``manifest.json`` (each file's size
and sha256). It is written under a ``.partial`` name and renamed when complete, then
``checkpoints/latest`` is updated, so a crash never leaves a half checkpoint that resuming would pick
up. Every load checks the manifest; ``checkpoint_to_resume`` (the newest one that verifies) is what
``--resume`` uses, in the trainer and in the align loops alike.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lmforge.core import atomic_open, atomic_write

from .checkpoint import CheckpointError
from .checkpoint_manifest import verify_checkpoint, write_manifest

CHECKPOINTS = "checkpoints"


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


def _rank_file(stem: str, rank: int) -> str:
    return f"{stem}.pt" if rank == 0 else f"{stem}.rank{rank}.pt"


def capture_rng(data_rng: np.random.Generator | None = None) -> dict[str, Any]:
    """torch's (and CUDA's) generators, Python's ``random`` and, where the caller samples batches from
    one, the data generator (the align loops draw theirs from ``random``)."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": json.dumps(random.getstate()),
    }
    if data_rng is not None:
        state["data"] = json.dumps(data_rng.bit_generator.state)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], data_rng: np.random.Generator | None = None) -> None:
    torch.set_rng_state(state["torch"])
    if data_rng is not None:
        data_rng.bit_generator.state = json.loads(state["data"])
    version, internal, gauss = json.loads(state["python"])
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _dedupe(state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """safetensors refuses shared tensors: keep each storage once and remember the aliases."""
    kept: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[int, int, tuple], str] = {}
    for name, t in state_dict.items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        if key in seen:
            aliases[name] = seen[key]
        else:
            seen[key] = name
            kept[name] = t.detach().contiguous().cpu()
    return kept, aliases


def save_run_checkpoint(run_dir: Path, step: int, *, model_state: dict | None, optimizer_state: dict,
                        rng_state: dict, trainer_state: dict, config_toml: str, rank: int = 0,
                        is_main: bool = True, keep: int = 2) -> Path:
    """Write one checkpoint folder (every rank calls this; the main rank writes the shared files)."""
    root = Path(run_dir) / CHECKPOINTS
    final = root / f"step_{step:07d}"
    partial = root / f"step_{step:07d}.partial"
    if is_main:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    _barrier()
    with atomic_open(partial / _rank_file("optimizer", rank)) as f:
        torch.save(optimizer_state, f)
    with atomic_open(partial / _rank_file("rng", rank)) as f:
        torch.save(rng_state, f)
    if is_main:
        tensors, aliases = _dedupe(model_state)
        save_file(tensors, str(partial / "model.safetensors"), metadata={"aliases": json.dumps(aliases)})
        atomic_write(partial / "trainer_state.json", json.dumps(trainer_state, indent=1))
        atomic_write(partial / "config.toml", config_toml)
    _barrier()
    if is_main:
        write_manifest(partial)  # last: every rank's files are in the folder now
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        atomic_write(root / "latest", final.name + "\n")
        done = sorted(p for p in root.glob("step_*") if p.is_dir() and not p.name.endswith(".partial"))
        for old in done[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    _barrier()
    return final


def completed_checkpoints(run_dir: Path) -> list[Path]:
    """Finished checkpoint folders, newest first."""
    root = Path(run_dir) / CHECKPOINTS
    done = [p for p in root.glob("step_*") if p.is_dir() and not p.name.endswith(".partial")]
    return sorted(done, reverse=True)


def latest_checkpoint(run_dir: Path) -> Path | None:
    root = Path(run_dir) / CHECKPOINTS
    pointer = root / "latest"
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if candidate.is_dir():
            return candidate
    done = completed_checkpoints(run_dir)
    return done[0] if done else None


def newest_good_checkpoint(run_dir: Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest checkpoint whose every file matches its manifest, and the newer ones skipped (why)."""
    skipped = []
    for ckpt in completed_checkpoints(run_dir):
        try:
            verify_checkpoint(ckpt)
            read_trainer_state(ckpt)
        except CheckpointError as e:
            skipped.append((ckpt, str(e)))
            continue
        return ckpt, skipped
    return None, skipped


def checkpoint_to_resume(run_dir: Path, say: Callable[[str], None]) -> Path | None:
    """The checkpoint to resume ``run_dir`` from: the newest that verifies (``say`` tells which newer ones
    were skipped and why), or None for a run that never saved one (it starts again from step 0).
    Raises ``CheckpointError`` when checkpoints exist and none of them verifies."""
    ckpt, skipped = newest_good_checkpoint(run_dir)
    for bad, reason in skipped:
        say(f"skipping checkpoint {bad.name}: {reason}")
    if ckpt is None:
        if skipped:
            reasons = "; ".join(reason for _, reason in skipped)
            raise CheckpointError(f"nothing to resume: no checkpoint in {run_dir} verifies ({reasons})")
        say(f"{run_dir} has no checkpoint yet; starting it from step 0")
        return None
    if skipped:
        say(f"resuming from {ckpt.name}, the newest checkpoint that verifies")
    return ckpt


TRAINER_STATE_KEYS = ("step", "tokens", "time_s", "model")


def read_trainer_state(ckpt: Path, required: tuple[str, ...] = ()) -> dict:
    try:
        state = json.loads((ckpt / "trainer_state.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {ckpt}: cannot read trainer_state.json: {e}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {ckpt}: trainer_state.json is not a JSON object")
    missing = [k for k in required if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint {ckpt}: trainer_state.json lacks {', '.join(missing)} "
                              "(written by another tool or edited by hand)")
    return state


def load_model_weights(ckpt: Path) -> dict[str, torch.Tensor]:
    path = ckpt / "model.safetensors"
    verify_checkpoint(ckpt, [path.name])
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            aliases = json.loads((f.metadata() or {}).get("aliases", "{}"))
        tensors = load_file(str(path))
    except (OSError, SafetensorError, json.JSONDecodeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {ckpt}: cannot read model.safetensors: {e}") from None
    for alias, target in aliases.items():
        tensors[alias] = tensors[target]
    return tensors


def load_rank_file(ckpt: Path, stem: str, rank: int) -> Any:
    path = ckpt / _rank_file(stem, rank)
    verify_checkpoint(ckpt, [path.name])
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"checkpoint {ckpt}: cannot read {path.name}: {type(e).__name__}: "
                              f"{str(e)[:200]}") from None
