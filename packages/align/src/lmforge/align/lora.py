"""Low-rank adapters (LoRA, Hu et al. 2021, arXiv:2106.09685) on a policy's linear layers.

``W x`` becomes ``W x + (alpha / rank) B A x`` with ``W`` frozen, ``A`` (rank, in) random and ``B``
(out, rank) zero, so a fresh adapter changes nothing and only ``A`` and ``B`` learn. The wrapped
layer keeps ``weight`` (and ``bias``) under the same names, so a checkpoint of a LoRA policy is the
base state dict plus ``lora_A`` / ``lora_B`` entries. With the adapters switched off the model is the
starting policy: the GRPO / DPO reference costs no second copy. ``merged_copy`` folds the adapters
into plain layers for export and for rollout engines that serve HF weights.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class LoRALinear(nn.Module):
    """A linear layer (lmforge ``Linear`` or ``nn.Linear``) with a low-rank update beside it."""

    def __init__(self, base: nn.Module, rank: int, alpha: float) -> None:
        super().__init__()
        if rank <= 0:
            raise ValueError(f"LoRA rank must be positive, got {rank}")
        out_features, in_features = base.weight.shape
        self.weight = base.weight
        self.bias = getattr(base, "bias", None)
        self.weight.requires_grad_(False)
        if self.bias is not None:
            self.bias.requires_grad_(False)
        dev, dt = base.weight.device, base.weight.dtype
        self.lora_A = nn.Parameter(torch.empty(rank, in_features, device=dev, dtype=dt))
        self.lora_B = nn.Parameter(torch.zeros(out_features, rank, device=dev, dtype=dt))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear initialises its weight
        self.scale = alpha / rank
        self.enabled = True
        object.__setattr__(self, "_base", base)  # not a submodule: the original layer, for merging

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        if self.enabled:
            out = out + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale
        return out

    def merged_base(self) -> nn.Module:
        """The original layer with ``W + scale B A`` as its weight."""
        with torch.no_grad():
            self._base.weight.copy_(self.weight + self.scale * (self.lora_B @ self.lora_A))
        self._base.weight.requires_grad_(True)
        return self._base

    def extra_repr(self) -> str:
        return f"rank={self.lora_A.shape[0]}, scale={self.scale}"


def _matches(name: str, targets: list[str]) -> bool:
    return name.rsplit(".", 1)[-1] in targets


def apply_lora(model: nn.Module, rank: int, alpha: float, targets: list[str]) -> list[str]:
    """Wrap every linear layer whose attribute name is in ``targets``; freeze everything else.

    Returns the wrapped layers' names. Fails when a target matches nothing (a typo would otherwise
    train nothing silently).
    """
    wrapped = []
    for name, module in list(model.named_modules()):
        if _matches(name, targets) and isinstance(getattr(module, "weight", None), torch.Tensor):
            if module.weight.dim() != 2:
                raise ValueError(f"LoRA target {name} is not a linear layer")
            parent_name, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent_name), attr, LoRALinear(module, rank, alpha))
            wrapped.append(name)
    if not wrapped:
        raise ValueError(f"no module named any of {targets} in the policy")
    found = {w.rsplit(".", 1)[-1] for w in wrapped}
    if set(targets) - found:
        raise ValueError(f"LoRA targets {sorted(set(targets) - found)} match no linear layer")
    for name, p in model.named_parameters():
        p.requires_grad_(".lora_" in f".{name}")
    return wrapped


def lora_layers(model: nn.Module) -> Iterator[LoRALinear]:
    return (m for m in model.modules() if isinstance(m, LoRALinear))


def has_lora(model: nn.Module) -> bool:
    return any(True for _ in lora_layers(model))


@contextmanager
def adapters_disabled(model: nn.Module):
    """The base policy (the reference model) for the duration of the block."""
    layers = list(lora_layers(model))
    for m in layers:
        m.enabled = False
    try:
        yield model
    finally:
        for m in layers:
            m.enabled = True


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its layer, in place: the model's classes and names are the original."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            parent_name, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent_name), attr, module.merged_base())
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def merged_copy(model: nn.Module) -> nn.Module:
    """A plain copy of ``model`` with the adapters folded in (``model`` itself when it has none)."""
    return merge_lora(copy.deepcopy(model)) if has_lora(model) else model


class AdaptersOff:
    """The base model of a LoRA policy, callable like a model: the reference at no memory cost."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, *args, **kwargs):
        with adapters_disabled(self.model):
            return self.model(*args, **kwargs)

    def parameters(self):
        return self.model.parameters()


def frozen_reference(model: nn.Module):
    """The starting policy, frozen: the policy with its adapters off, or a copy of a full policy."""
    if has_lora(model):
        return AdaptersOff(model)
    return copy.deepcopy(model).eval().requires_grad_(False)
