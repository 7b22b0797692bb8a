"""Sharded checkpoints through torch.distributed.checkpoint (DCP): each rank writes only what it holds.

A backend describes its state as a flat dict of tensors (``checkpoint_state``): replicated tensors
appear on every rank under the same key (DCP writes them once), sharded ones as DTensors over a 1-D
mesh, so DCP knows each shard's offset in the full tensor and can load into another world size's
shards. Nothing is gathered: saving moves no weights between ranks. Keys: ``model.<name>`` and
``optim.<name>.<state key>`` under the model's own parameter names.

Loading creates the optimizer's lazy state first (one zero-learning-rate step on zero gradients, which
changes no weight), then DCP reads every tensor in place into the live model and optimizer.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp

from .seam import distributed


def flat_dtensor(local_full_view: torch.Tensor, numel: int):
    """This rank's slice of a flattened tensor of ``numel`` elements, cut as torch.chunk cuts it (our
    FSDP's layout minus the padding), as a DTensor DCP can place; a plain tensor in one process."""
    if not distributed():
        return local_full_view
    from torch.distributed.tensor import DTensor, Shard, init_device_mesh

    world, rank = dist.get_world_size(), dist.get_rank()
    mesh = init_device_mesh(local_full_view.device.type, (world,))
    shard = -(-numel // world)
    valid = max(0, min(shard, numel - rank * shard))
    return DTensor.from_local(local_full_view[:valid], mesh, [Shard(0)], run_check=False,
                              shape=torch.Size([numel]), stride=(1,))


@torch.no_grad()
def init_optimizer_state(optimizer, params: list[torch.nn.Parameter]) -> None:
    """Create lazily built optimizer state (Adam's moments) so that DCP can load into it in place."""
    params = [p for p in params if p.requires_grad]  # frozen ones get no state
    saved = [(p, p.grad) for p in params]
    for p in params:
        p.grad = torch.zeros_like(p)
    lrs = [g["lr"] for g in optimizer.param_groups]
    for g in optimizer.param_groups:
        g["lr"] = 0.0
    optimizer.step()
    for g, lr in zip(optimizer.param_groups, lrs):
        g["lr"] = lr
    for p, grad in saved:
        p.grad = grad


def save(directory: str | Path, state: dict) -> None:
    dcp.save(state, checkpoint_id=str(directory))


def load(directory: str | Path, state: dict) -> None:
    dcp.load(state, checkpoint_id=str(directory))


def _read_whole(directory: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor of a sharded checkpoint, whole, under ``model.<name>`` keys: DCP's format, or
    DeepSpeed's native one (a folder with a ``latest`` tag file), read by DeepSpeed's zero_to_fp32."""
    if Path(directory, "latest").is_file():
        import contextlib
        import sys

        from .deepspeed_backend import DeepSpeedBackend

        with contextlib.redirect_stdout(sys.stderr):  # zero_to_fp32 prints its progress
            state = DeepSpeedBackend.checkpoint_to_state_dict(str(directory))
        return {f"model.{k}": v for k, v in state.items()}
    import tempfile

    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    with tempfile.TemporaryDirectory() as tmp:  # one process reads every shard of every tensor
        dcp_to_torch_save(str(directory), f"{tmp}/full.pt")
        stored = torch.load(f"{tmp}/full.pt", map_location="cpu", weights_only=True)
    return _flatten_keys(stored)


def consolidate(directory: str | Path, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The full weights of a sharded checkpoint as ``model``'s state dict (one process, no process
    group; ``model`` may live on the meta device: only its names, shapes and ties are used). Every
    ``model.*`` tensor is read whole, flattened ones are reshaped, tied names share the stored tensor."""
    stored = _read_whole(directory)
    persistent = set(model.state_dict())  # not the non-persistent buffers (RoPE tables)
    named = list(model.named_parameters(remove_duplicate=False)) + list(model.named_buffers())
    full, first_name = {}, {}
    for name, t in named:
        if name not in persistent:
            continue
        if id(t) in first_name:  # a tied alias: one tensor, whether the backend stored it once or twice
            full[name] = full[first_name[id(t)]]
            continue
        if f"model.{name}" not in stored:
            raise KeyError(f"sharded checkpoint {directory} has no tensor for {name}")
        full[name] = stored[f"model.{name}"].reshape(t.shape)
        first_name.setdefault(id(t), name)
    return {name: full[name] for name in model.state_dict()}


def _flatten_keys(tree: dict, prefix: str = "") -> dict:
    """DCP hands nested dicts (torch_fsdp2's {"model": {...}}) back nested: flatten to dotted keys."""
    out = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten_keys(v, key + "."))
        else:
            out[key] = v
    return out


def consolidate_run_checkpoint(step_dir: str | Path) -> Path:
    """Write ``model.safetensors`` (full weights) into a trainer checkpoint folder whose weights are
    sharded, so that everything reading full checkpoints (export-hf, generation) can use it."""
    import json

    from safetensors.torch import save_file

    from lmforge.model import ModelConfig, TransformerLM
    from lmforge.model.checkpoint_manifest import write_manifest
    from lmforge.model.run_checkpoint import _dedupe

    step_dir = Path(step_dir)
    state = json.loads((step_dir / "trainer_state.json").read_text())
    if not state.get("sharded"):
        raise ValueError(f"{step_dir} already holds full weights (not a sharded checkpoint)")
    with torch.device("meta"):
        model = TransformerLM.from_config(ModelConfig(**state["model"]))
    full = consolidate(step_dir.parent / state["sharded"], model)
    tensors, aliases = _dedupe(full)
    out = step_dir / "model.safetensors"
    save_file(tensors, str(out), metadata={"aliases": json.dumps(aliases)})
    write_manifest(step_dir)  # the folder's checksums now cover the full weights too
    return out
