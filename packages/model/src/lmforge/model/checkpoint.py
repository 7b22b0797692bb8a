"""Checkpoints.

``save_checkpoint`` / ``load_checkpoint`` are the small CS336-style pair: model, optimizer and
iteration in one ``torch.save`` file (path or binary file object), loaded with ``weights_only=True``
so a checkpoint can never run code. Run checkpoints (a folder per step, with safetensors weights and
RNG state) are in ``run_checkpoint.py``.
"""

from __future__ import annotations

import os
from typing import IO

import torch

from lmforge.core import LmforgeError


class CheckpointError(LmforgeError):
    """A checkpoint that cannot be read, or does not fit the model it is loaded into."""


def save_checkpoint(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None, iteration: int,
                    out: str | os.PathLike | IO[bytes]) -> None:
    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "iteration": int(iteration),
    }
    torch.save(payload, out)


def load_checkpoint(src: str | os.PathLike | IO[bytes], model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None) -> int:
    """Restore ``model`` (and ``optimizer``) from ``src``; return the saved iteration."""
    name = getattr(src, "name", src)
    try:
        payload = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated file, not a torch file, or an object weights_only refuses
        raise CheckpointError(f"cannot read checkpoint {name}: {type(e).__name__}: {str(e)[:200]}") from e
    if not isinstance(payload, dict) or not {"model", "iteration"} <= set(payload):
        raise CheckpointError(f"{name} is not an lmforge checkpoint (needs 'model' and 'iteration')")
    load_state_dict_checked(model, payload["model"], str(name))
    if optimizer is not None:
        if payload.get("optimizer") is None:
            raise CheckpointError(f"{name} holds no optimizer state")
        try:
            optimizer.load_state_dict(payload["optimizer"])
        except (ValueError, KeyError, RuntimeError) as e:
            raise CheckpointError(f"{name}: optimizer state does not fit this optimizer: {e}") from e
    return int(payload["iteration"])


def load_state_dict_checked(model: torch.nn.Module, state: dict, where: str) -> None:
    """``load_state_dict`` with an error that names the first missing/unexpected/misshapen tensor."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
            parts.append(f"missing {missing[0]!r}{more}")
        if unexpected:
            parts.append(f"unexpected {unexpected[0]!r}")
        if shapes:
            k = shapes[0]
            parts.append(f"{k!r} has shape {tuple(state[k].shape)}, model wants {tuple(own[k].shape)}")
        raise CheckpointError(f"checkpoint {where} does not fit this model: " + "; ".join(parts))
    model.load_state_dict(state)
