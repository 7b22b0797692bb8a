"""GPT-2's reversible map between bytes and printable unicode characters.

GPT-2's ``encoder.json`` and ``vocab.bpe`` store each token as text: bytes that are printable
latin-1 map to themselves, the other 68 bytes map to U+0100 onwards, so every token is readable and
no token contains whitespace (which ``vocab.bpe`` uses as its separator).
"""

from __future__ import annotations

from functools import cache


@cache
def byte_to_unicode() -> dict[int, str]:
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


@cache
def unicode_to_byte() -> dict[str, int]:
    return {c: b for b, c in byte_to_unicode().items()}


def token_to_text(token: bytes) -> str:
    table = byte_to_unicode()
    return "".join(table[b] for b in token)


def text_to_token(text: str) -> bytes:
    table = unicode_to_byte()
    try:
        return bytes(table[c] for c in text)
    except KeyError as e:
        raise ValueError(f"character {e.args[0]!r} is not in GPT-2's byte-to-unicode table") from None
