"""Our data-parallel schemes as ``parallel_backend`` parts (subclasses of the model's ParallelBackend).

The trainer calls, in order: ``setup`` (joins the torchrun process group), ``wrap_model``,
``make_optimizer``, then per step backward, ``after_backward`` (gradient sync), clipping,
``optimizer.step()``; ``full_state_dict`` for checkpoints, ``teardown`` at the end.
"""

from __future__ import annotations

import torch
from torch import nn

from .ddp import BucketedDDP, FlatDDP, NaiveDDP, OverlapDDP
from .seam import DistributedBackend


class DDPBackend(DistributedBackend):
    """Wraps the model in one of our DDP wrappers (chosen by the subclass)."""

    wrapper: type[nn.Module] = NaiveDDP

    def __init__(self) -> None:  # no options (bucketed DDP has one)
        super().__init__()

    def wrap_model(self, model: nn.Module) -> nn.Module:
        return self.wrapper(model, **self.options)


class NaiveDDPBackend(DDPBackend):
    """DDP: all-reduce each gradient after backward."""

    wrapper = NaiveDDP


class FlatDDPBackend(DDPBackend):
    """DDP: one all-reduce of all gradients, flattened."""

    wrapper = FlatDDP


class OverlapDDPBackend(DDPBackend):
    """DDP: async all-reduce per gradient from post-accumulate-grad hooks (overlaps backward)."""

    wrapper = OverlapDDP


class BucketedDDPBackend(DDPBackend):
    """DDP: async all-reduce of gradient buckets (``bucket_size_mb``, reverse order)."""

    wrapper = BucketedDDP

    def __init__(self, bucket_size_mb: float = 25.0) -> None:
        DistributedBackend.__init__(self, bucket_size_mb=bucket_size_mb)


def optimizer_class_and_kwargs(optimizer_factory, params):
    """Recover (class, hyperparameters) from a factory, for wrappers that build optimizers themselves.

    The probe optimizer is thrown away; optimizers create their state lazily, so it costs nothing.
    """
    probe = optimizer_factory(params)
    return type(probe), dict(probe.defaults)


class Zero1Backend(NaiveDDPBackend):
    """ZeRO-1: DDP gradients, optimizer state sharded across ranks (ShardedOptimizer).

    Sharded checkpoints (DCP): weights are replicated (written once); each rank writes the Adam state
    of the parameters it owns, and on loading reads those it owns under the new world size."""

    sharded_checkpoints = True
    checkpoint_urls = True  # DCP through fsspec

    def checkpoint_state(self, model, optimizer) -> dict:
        names = {id(p): n for n, p in self.unwrap(model).named_parameters()}
        state = {f"model.{k}": v for k, v in self.unwrap(model).state_dict().items()}
        if optimizer.local is not None:
            for p, s in optimizer.local.state.items():
                state.update({f"optim.{names[id(p)]}.{k}": v for k, v in s.items()})
        return state

    def save_checkpoint(self, directory, model, optimizer) -> None:
        from . import sharded_checkpoint as sc

        sc.save(directory, self.checkpoint_state(model, optimizer))

    def load_checkpoint(self, directory, model, optimizer) -> None:
        from . import sharded_checkpoint as sc

        sc.init_optimizer_state(optimizer, [p for g in optimizer.param_groups for p in g["params"]])
        sc.load(directory, self.checkpoint_state(model, optimizer))

    def make_optimizer(self, model, optimizer_factory):
        from .zero1 import ShardedOptimizer

        params = [p for p in model.parameters() if p.requires_grad]
        cls, kwargs = optimizer_class_and_kwargs(optimizer_factory, params)
        return ShardedOptimizer(params, cls, **kwargs)


class FSDPBackend(DistributedBackend):
    """Our FSDP: shard Linear/Embedding weights, all-gather with prefetch, reduce-scatter gradients.

    Options: ``compute_dtype`` ("float32" / "bfloat16"), ``shard_types`` (list of "module:Class" names),
    ``backward_prefetch`` (default true).
    """

    def __init__(self, compute_dtype: str | None = None, shard_types: list[str] | None = None,
                 backward_prefetch: bool = True) -> None:
        super().__init__(compute_dtype=compute_dtype, shard_types=shard_types,
                         backward_prefetch=backward_prefetch)

    def wrap_model(self, model):
        from .fsdp import FullyShardedDataParallel

        dtype = self.options.get("compute_dtype")
        types = self.options.get("shard_types")
        if types is not None:
            import importlib

            types = tuple(getattr(importlib.import_module(t.split(":")[0]), t.split(":")[1]) for t in types)
        return FullyShardedDataParallel(model, shard_types=types,
                                        compute_dtype=getattr(torch, dtype) if dtype else None,
                                        backward_prefetch=self.options.get("backward_prefetch", True))

    def full_state_dict(self, model) -> dict:
        """Collective: the trainer calls it on every rank (each gets the full weights)."""
        return model.gather_full_params()

    def clip_grad_norm(self, model, max_norm: float) -> float:
        """The norm over the whole model: shards' squared norms summed across ranks, replicated once."""
        return model.clip_grad_norm(max_norm)

    sharded_checkpoints = True
    checkpoint_urls = True  # DCP through fsspec

    def checkpoint_state(self, model, optimizer) -> dict:
        """Sharded weights and their Adam state as 1-D DTensors of the flattened full tensors (each rank
        its own slice, no gather); replicated parameters as plain tensors."""
        from .sharded_checkpoint import flat_dtensor

        state, name_of = {}, {}
        for name, fs in model.name_to_flat.items():
            if id(fs.shard) in name_of:  # a tied alias: stored once, under its first name
                continue
            name_of[id(fs.shard)] = name
            state[f"model.{name}"] = flat_dtensor(fs.shard.data, fs.numel)
            for k, v in optimizer.state.get(fs.shard, {}).items():
                state[f"optim.{name}.{k}"] = flat_dtensor(v, fs.numel) if v.dim() else v
        for name, p in model.module.named_parameters():
            state[f"model.{name}"] = p.data
            for k, v in optimizer.state.get(p, {}).items():
                state[f"optim.{name}.{k}"] = v
        persistent = set(model.module.state_dict())
        for name, b in model.module.named_buffers():
            if name in persistent:
                state[f"model.{name}"] = b
        return state

    def save_checkpoint(self, directory, model, optimizer) -> None:
        from . import sharded_checkpoint as sc

        sc.save(directory, self.checkpoint_state(model, optimizer))

    def load_checkpoint(self, directory, model, optimizer) -> None:
        from . import sharded_checkpoint as sc

        sc.init_optimizer_state(optimizer, [p for g in optimizer.param_groups for p in g["params"]])
        sc.load(directory, self.checkpoint_state(model, optimizer))
