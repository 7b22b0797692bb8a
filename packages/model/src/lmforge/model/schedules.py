"""Learning-rate schedules (part kind ``lr_schedule``): functions of the iteration number."""

from __future__ import annotations

import math


def cosine_lr(it: int, max_lr: float, min_lr: float, warmup_iters: int, cosine_cycle_iters: int) -> float:
    """Linear warm-up to ``max_lr`` over ``warmup_iters``, cosine down to ``min_lr`` at
    ``cosine_cycle_iters``, then flat at ``min_lr``."""
    if it < warmup_iters:
        return it / warmup_iters * max_lr
    if it <= cosine_cycle_iters:
        progress = (it - warmup_iters) / max(1, cosine_cycle_iters - warmup_iters)
        return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)
    return min_lr


def constant_lr(it: int, max_lr: float, min_lr: float = 0.0, warmup_iters: int = 0,
                cosine_cycle_iters: int = 0) -> float:
    """Linear warm-up, then ``max_lr`` forever (``min_lr`` and the cycle length are ignored)."""
    if it < warmup_iters:
        return it / warmup_iters * max_lr
    return max_lr


def wsd_lr(it: int, max_lr: float, min_lr: float, warmup_iters: int, cosine_cycle_iters: int,
           decay_fraction: float = 0.2) -> float:
    """Warm-up, stable, decay: linear warm-up, ``max_lr`` until the last ``decay_fraction`` of the
    ``cosine_cycle_iters`` total iterations, then linear decay to ``min_lr``; flat afterwards."""
    if it < warmup_iters:
        return it / warmup_iters * max_lr
    decay_start = warmup_iters + (1 - decay_fraction) * (cosine_cycle_iters - warmup_iters)
    if it < decay_start:
        return max_lr
    if it >= cosine_cycle_iters:
        return min_lr
    progress = (it - decay_start) / max(1e-9, cosine_cycle_iters - decay_start)
    return max_lr + progress * (min_lr - max_lr)
