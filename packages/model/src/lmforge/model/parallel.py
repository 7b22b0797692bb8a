"""The parallel-backend seam (part kind ``parallel_backend``).

``ParallelBackend`` is both the interface and the ``single`` backend: one process, one device, no
synchronisation. Multi-process backends (DDP, ZeRO, FSDP, DeepSpeed in lmforge-systems) subclass it;
the trainer only ever talks to this interface, in this order::

    device = backend.setup(cfg.device)
    model = backend.wrap_model(model)
    backend.grad_accum = micro-batches per step; optimizer = backend.make_optimizer(model, optimizer_factory)
    loop: forward, backend.backward(model, loss) per micro-batch (all but the last inside
          backend.no_sync(model));
          backend.after_backward(model); clip; optimizer.step()
    backend.all_reduce_mean(loss) for logging; backend.is_main decides who logs and checkpoints
    checkpoints: backend.full_state_dict(model) (full weights), or where backend.sharded_checkpoints,
    backend.save_checkpoint / load_checkpoint (each rank its shards, through DCP; at a URL where
    backend.checkpoint_urls); backend.teardown()
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from .optim import clip_grad_norm


class ParallelBackend:
    """Single-process training (the ``single`` part); the base class of every backend."""

    rank: int = 0
    world_size: int = 1
    # True: checkpoints go through save_checkpoint/load_checkpoint (each rank writes its shards; loadable
    # at another world size) instead of full weights from full_state_dict plus per-rank optimizer files
    sharded_checkpoints: bool = False
    # True: save_checkpoint/load_checkpoint also take an fsspec URL (s3://, gs://, file://), so the trainer
    # may put the shards on object storage (train.checkpoint_shards_url)
    checkpoint_urls: bool = False
    # micro-batches per optimizer step, set by the trainer before make_optimizer (DeepSpeed accumulates
    # itself and must know it when its engine is built)
    grad_accum: int = 1

    def __init__(self) -> None:
        """A backend's options are its keyword arguments (``parallel = {name = ..., <options>}``): an
        explicit signature lets the config check them before anything is built."""

    def setup(self, device: str) -> torch.device:
        """Pick the device (``auto``: CUDA when present); multi-process backends init the process group."""
        from .data import check_device

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dev = check_device(device)
        if dev.type == "cuda" and dev.index is not None:
            torch.cuda.set_device(dev)
        return dev

    def wrap_model(self, model: nn.Module) -> nn.Module:
        return model

    def make_optimizer(self, model: nn.Module,
                       optimizer_factory: Callable[..., torch.optim.Optimizer]) -> torch.optim.Optimizer:
        """``optimizer_factory(params)`` builds the optimizer; ZeRO-style backends shard around it."""
        return optimizer_factory(list(model.parameters()))

    def backward(self, model: nn.Module, loss: torch.Tensor) -> None:
        """Backward of one micro-batch's mean loss, scaled so that the step's gradient is the mean over
        its ``grad_accum`` micro-batches (DeepSpeed's engine does the scaling itself)."""
        (loss / self.grad_accum).backward()

    def no_sync(self, model: nn.Module) -> contextlib.AbstractContextManager:
        """Entered around forward and backward of every gradient-accumulation micro-step but the last:
        backends that communicate during backward (DDP's hooks) skip it there and let gradients sum."""
        return contextlib.nullcontext()

    def after_backward(self, model: nn.Module) -> None:
        """Synchronise gradients (after the last micro-batch's backward, before clipping and the step)."""

    def clip_grad_norm(self, model: nn.Module, max_norm: float) -> float:
        """Clip by the global gradient norm and return it (after ``after_backward``). Backends whose
        ranks hold only shards of the gradients override this to reduce the norm across ranks."""
        return clip_grad_norm(model.parameters(), max_norm)

    @property
    def is_main(self) -> bool:
        """This rank logs, shows progress and writes the shared checkpoint files."""
        return self.rank == 0

    def all_reduce_mean(self, value: float) -> float:
        return float(value)

    def unwrap(self, model: nn.Module) -> nn.Module:
        return getattr(model, "_orig_mod", model)  # torch.compile's wrapper

    def full_state_dict(self, model: nn.Module) -> dict:
        """Full weights under the original (unwrapped) names, on every rank that returns them."""
        return self.unwrap(model).state_dict()

    def save_checkpoint(self, directory, model: nn.Module, optimizer) -> None:
        """Sharded backends: every rank writes its part of model and optimizer state to ``directory``."""
        raise NotImplementedError(f"{type(self).__name__} writes full checkpoints "
                                  "(sharded_checkpoints=False)")

    def load_checkpoint(self, directory, model: nn.Module, optimizer) -> None:
        """Sharded backends: load ``save_checkpoint``'s folder into the wrapped model and its optimizer."""
        raise NotImplementedError(f"{type(self).__name__} reads full checkpoints "
                                  "(sharded_checkpoints=False)")

    def teardown(self) -> None:
        """Release process groups and other resources."""
