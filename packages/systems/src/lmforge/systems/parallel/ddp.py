"""Four data-parallel wrappers, from the naive one to bucketed overlap.

Each broadcasts every parameter and buffer from rank 0 when built (frozen ones too, so ranks start
identical), syncs each *distinct* trainable parameter once (tied weights appear once in
``parameters()``), and averages gradients. The trainer calls ``finish_gradient_synchronization()`` after
backward and before the optimizer step. ``no_sync()`` skips communication for gradient-accumulation
micro-steps (the hook-based wrappers would otherwise reduce partial sums).
"""

from __future__ import annotations

import contextlib

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from .seam import distributed


def broadcast_module_state(module: nn.Module, src: int = 0) -> None:
    if not distributed():
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=src)


class _DataParallel(nn.Module):
    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module
        broadcast_module_state(module)
        self.world_size = dist.get_world_size() if distributed() else 1
        self.trainable = [p for p in module.parameters() if p.requires_grad]
        self.sync_enabled = True

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        previous, self.sync_enabled = self.sync_enabled, False
        try:
            yield
        finally:
            self.sync_enabled = previous

    def finish_gradient_synchronization(self) -> None:
        raise NotImplementedError


class NaiveDDP(_DataParallel):
    """All-reduce every parameter's gradient, one collective each, after backward."""

    def finish_gradient_synchronization(self) -> None:
        if self.world_size == 1:
            return
        for p in self.trainable:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad.div_(self.world_size)


class FlatDDP(_DataParallel):
    """One all-reduce of every gradient flattened into a single buffer."""

    def finish_gradient_synchronization(self) -> None:
        if self.world_size == 1:
            return
        grads = [p.grad for p in self.trainable if p.grad is not None]
        if not grads:
            return
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat.div_(self.world_size)
        for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
            g.copy_(synced)


def _add_grad(p: torch.Tensor, g: torch.Tensor) -> None:
    if p.grad is None:
        p.grad = g
    else:
        p.grad.add_(g)


class OverlapDDP(_DataParallel):
    """Asynchronous all-reduce of each gradient as soon as autograd has accumulated it.

    The hook hands the gradient tensor to the collective and sets ``p.grad = None``, so a later
    micro-batch (gradient accumulation) writes a fresh tensor instead of racing the in-flight reduce;
    ``finish_gradient_synchronization`` sums what came back.
    """

    def __init__(self, module: nn.Module):
        super().__init__(module)
        self.pending: list[tuple[dist.Work, nn.Parameter, torch.Tensor]] = []
        if self.world_size > 1:
            for p in self.trainable:
                p.register_post_accumulate_grad_hook(self._on_grad_ready)

    def _on_grad_ready(self, p: nn.Parameter) -> None:
        if self.sync_enabled:
            grad = p.grad
            self.pending.append((dist.all_reduce(grad, async_op=True), p, grad))
            p.grad = None

    def finish_gradient_synchronization(self) -> None:
        for work, p, grad in self.pending:
            work.wait()
            _add_grad(p, grad.div_(self.world_size))
        self.pending.clear()


class BucketedDDP(_DataParallel):
    """Gradients packed into buckets of at most ``bucket_size_mb``, filled in reverse parameter order
    (roughly the order backward produces them); each bucket is all-reduced asynchronously as soon as
    all its gradients are ready. As in OverlapDDP, gradients handed to a collective leave ``p.grad``.
    """

    def __init__(self, module: nn.Module, bucket_size_mb: float = 25.0):
        super().__init__(module)
        limit = bucket_size_mb * 1024 * 1024
        self.buckets: list[list[nn.Parameter]] = []
        size = 0
        for p in reversed(self.trainable):
            nbytes = p.numel() * p.element_size()
            if not self.buckets or (size + nbytes > limit and self.buckets[-1]):
                self.buckets.append([])
                size = 0
            self.buckets[-1].append(p)
            size += nbytes
        self.bucket_of = {id(p): i for i, b in enumerate(self.buckets) for p in b}
        self.ready = [0] * len(self.buckets)
        self.launched = [False] * len(self.buckets)
        self.in_flight: list[tuple[dist.Work, int, torch.Tensor]] = []
        if self.world_size > 1:
            for p in self.trainable:
                p.register_post_accumulate_grad_hook(self._on_grad_ready)

    def _launch(self, i: int) -> None:
        params = self.buckets[i]
        flat = _flatten_dense_tensors([p.grad if p.grad is not None else torch.zeros_like(p) for p in params])
        for p in params:
            p.grad = None
        self.in_flight.append((dist.all_reduce(flat, async_op=True), i, flat))
        self.ready[i] = 0
        self.launched[i] = True

    def _on_grad_ready(self, p: nn.Parameter) -> None:
        if not self.sync_enabled:
            return
        i = self.bucket_of[id(p)]
        self.ready[i] += 1
        if self.ready[i] == len(self.buckets[i]):
            self._launch(i)

    def finish_gradient_synchronization(self) -> None:
        if self.world_size == 1:
            return
        for i in range(len(self.buckets)):
            # a bucket that never completed (some parameter got no gradient) is reduced now
            if self.ready[i] or not self.launched[i]:
                self._launch(i)
        for work, i, flat in self.in_flight:
            work.wait()
            flat.div_(self.world_size)
            for p, synced in zip(self.buckets[i], _unflatten_dense_tensors(flat, self.buckets[i])):
                _add_grad(p, synced.clone() if p.grad is None else synced)
        self.in_flight.clear()
        self.launched = [False] * len(self.buckets)
