"""Peak memory per phase: CUDA allocator peaks on GPU, peak resident set size (VmHWM) on CPU.

On Linux writing "5" to /proc/self/clear_refs resets VmHWM, so each phase gets its own CPU peak; the
CPU figure is the whole process's resident memory (Python, libraries and all), not tensors alone.
"""

from __future__ import annotations

from pathlib import Path

import torch


def _read_status_bytes(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def current_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return int(torch.cuda.memory_allocated(device))
    return _read_status_bytes("VmRSS")


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return _read_status_bytes("VmHWM")


def available_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class CudaMemorySnapshot:
    """Records allocator history; ``dump(path)`` writes a pickle for https://pytorch.org/memory_viz."""

    def __init__(self, device: torch.device, max_entries: int = 200_000):
        self.enabled = device.type == "cuda"
        if self.enabled:
            torch.cuda.memory._record_memory_history(max_entries=max_entries)

    def dump(self, path: Path) -> Path | None:
        if not self.enabled:
            return None
        torch.cuda.memory._dump_snapshot(str(path))
        torch.cuda.memory._record_memory_history(enabled=None)
        return path
