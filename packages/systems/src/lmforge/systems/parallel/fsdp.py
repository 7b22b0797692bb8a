"""Our own fully sharded data parallelism (ZeRO-3 style) for modules of chosen types.

Every parameter owned directly by a module of a sharded type (default: the model package's Linear and
Embedding) is flattened, padded to a multiple of the world size and cut into equal shards; each rank keeps
only its shard, as an fp32 master ``nn.Parameter`` that the optimizer updates. Other parameters (norm
gains) stay replicated and have their gradients averaged like DDP.

Forward: a pre-hook all-gathers the module's full weights (cast to the compute dtype *before* the
collective, so bf16 halves the traffic), and starts the asynchronous all-gather of the next module in
the order recorded during the first forward (prefetch). A post-hook drops the full weights. Autograd
would keep them alive for backward, so a saved-tensor hook stores a placeholder instead and gathers the
weights again when backward needs them, and starts gathering the weights of the module that ran before
it in forward (backward prefetch: the next one backward needs; option ``backward_prefetch``). The
gather is an autograd Function whose backward reduce-scatters the full-weight gradient straight into the
shard's gradient (summed, then divided by the world size).
Tied weights (embedding = LM head) are one sharded parameter used by two modules; their two gradient
contributions add up in the one shard.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import torch
import torch.distributed as dist
from torch import nn

from .ddp import broadcast_module_state
from .seam import distributed


class FlatShard:
    """Bookkeeping for one sharded parameter."""

    def __init__(self, param: nn.Parameter, rank: int, world: int):
        self.shape = param.shape
        self.numel = param.numel()
        self.shard_numel = math.ceil(self.numel / world)
        flat = torch.zeros(self.shard_numel * world, dtype=torch.float32, device=param.device)
        flat[: self.numel] = param.detach().reshape(-1).float()
        self.shard = nn.Parameter(flat[rank * self.shard_numel:(rank + 1) * self.shard_numel].clone(),
                                  requires_grad=param.requires_grad)
        self.world = world
        self.pending: tuple[dist.Work | None, torch.Tensor] | None = None
        self.sync = True  # False inside no_sync: full gradients accumulate locally in local_grad
        self.local_grad: torch.Tensor | None = None

    def start_gather(self, dtype: torch.dtype) -> None:
        if self.pending is not None:
            return
        local = self.shard.detach().to(dtype)
        if self.world == 1:
            self.pending = (None, local)
            return
        out = torch.empty(self.shard_numel * self.world, dtype=dtype, device=local.device)
        self.pending = (dist.all_gather_into_tensor(out, local, async_op=True), out)

    def take_gathered(self, dtype: torch.dtype) -> torch.Tensor:
        self.start_gather(dtype)
        work, out = self.pending
        self.pending = None
        if work is not None:
            work.wait()
        return out[: self.numel].view(self.shape)

    def reduce_scatter(self, grad_full: torch.Tensor) -> torch.Tensor:
        flat = torch.zeros(self.shard_numel * self.world, dtype=grad_full.dtype, device=grad_full.device)
        flat[: self.numel] = grad_full.reshape(-1)
        if self.world == 1:
            return flat.to(self.shard.dtype)
        out = torch.empty(self.shard_numel, dtype=grad_full.dtype, device=grad_full.device)
        with warnings.catch_warnings():  # deprecated name in recent torch, still the portable one
            warnings.simplefilter("ignore", FutureWarning)
            dist.reduce_scatter_tensor(out, flat)
        return out.div_(self.world).to(self.shard.dtype)


class _Gathered(torch.autograd.Function):
    """Identity from the shard's point of view: forward hands out the gathered weight, backward
    reduce-scatters its gradient into the shard."""

    @staticmethod
    def forward(ctx, shard: torch.Tensor, full: torch.Tensor, flat_shard: FlatShard):
        ctx.flat_shard = flat_shard
        return full.view(full.shape)

    @staticmethod
    def backward(ctx, grad_full: torch.Tensor):
        fs = ctx.flat_shard
        if not fs.sync:  # an accumulation micro-step under no_sync: keep it here, communicate nothing
            if fs.local_grad is None:
                fs.local_grad = grad_full.detach().clone()
            else:
                fs.local_grad.add_(grad_full)
            return None, None, None
        if fs.local_grad is not None:
            grad_full, fs.local_grad = fs.local_grad.add_(grad_full), None
        return fs.reduce_scatter(grad_full), None, None


class FullyShardedDataParallel(nn.Module):
    def __init__(self, module: nn.Module, shard_types: tuple[type, ...] | None = None,
                 compute_dtype: torch.dtype | None = None, backward_prefetch: bool = True):
        super().__init__()
        self.backward_prefetch = backward_prefetch
        broadcast_module_state(module)
        self.module = module
        self.rank = dist.get_rank() if distributed() else 0
        self.world_size = dist.get_world_size() if distributed() else 1
        self.compute_dtype = compute_dtype
        if shard_types is None:
            from lmforge.model import Embedding, Linear

            shard_types = (Linear, Embedding)
        self.state_names = list(module.state_dict().keys())
        names_of: dict[int, list[str]] = {}
        for name, p in module.named_parameters(remove_duplicate=False):
            names_of.setdefault(id(p), []).append(name)
        self.flat: dict[int, FlatShard] = {}
        self.name_to_flat: dict[str, FlatShard] = {}
        self.module_params: dict[nn.Module, list[tuple[str, FlatShard]]] = {}
        shards = []
        for mod in module.modules():
            if not isinstance(mod, shard_types):
                continue
            for pname, p in list(mod.named_parameters(recurse=False)):
                if id(p) not in self.flat:
                    fs = FlatShard(p, self.rank, self.world_size)
                    self.flat[id(p)] = fs
                    shards.append(fs.shard)
                    for n in names_of[id(p)]:
                        self.name_to_flat[n] = fs
                self.module_params.setdefault(mod, []).append((pname, self.flat[id(p)]))
                del mod._parameters[pname]
                setattr(mod, pname, None)
            if mod in self.module_params:
                mod.register_forward_pre_hook(self._pre_forward, with_kwargs=True)
                mod.register_forward_hook(self._post_forward)
        self.shards = nn.ParameterList(shards)
        self.replicated = [p for p in module.parameters() if p.requires_grad]
        self.order: list[nn.Module] = []
        self.recording = True
        self._saved_hooks: dict[nn.Module, object] = {}

    def forward(self, *args, **kwargs):
        self._drop_pending()  # a backward prefetch nobody consumed holds weights from before the step
        out = self.module(*args, **kwargs)
        if self.order:
            self.recording = False
        self._drop_pending()
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Gradient-accumulation micro-steps: each sharded weight's full gradient is summed locally (one
        full-size buffer per weight, as torch FSDP's no_sync) and reduce-scattered once, with the last
        micro-step's; replicated parameters sync in finish_gradient_synchronization as always."""
        for fs in self.flat.values():
            fs.sync = False
        try:
            yield
        finally:
            for fs in self.flat.values():
                fs.sync = True

    def _drop_pending(self) -> None:
        # a prefetched gather that no module consumed (a forward that skipped a layer, an embedding
        # whose backward needs no weight) must not be handed out after the next optimizer step
        for fs in self.flat.values():
            if fs.pending is not None:
                fs.take_gathered(self._dtype(fs))

    def _dtype(self, fs: FlatShard) -> torch.dtype:
        return self.compute_dtype or torch.float32

    def _pre_forward(self, mod, args, kwargs):
        if self.recording and mod not in self.order:
            self.order.append(mod)
        fulls = []
        for pname, fs in self.module_params[mod]:
            full = fs.take_gathered(self._dtype(fs))
            setattr(mod, pname, _Gathered.apply(fs.shard, full, fs))
            fulls.append((full, fs))
        if not self.recording and mod in self.order:
            i = self.order.index(mod)
            if i + 1 < len(self.order):
                for _, fs in self.module_params[self.order[i + 1]]:
                    fs.start_gather(self._dtype(fs))
        hooks = torch.autograd.graph.saved_tensors_hooks(*self._regather_hooks(fulls, mod))
        hooks.__enter__()
        self._saved_hooks[mod] = hooks
        if self.compute_dtype is not None:
            cast = lambda a: a.to(self.compute_dtype) if torch.is_tensor(a) and a.is_floating_point() else a
            return tuple(cast(a) for a in args), {k: cast(v) for k, v in kwargs.items()}
        return None

    def _post_forward(self, mod, args, output):
        self._saved_hooks.pop(mod).__exit__(None, None, None)
        for pname, _ in self.module_params[mod]:
            setattr(mod, pname, None)
        return output

    def _regather_hooks(self, fulls, mod):
        storages = {full.untyped_storage().data_ptr(): fs for full, fs in fulls}
        # backward prefetch: the module that ran before this one in forward is needed next in backward
        i = self.order.index(mod) if not self.recording and mod in self.order else 0
        before = self.order[i - 1] if self.backward_prefetch and i > 0 else None

        def pack(t: torch.Tensor):
            fs = storages.get(t.untyped_storage().data_ptr()) if t.device.type != "meta" else None
            if fs is None:
                return t
            return ("regather", fs, t.dtype, t.shape, t.stride(), t.storage_offset())

        def unpack(saved):
            if not isinstance(saved, tuple):
                return saved
            _, fs, dtype, shape, stride, offset = saved
            full = fs.take_gathered(dtype)
            if before is not None:
                for _, prev in self.module_params[before]:
                    prev.start_gather(dtype)
            return full.as_strided(shape, stride, offset)

        return pack, unpack

    def finish_gradient_synchronization(self) -> None:
        if self.world_size == 1:
            return
        for p in self.replicated:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad.div_(self.world_size)

    @torch.no_grad()
    def clip_grad_norm(self, max_norm: float, eps: float = 1e-6) -> float:
        """Clip by the global L2 norm (as the model package's clip_grad_norm on the unsharded model)."""
        shard_grads = [p.grad for p in self.shards if p.grad is not None]
        repl_grads = [p.grad for p in self.replicated if p.grad is not None]
        sq = torch.zeros((), dtype=torch.float32)
        for g in shard_grads:
            sq = sq + g.detach().float().pow(2).sum().cpu()
        if self.world_size > 1:
            dist.all_reduce(sq)
        for g in repl_grads:  # identical on every rank after finish_gradient_synchronization
            sq = sq + g.detach().float().pow(2).sum().cpu()
        total = torch.sqrt(sq)
        if max_norm is not None and max_norm > 0:
            scale = (max_norm / (total + eps)).clamp(max=1.0)
            for g in shard_grads + repl_grads:
                g.mul_(scale.to(g.device, g.dtype))
        return float(total)

    @torch.no_grad()
    def gather_full_params(self) -> dict[str, torch.Tensor]:
        """The full state dict under the original parameter names (fp32 master values), on every rank."""
        live = self.module.state_dict()
        out = {}
        for name in self.state_names:
            fs = self.name_to_flat.get(name)
            if fs is None:
                out[name] = live[name].detach().clone()
                continue
            if self.world_size == 1:
                full = fs.shard.detach()
            else:
                full = torch.empty(fs.shard_numel * self.world_size, dtype=fs.shard.dtype,
                                   device=fs.shard.device)
                dist.all_gather_into_tensor(full, fs.shard.detach())
            out[name] = full[: fs.numel].view(fs.shape).clone()
        return out

    def shard_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.parameters())
