"""Refuse a run that cannot fit, before it starts: peak training memory against what the device has.

A batch far too large used to grow until the kernel's OOM killer ended the process (exit 137, no
message). The estimate is the accounting module's (weights, gradients, optimizer state, activations
of one micro-batch); ``--force`` trains anyway.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lmforge.core import LmforgeError

from .train_config import TrainConfig


class NotEnoughMemoryError(LmforgeError):
    """The estimated peak memory of a training step exceeds the memory available."""


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def _cgroup_limit() -> int | None:
    """A container's memory limit (cgroup v2), which /proc/meminfo does not show."""
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if text == "max" else int(text) - used


def available_bytes(device: torch.device) -> tuple[int, str]:
    """(bytes free for this run, where they were read)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free, f"free on {torch.cuda.get_device_name(device)}"
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        free = int(meminfo["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        import os

        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    limit = _cgroup_limit()
    return (min(free, limit), "available to this container") if limit is not None else \
        (free, "available RAM")


def estimate(cfg: TrainConfig, micro_batch: int) -> dict:
    """Per process, unsharded: a ZeRO/FSDP backend needs less, which ``--force`` is for."""
    from .accounting import memory_bytes
    from .train_setup import optimizer_ref

    return memory_bytes(cfg.model, batch_size=micro_batch, param_dtype="float32",
                        activation_dtype="bfloat16" if cfg.dtype == "bfloat16" else "float32",
                        optimizer=optimizer_ref(cfg))


def check_memory(cfg: TrainConfig, micro_batch: int, device: torch.device, force: bool = False) -> dict:
    """The estimate; raises ``NotEnoughMemoryError`` when it exceeds what is free. ``force`` skips the
    check (and the estimate, which a part that cannot run on the meta device would fail)."""
    if force:
        return {}
    est = estimate(cfg, micro_batch)
    free, where = available_bytes(device)
    if est["total"] > free:
        parts = ", ".join(f"{k} {_gib(v)}" for k, v in est.items() if k != "total")
        raise NotEnoughMemoryError(
            f"a training step needs about {_gib(est['total'])} ({parts}; micro-batch {micro_batch} x context "
            f"{cfg.model.context_length}) but only {_gib(free)} is {where}; lower train.batch_size or raise "
            "train.grad_accum, or pass --force to try anyway")
    return est
