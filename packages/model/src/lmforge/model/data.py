"""Training data: open a token file and sample random (input, next-token target) windows from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lmforge.core import LmforgeError


class InvalidDeviceError(LmforgeError, RuntimeError):
    """A device string that names no usable device."""


def check_device(device: str | torch.device) -> torch.device:
    """Parse ``device`` and make sure it exists here, so a typo fails before any work is done."""
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise InvalidDeviceError(f"invalid device {device!r}: {e}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidDeviceError(f"device {device!r}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InvalidDeviceError(f"device {device!r}: CUDA error: invalid device ordinal "
                                     f"({torch.cuda.device_count()} devices)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidDeviceError(f"device {device!r}: MPS is not available on this machine")
    return dev


def get_batch(dataset: np.ndarray, batch_size: int, context_length: int, device: str | torch.device,
              generator: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``batch_size`` uniform random windows of ``context_length + 1`` tokens.

    Returns (x, y) int64 tensors of shape (batch_size, context_length) on ``device``, y = x shifted
    by one. ``generator`` makes the draw reproducible (the global numpy RNG otherwise).
    """
    dev = check_device(device)
    n = len(dataset)
    if n < context_length + 1:
        raise LmforgeError(f"dataset has {n} tokens, fewer than context_length + 1 = {context_length + 1}")
    rng = generator if generator is not None else np.random
    starts = rng.integers(0, n - context_length, size=batch_size) if generator is not None else \
        rng.randint(0, n - context_length, size=batch_size)
    windows = np.stack([np.asarray(dataset[s:s + context_length + 1], dtype=np.int64) for s in starts])
    batch = torch.from_numpy(windows)
    if dev.type == "cuda":
        batch = batch.pin_memory().to(dev, non_blocking=True)
    else:
        batch = batch.to(dev)
    return batch[:, :-1], batch[:, 1:]


def open_tokens(path: str | Path) -> tuple[np.ndarray, dict]:
    """A token file (``lmforge tokenize encode`` output) as a read-only memmap, plus its sidecar dict.

    Uses ``lmforge.tokenize.open_token_file`` (which validates the file against its sidecar) when it
    exists; otherwise reads the documented format directly: a flat array plus ``path + ".json"`` =
    {"dtype", "count", "vocab_size", "eot_id"}.
    """
    path = Path(path)
    sidecar_path = Path(str(path) + ".json")
    if not path.is_file():
        raise LmforgeError(f"token file not found: {path}")
    if not sidecar_path.is_file():
        raise LmforgeError(f"token file {path} has no sidecar {sidecar_path.name} (write it with "
                           "`lmforge tokenize encode`)")
    try:
        meta = json.loads(sidecar_path.read_text())
    except json.JSONDecodeError as e:
        raise LmforgeError(f"{sidecar_path}: invalid JSON: {e}") from None
    try:
        from lmforge.tokenize import open_token_file
    except ImportError:
        open_token_file = None
    if open_token_file is not None:
        return open_token_file(path), meta
    dtype = np.dtype(meta.get("dtype", "uint16"))
    if dtype not in (np.uint16, np.uint32):
        raise LmforgeError(f"{sidecar_path}: unsupported token dtype {dtype}")
    count = path.stat().st_size // dtype.itemsize
    if "count" in meta and meta["count"] != count:
        raise LmforgeError(f"{path}: sidecar says {meta['count']} tokens, file holds {count}")
    return np.memmap(path, dtype=dtype, mode="r", shape=(count,)), meta
