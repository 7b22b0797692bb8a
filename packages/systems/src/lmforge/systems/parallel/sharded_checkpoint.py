"""Sharded checkpoints through torch.distributed.checkpoint (DCP): each rank writes only what it holds.

A backend describes its state as a flat dict of tensors (``checkpoint_state``): replicated tensors
appear on every rank under the same key (DCP writes them once), sharded ones as DTensors over a 1-D
mesh, so DCP knows each shard's offset in the full tensor and can load into another world size's
shards. Nothing is gathered: saving moves no weights between ranks. Keys: ``model.<name>`` and
``optim.<name>.<state key>`` under the model's own parameter names.

Loading creates the optimizer's lazy state first (one zero-learning-rate step on zero gradients, which
changes no weight), then DCP reads every tensor in place into the live model and optimizer.

A location may be a URL (``s3://bucket/run/shards_0000100``, ``file:///shared/...``): DCP's fsspec
storage writer and reader then stream each rank's shard file to and from object storage, so the ranks
need no shared filesystem for their shards (s3 needs ``s3fs`` installed, gs ``gcsfs``).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp

from lmforge.model.shard_storage import is_url  # s3://, gs://, file://: through fsspec

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


def _writer(location: str | Path):
    if is_url(location):  # object storage: every rank streams its shard file there, no shared filesystem
        from torch.distributed.checkpoint._fsspec_filesystem import FsspecWriter

        return FsspecWriter(str(location))
    return dcp.FileSystemWriter(str(location))


def _reader(location: str | Path):
    if is_url(location):
        from torch.distributed.checkpoint._fsspec_filesystem import FsspecReader

        return FsspecReader(str(location))
    return dcp.FileSystemReader(str(location))


def save(location: str | Path, state: dict) -> None:
    """Each rank writes its shards to ``location``: a local folder, or a URL (fsspec)."""
    dcp.save(state, storage_writer=_writer(location))


def load(location: str | Path, state: dict) -> None:
    dcp.load(state, storage_reader=_reader(location))


def _read_whole(directory: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor of a sharded checkpoint, whole, under ``model.<name>`` keys: DCP's format (a folder
    or a URL), or
    DeepSpeed's native one (a folder with a ``latest`` tag file), read by DeepSpeed's zero_to_fp32."""
    if not is_url(directory) and Path(directory, "latest").is_file():
        import contextlib
        import sys

        from .deepspeed_backend import DeepSpeedBackend

        with contextlib.redirect_stdout(sys.stderr):  # zero_to_fp32 prints its progress
            state = DeepSpeedBackend.checkpoint_to_state_dict(str(directory))
        return {f"model.{k}": v for k, v in state.items()}
    from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

    # every tensor whole, as DCP's dcp_to_torch_save reads them, but from a folder or a URL (dcp.load
    # would only fill keys already present)
    stored = {}
    _load_state_dict(stored, storage_reader=_reader(directory), planner=_EmptyStateDictLoadPlanner(),
                     no_dist=True)
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
    from lmforge.model.checkpoint_manifest import verify_checkpoint, write_manifest
    from lmforge.model.run_checkpoint import _dedupe
    from lmforge.model.shard_storage import shard_location, verify_shards

    step_dir = Path(step_dir)
    verify_checkpoint(step_dir, ["trainer_state.json"])  # the shards' checksums are only as good as it
    state = json.loads((step_dir / "trainer_state.json").read_text())
    if not state.get("sharded"):
        raise ValueError(f"{step_dir} already holds full weights (not a sharded checkpoint)")
    shards = shard_location(step_dir, state)  # beside the step folder, or at its shard URL
    verify_shards(shards, state["shard_files"])  # a corrupt shard would consolidate to wrong weights
    with torch.device("meta"):
        model = TransformerLM.from_config(ModelConfig(**state["model"]))
    full = consolidate(shards, model)
    tensors, aliases = _dedupe(full)
    out = step_dir / "model.safetensors"
    save_file(tensors, str(out), metadata={"aliases": json.dumps(aliases)})
    write_manifest(step_dir)  # the folder's checksums now cover the full weights too
    return out
