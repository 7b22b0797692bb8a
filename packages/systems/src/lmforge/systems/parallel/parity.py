"""Run parallel backends the way the trainer does, on a tiny model, in forked gloo workers.

Used by the parity tests and by the CPU backend benchmark. The reference is one process training on
the full batch; each of ``world`` ranks trains on its contiguous slice of the same batch, so averaged
gradients equal the full-batch gradient up to floating-point summation order.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import time
import traceback
from pathlib import Path

import torch
import torch.distributed as dist

VOCAB, CONTEXT, BATCH = 64, 16, 8


def tiny_model(d_model: int = 32, layers: int = 2, tie: bool = True, seed: int = 0):
    from lmforge.model import TransformerLM

    torch.manual_seed(seed)
    model = TransformerLM(VOCAB, CONTEXT, d_model, layers, num_heads=2, d_ff=2 * d_model, tie_embeddings=tie)
    # a frozen parameter: must be broadcast from rank 0, must not change, must not break sync
    model.layers[0].ln1.weight.requires_grad_(False)
    return model


def batches(steps: int, batch: int = BATCH, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        tokens = torch.randint(0, VOCAB, (batch, CONTEXT + 1), generator=g)
        out.append((tokens[:, :-1], tokens[:, 1:]))
    return out


def optimizer_factory(params):
    from lmforge.core import get_part

    return get_part("optimizer", "adamw")(params, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)


def loss_of(model, x, y):
    from lmforge.model import cross_entropy

    return cross_entropy(model(x), y)


def train_single(steps: int, clip: float = 0.0, norms: list | None = None,
                 **model_kwargs) -> dict[str, torch.Tensor]:
    """The reference run; ``norms`` (a list) receives the global gradient norm of each clipped step."""
    from lmforge.model import clip_grad_norm

    model = tiny_model(**model_kwargs)
    opt = optimizer_factory([p for p in model.parameters() if p.requires_grad])
    for x, y in batches(steps):
        loss_of(model, x, y).backward()
        if clip:
            norm = clip_grad_norm(model.parameters(), clip)
            if norms is not None:
                norms.append(float(norm))
        opt.step()
        opt.zero_grad(set_to_none=True)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_backend(name: str, options: dict, steps: int, rank: int, world: int, grad_accum: int = 1,
                  model_kwargs: dict | None = None, batch: int = BATCH, checkpoint_dir: str | None = None,
                  clip: float = 0.0, no_sync: bool = True, load_dcp: str | None = None,
                  save_dcp: str | None = None, start_step: int = 0):
    """One rank's run of backend ``name``: returns (full state dict, stats).

    Each rank splits its slice into ``grad_accum`` micro-batches, like the trainer; ``checkpoint_dir``
    makes the backend save its own (sharded) checkpoint there. ``no_sync`` wraps
    all micro-steps but the last in ``backend.no_sync`` as the trainer does; ``stats["comm_bytes"]`` counts
    the bytes our backends hand to torch.distributed collectives (torch DDP's C++ reducer is not seen).
    ``load_dcp`` / ``save_dcp``: a sharded checkpoint folder (per label) loaded before training from
    batch ``start_step`` on, and saved after it (``stats["save_comm_bytes"]``: bytes moved while saving)."""
    from lmforge.core import PartRef, build_part

    backend = build_part("parallel_backend", PartRef(name, dict(options)))
    backend.setup("cpu")
    model = tiny_model(**(model_kwargs or {}))
    if rank:  # ranks start different; the backend must make them equal (frozen weights included)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.5)
    model = backend.wrap_model(model)
    backend.grad_accum = grad_accum
    opt = backend.make_optimizer(model, optimizer_factory)
    if load_dcp:
        backend.load_checkpoint(load_dcp, model, opt)
    per_rank = batch // world
    stats = {"step_s": [], "sync_s": [], "optimizer_s": [], "grad_norm": []}
    counter = CommCounter()
    with counter:
        for x, y in batches(steps, batch=batch)[start_step:]:
            xs, ys = x[rank * per_rank:(rank + 1) * per_rank], y[rank * per_rank:(rank + 1) * per_rank]
            t0 = time.perf_counter()
            micro = list(zip(xs.chunk(grad_accum), ys.chunk(grad_accum)))
            for i, (xm, ym) in enumerate(micro):
                skip = no_sync and i < len(micro) - 1
                with backend.no_sync(model) if skip else contextlib.nullcontext():
                    backend.backward(model, loss_of(model, xm, ym))
            t1 = time.perf_counter()
            backend.after_backward(model)
            if clip:
                stats["grad_norm"].append(float(backend.clip_grad_norm(model, clip)))
            t2 = time.perf_counter()
            opt.step()
            engine = getattr(model, "engine", None)
            if clip and engine is not None:  # DeepSpeed's own record of the norm it clipped by
                stats.setdefault("engine_grad_norm", []).append(float(engine.get_global_grad_norm()))
            opt.zero_grad(set_to_none=True)
            t3 = time.perf_counter()
            stats["step_s"].append(t3 - t0)
            stats["sync_s"].append(t2 - t1)
            stats["optimizer_s"].append(t3 - t2)
    stats["comm_bytes"] = counter.bytes
    if save_dcp:  # before the full gather: peak resident memory only grows, so the order matters
        rss = peak_rss_bytes()
        with CommCounter() as saving:
            backend.save_checkpoint(save_dcp, model, opt)
        stats["save_comm_bytes"] = saving.bytes
        stats["save_peak_rise_bytes"] = peak_rss_bytes() - rss
    rss = peak_rss_bytes()
    state = backend.full_state_dict(model)
    stats["full_state_peak_rise_bytes"] = peak_rss_bytes() - rss
    stats["full_state_bytes"] = sum(t.numel() * t.element_size() for t in (state or {}).values())
    if checkpoint_dir:
        backend.save_checkpoint(checkpoint_dir, model, opt)
    stats["optimizer_state_bytes"] = optimizer_state_bytes(opt)
    local = [p.to_local() if hasattr(p, "to_local") else p for p in model.parameters()]  # DTensor shards
    stats["param_bytes"] = sum(p.numel() * p.element_size() for p in local)
    return {k: v.detach().clone() for k, v in (state or {}).items()}, stats


def peak_rss_bytes() -> int:
    """This process's peak resident set so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class CommCounter:
    """Counts the bytes of the tensors handed to torch.distributed's collectives while active (our
    backends call them through the module attribute, so patching the attribute sees every call). For
    all-reduce this is the payload each rank contributes, not the ring's wire traffic (2(n-1)/n of it)."""

    NAMES = ("all_reduce", "reduce_scatter_tensor", "all_gather_into_tensor", "broadcast")

    def __init__(self):
        self.bytes = 0
        self._saved = {}

    def __enter__(self):
        for name in self.NAMES:
            real = self._saved[name] = getattr(dist, name)

            def counted(tensor, *args, _real=real, **kwargs):
                # the full-size buffer: the input of a reduce-scatter, the output of an all-gather
                sizes = [t.numel() * t.element_size() for t in (tensor, *args) if torch.is_tensor(t)]
                self.bytes += max(sizes)
                return _real(tensor, *args, **kwargs)

            setattr(dist, name, counted)
        return self

    def __exit__(self, *exc):
        for name, real in self._saved.items():
            setattr(dist, name, real)


def optimizer_state_bytes(opt) -> int:
    inner = getattr(opt, "inner", opt)
    engine = getattr(inner, "engine", None)
    if engine is not None:
        inner = engine.optimizer
    local = getattr(inner, "local", None)
    if local is not None or hasattr(inner, "local_state_bytes"):
        return inner.local_state_bytes()
    state = getattr(inner, "state", {})
    total = 0
    for s in state.values():
        for t in s.values():
            if torch.is_tensor(t):
                t = t.to_local() if hasattr(t, "to_local") else t
                total += t.numel() * t.element_size()
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, jobs: list, out_dir: str, steps: int, extra: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=120))
    results = {}
    for label, name, options in jobs:
        try:
            per_label = {k: f"{v}/{label}" for k, v in extra.items() if k in ("load_dcp", "save_dcp") and v}
            state, stats = train_backend(name, options, steps, rank, world, **{**extra, **per_label})
            results[label] = {"state": state, "stats": stats}
        except Exception:
            results[label] = {"error": traceback.format_exc()}
        dist.barrier()
    torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


def run_backends(jobs: list[tuple[str, str, dict]], out_dir: str | Path, world: int = 2, steps: int = 3,
                 **extra) -> list[dict]:
    """Run each (label, backend name, options) in ``world`` forked gloo processes.

    Returns one dict per rank: label -> {"state", "stats"} or {"error": traceback}."""
    import torch.multiprocessing as mp

    mp.start_processes(_worker, args=(world, free_port(), jobs, str(out_dir), steps, extra), nprocs=world,
                       start_method="fork")
    return [torch.load(Path(out_dir) / f"rank{r}.pt", weights_only=False) for r in range(world)]
