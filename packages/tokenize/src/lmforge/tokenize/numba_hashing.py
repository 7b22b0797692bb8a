"""Multiplicative (Fibonacci) hashing shared by the numba trainer, counter and encoder: open-addressing
tables with a power-of-two capacity, indexed by ``(key * GOLD) >> table_shift(capacity)``."""

from __future__ import annotations

import numpy as np
from numba import njit

GOLD = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / the golden ratio: spreads consecutive keys apart


@njit(cache=True)
def table_shift(cap):
    """The shift that maps ``h * GOLD`` into [0, cap) for a power of two ``cap``."""
    bits = 0
    while (1 << bits) < cap:
        bits += 1
    return np.uint64(64 - bits)
