"""ZeRO stage 1: optimizer state sharded across ranks.

``ShardedOptimizer(params, optimizer_cls, **kwargs)`` is itself a ``torch.optim.Optimizer`` holding every
parameter group (so schedulers and trainers that set ``param_groups[i]["lr"]`` work unchanged), but it
builds the wrapped optimizer over this rank's parameters only: each parameter belongs to the rank with the
fewest elements so far (greedy balancing, identical on every rank). ``step`` updates the local shard and
then broadcasts every parameter from its owner, so after a step all ranks hold the same weights while each
keeps the optimizer state (Adam's m and v) for about 1/world of them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from .seam import distributed


class ShardedOptimizer(torch.optim.Optimizer):
    def __init__(self, params, optimizer_cls: type[torch.optim.Optimizer], **kwargs: Any):
        self.optimizer_cls = optimizer_cls
        self.optimizer_kwargs = kwargs
        self.world_size = dist.get_world_size() if distributed() else 1
        self.rank = dist.get_rank() if distributed() else 0
        self.owner: dict[int, int] = {}
        self.load = [0] * self.world_size
        self.local: torch.optim.Optimizer | None = None
        self.local_group_of: list[int | None] = []  # wrapper group index -> local group index
        super().__init__(params, defaults=kwargs)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        mine = []
        for p in group["params"]:
            if id(p) in self.owner:
                continue
            r = min(range(self.world_size), key=lambda i: self.load[i])
            self.owner[id(p)] = r
            self.load[r] += p.numel()
            if r == self.rank:
                mine.append(p)
        if not mine:
            self.local_group_of.append(None)
            return
        local_group = {k: v for k, v in group.items() if k != "params"}
        local_group["params"] = mine
        if self.local is None:
            self.local = self.optimizer_cls([local_group], **self.optimizer_kwargs)
        else:
            self.local.add_param_group(local_group)
        self.local_group_of.append(len(self.local.param_groups) - 1)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.local is not None:
            # hyperparameters (lr from a schedule, ...) are set on the wrapper's groups
            for group, j in zip(self.param_groups, self.local_group_of):
                if j is not None:
                    self.local.param_groups[j].update({k: v for k, v in group.items() if k != "params"})
            self.local.step()
        if self.world_size > 1:
            for group in self.param_groups:
                for p in group["params"]:
                    dist.broadcast(p.data, src=self.owner[id(p)])
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none=set_to_none)

    def local_state_bytes(self) -> int:
        """Bytes of optimizer state this rank holds (for memory reports)."""
        if self.local is None:
            return 0
        return sum(t.numel() * t.element_size() for s in self.local.state.values()
                   for t in s.values() if torch.is_tensor(t))

    def state_dict(self):
        """This rank's shard of the state (each rank saves its own; parameters are replicated)."""
        return {"rank": self.rank, "world_size": self.world_size,
                "local": None if self.local is None else self.local.state_dict(),
                "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]}

    def load_state_dict(self, state_dict) -> None:
        if state_dict.get("world_size") != self.world_size or state_dict.get("rank") != self.rank:
            raise ValueError("ShardedOptimizer state was saved with another rank/world size")
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update(saved)
        if self.local is not None and state_dict["local"] is not None:
            self.local.load_state_dict(state_dict["local"])
