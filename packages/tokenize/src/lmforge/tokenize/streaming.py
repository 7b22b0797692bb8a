"""Stream text in bounded memory, handing out pieces cut only where encoding is unaffected."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .cuts import last_safe_cut

MIN_BLOCK = 1 << 16


def safe_pieces(chunks: Iterable[str], specials: list[str], min_block: int = MIN_BLOCK) -> Iterator[str]:
    """Yield pieces whose concatenation is the input and which encode independently.

    Text is gathered until at least ``min_block`` characters (and at least as many as are held back)
    are waiting, so each character is scanned a bounded number of times even in text with no place to
    cut (a megabyte of one letter).
    """
    held = ""
    pending: list[str] = []
    waiting = 0
    for chunk in chunks:
        if not chunk:
            continue
        pending.append(chunk)
        waiting += len(chunk)
        if waiting < max(min_block, len(held)):
            continue
        text = held + "".join(pending)
        pending.clear()
        waiting = 0
        cut = last_safe_cut(text, specials)
        if cut > 0:
            yield text[:cut]
            held = text[cut:]
        else:
            held = text
    rest = held + "".join(pending)
    if rest:
        yield rest
