"""Checkpoints of an align run: policy weights, optimizer state, RNG state and the step reached.

Only the newest checkpoint is kept (``checkpoints/latest``); it is written to a fresh folder and
renamed into place, so a crash mid-write leaves the previous one intact.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import torch

from lmforge.core import atomic_open, atomic_write

from .policy import Policy, save_policy


def save_checkpoint(
    run_dir: Path, policy: Policy, optimizer, step: int, elapsed_s: float, extra: dict | None = None
):
    root = run_dir / "checkpoints"
    tmp = root / f".step_{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_policy(policy, tmp, merge=False)  # adapters kept apart from the base weights
    with atomic_open(tmp / "optimizer.pt", "wb") as f:
        torch.save(optimizer.state_dict(), f)
    with atomic_open(tmp / "rng.pt", "wb") as f:
        torch.save({"torch": torch.get_rng_state(), "python": random.getstate()}, f)
    atomic_write(tmp / "state.json", json.dumps({"step": step, "elapsed_s": elapsed_s, **(extra or {})}))
    latest = root / "latest"
    old = root / ".old"
    shutil.rmtree(old, ignore_errors=True)
    if latest.exists():
        latest.rename(old)
    tmp.rename(latest)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(run_dir: Path, policy: Policy, optimizer) -> dict:
    """Restore weights, optimizer and RNG in place; returns state.json (``step``, ``elapsed_s``, ...)."""
    root = Path(run_dir) / "checkpoints"
    latest = root / "latest"
    if not (latest / "state.json").exists():
        # a crash between save_checkpoint's two renames leaves the previous checkpoint as .old
        latest = root / ".old"
    if not (latest / "state.json").exists():
        return {"step": 0, "elapsed_s": 0.0}
    if policy.source == "hf":
        from transformers import AutoModelForCausalLM

        loaded = AutoModelForCausalLM.from_pretrained(latest, torch_dtype=torch.float32)
        policy.model.load_state_dict(loaded.state_dict())
    else:
        from safetensors.torch import load_file

        policy.model.load_state_dict(load_file(latest / "model.safetensors"))
    optimizer.load_state_dict(torch.load(latest / "optimizer.pt", weights_only=True))
    rng = torch.load(latest / "rng.pt", weights_only=True)
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    return json.loads((latest / "state.json").read_text())
