"""A dict that computes missing entries itself, so lookups run through C (``map(cache.__getitem__, ...)``)."""

from __future__ import annotations

from collections.abc import Callable


class PieceCache(dict):
    """pre-token text -> tuple of ids; cleared when it grows past ``max_size`` so memory stays bounded."""

    def __init__(self, compute: Callable[[str], tuple[int, ...]], max_size: int = 1 << 20) -> None:
        super().__init__()
        self._compute = compute
        self._max_size = max_size

    def __missing__(self, piece: str) -> tuple[int, ...]:
        ids = self._compute(piece)
        if len(self) >= self._max_size:
            self.clear()
        self[piece] = ids
        return ids
