"""Named ranges around attention, FFN, norms and the optimizer step, and a mixed-precision op report.

Ranges are ``torch.profiler.record_function`` (visible in profiler tables and Chrome traces) plus NVTX
on CUDA (visible in Nsight Systems).
"""

from __future__ import annotations

import contextlib
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode


@contextlib.contextmanager
def named_range(name: str):
    nvtx = torch.cuda.is_available()
    if nvtx:
        torch.cuda.nvtx.range_push(name)
    try:
        with torch.profiler.record_function(name):
            yield
    finally:
        if nvtx:
            torch.cuda.nvtx.range_pop()


def module_kind(module) -> str | None:
    name = type(module).__name__.lower()
    if "attention" in name:
        return "attention"
    if name in ("swiglu", "silumlp") or "ffn" in name or "mlp" in name:
        return "ffn"
    if "norm" in name:
        return "norm"
    return None


def add_module_ranges(model: torch.nn.Module) -> list:
    """Wrap each attention / FFN / norm module's forward in a named range; returns the hook handles."""
    handles = []
    for name, mod in model.named_modules():
        kind = module_kind(mod)
        if kind is None:
            continue
        label = f"{kind}:{name}"

        def pre(m, args, label=label):
            m._lmforge_range = named_range(label)
            m._lmforge_range.__enter__()

        def post(m, args, out):
            m._lmforge_range.__exit__(None, None, None)
            return out

        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    return handles


class DtypeReport(TorchDispatchMode):
    """Counts (aten op, output dtype) for everything run under it: which ops ran in which precision."""

    def __init__(self):
        super().__init__()
        self.counts: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else [out]
        for o in outs:
            if isinstance(o, torch.Tensor):
                self.counts[(str(func.overloadpacket.__name__), str(o.dtype).replace("torch.", ""))] += 1
        return out

    def rows(self) -> list[dict]:
        return [{"op": op, "dtype": dt, "calls": n} for (op, dt), n in sorted(self.counts.items())]
