"""Process-group plumbing shared by every multi-process backend, on top of the model package's seam
``lmforge.model.parallel.ParallelBackend`` (which is itself the single-process backend)."""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist
from torch import nn

from lmforge.model.parallel import ParallelBackend


def init_process_group_from_env(device: str) -> tuple[int, int, torch.device]:
    """Join the process group torchrun (or ``lmforge train --nproc``) describes in the environment.

    Returns (rank, world_size, device). Without WORLD_SIZE (or with 1) nothing is initialised.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    elif world > 1:
        use_cuda = str(device) in ("cuda", "auto") or str(device).startswith("cuda:")
        use_cuda = use_cuda and torch.cuda.is_available()
        dist.init_process_group("nccl" if use_cuda else "gloo")
        rank = dist.get_rank()
    else:
        rank = 0
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and world > 1:
        local = os.environ.get("LOCAL_RANK", rank % max(torch.cuda.device_count(), 1))
        dev = torch.device("cuda", int(local))
        torch.cuda.set_device(dev)
    return rank, world, dev


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class DistributedBackend(ParallelBackend):
    """A ParallelBackend that joins the process group in ``setup`` and averages metrics across ranks."""

    def __init__(self, **options):
        self.options = options
        self.rank = 0
        self.world_size = 1
        self.device = torch.device("cpu")

    def setup(self, device: str) -> torch.device:
        self.rank, self.world_size, self.device = init_process_group_from_env(device)
        return self.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_mean(self, value: float) -> float:
        if not distributed():
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64,
                         device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def unwrap(self, model) -> nn.Module:
        while hasattr(model, "module"):
            model = model.module
        return model

    def full_state_dict(self, model) -> dict:
        return self.unwrap(model).state_dict()

    def clip_grad_norm(self, model, max_norm: float) -> float:
        """Global gradient-norm clipping after ``after_backward`` (gradients are identical on every rank
        for the replicating backends). Sharded backends override it; the trainer calls it every step."""
        from lmforge.model import clip_grad_norm

        return clip_grad_norm(model.parameters(), max_norm)

    def no_sync(self, model):
        """The wrapper's own ``no_sync`` (our DDP family, torch's DDP); a no-op for the others."""
        wrapper_no_sync = getattr(model, "no_sync", None)
        return wrapper_no_sync() if wrapper_no_sync is not None else contextlib.nullcontext()

    def after_backward(self, model) -> None:
        sync = getattr(model, "finish_gradient_synchronization", None)
        if sync is not None:
            sync()

    def teardown(self) -> None:
        if distributed():
            dist.barrier()
            dist.destroy_process_group()
