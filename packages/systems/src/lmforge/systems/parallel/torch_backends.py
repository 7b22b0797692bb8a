"""PyTorch's own DDP and FSDP2 as parallel backends: the references our schemes are measured against."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from .ddp import broadcast_module_state
from .seam import DistributedBackend, distributed


class TorchDDPBackend(DistributedBackend):
    """torch.nn.parallel.DistributedDataParallel (bucketed, overlapped all-reduce); its options are
    DistributedDataParallel's own, passed through."""

    def __init__(self, bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False) -> None:
        super().__init__(**({} if bucket_cap_mb is None else {"bucket_cap_mb": bucket_cap_mb}),
                         find_unused_parameters=find_unused_parameters,
                         gradient_as_bucket_view=gradient_as_bucket_view, static_graph=static_graph)

    def wrap_model(self, model: nn.Module) -> nn.Module:
        if not distributed():
            return model
        broadcast_module_state(model)  # DDP syncs state too; frozen parameters included here for certain
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, **self.options)


class TorchFSDP2Backend(DistributedBackend):
    """torch.distributed.fsdp.fully_shard (FSDP2, DTensor parameters) on chosen module types.

    Every TransformerBlock is one unit. Option: ``compute_dtype`` for MixedPrecisionPolicy(param_dtype).
    """

    def __init__(self, compute_dtype: str | None = None) -> None:
        super().__init__(compute_dtype=compute_dtype)

    def wrap_model(self, model: nn.Module) -> nn.Module:
        if not distributed():
            return model
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        from lmforge.model import TransformerBlock

        broadcast_module_state(model)
        dtype = self.options.get("compute_dtype")
        mp = MixedPrecisionPolicy(param_dtype=getattr(torch, dtype)) if dtype else MixedPrecisionPolicy()
        for mod in model.modules():
            if isinstance(mod, TransformerBlock):
                fully_shard(mod, mp_policy=mp)
        fully_shard(model, mp_policy=mp)
        return model

    def full_state_dict(self, model) -> dict:
        if not distributed():
            return model.state_dict()
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        sd = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=False))
        return {k: v.detach().clone() for k, v in sd.items()}

    sharded_checkpoints = True
    checkpoint_urls = True  # DCP through fsspec

    def _dcp_state(self, model, optimizer) -> dict:
        # DTensor shards of weights and optimizer state under the model's names (creates lazy Adam state)
        from torch.distributed.checkpoint.state_dict import get_state_dict

        model_sd, optim_sd = get_state_dict(model, optimizer)
        return {"model": model_sd, "optim": optim_sd}

    def save_checkpoint(self, directory, model, optimizer) -> None:
        from . import sharded_checkpoint as sc

        sc.save(directory, self._dcp_state(model, optimizer))

    def load_checkpoint(self, directory, model, optimizer) -> None:
        from torch.distributed.checkpoint.state_dict import set_state_dict

        from . import sharded_checkpoint as sc

        state = self._dcp_state(model, optimizer)
        sc.load(directory, state)
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])

    def teardown(self) -> None:
        if distributed():
            dist.barrier()
        super().teardown()
