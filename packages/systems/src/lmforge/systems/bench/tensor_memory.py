"""Live tensor bytes on any device, for CPU phase peaks (CUDA has allocator statistics; CPU does not).

A dispatch mode sees every tensor an op creates; storages are counted once (views share them) and
released when the last tensor seen on them is garbage collected. Tensors that existed before the mode
(weights, inputs) are not counted: the figure is what the phase allocates on top of them.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class LiveTensorBytes(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.refs: dict[int, list[int]] = {}  # storage data_ptr -> [nbytes, live tensors]
        self.live = 0
        self.peak = 0

    def _release(self, key: int) -> None:
        entry = self.refs.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.live -= entry[0]
            del self.refs[key]

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key == 0:
            return
        entry = self.refs.get(key)
        if entry is None:
            entry = self.refs[key] = [storage.nbytes(), 0]
            self.live += entry[0]
            self.peak = max(self.peak, self.live)
        entry[1] += 1
        weakref.finalize(t, self._release, key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for o in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(o, torch.Tensor) and not o.is_meta:
                self._track(o)
        return out

    def reset_peak(self) -> None:
        self.peak = self.live
