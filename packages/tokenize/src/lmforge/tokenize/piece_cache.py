"""A dict that computes missing entries itself, so lookups run through C (``map(cache.__getitem__, ...)``)."""

from __future__ import annotations

from collections.abc import Callable


class PieceCache(dict):
    """pre-token text -> tuple of ids; cleared when it grows past ``max_size`` so memory stays bounded."""

    def __init__(self, compute: Callable[[str], tuple[int, ...]], max_size: int = 1 << 20,
                 max_piece: int = 256) -> None:
        super().__init__()
        self._compute = compute
        self._max_size = max_size
        self._max_piece = max_piece  # a megabyte-long piece is computed, not kept

    def __missing__(self, piece: str) -> tuple[int, ...]:
        ids = self._compute(piece)
        if len(piece) > self._max_piece:
            return ids
        if len(self) >= self._max_size:
            self.clear()
        self[piece] = ids
        return ids
