"""Read and write GPT-2's ``encoder.json`` (token text -> id) and ``vocab.bpe`` (one merge per line).

Tokens are bytes; both files spell them with GPT-2's byte-to-unicode map, which is lossless for any
bytes. Our own saved format is this pair plus ``tokenizer.meta.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmforge.core import atomic_write

from .byte_unicode import text_to_token, token_to_text
from .errors import TokenizerError


def read_gpt2_files(encoder_path: str | Path, merges_path: str | Path):
    """-> (vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]])."""
    for p in (encoder_path, merges_path):
        if not Path(p).is_file():
            raise TokenizerError(f"tokenizer file not found: {p}")
    encoder = json.loads(Path(encoder_path).read_text(encoding="utf-8"))
    try:
        vocab = {int(i): text_to_token(text) for text, i in encoder.items()}
    except ValueError as e:
        raise TokenizerError(f"{encoder_path}: {e}") from None
    merges = []
    for lineno, line in enumerate(Path(merges_path).read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip() or line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise TokenizerError(f"{merges_path}:{lineno}: expected two tokens separated by one space")
        try:
            merges.append((text_to_token(parts[0]), text_to_token(parts[1])))
        except ValueError as e:
            raise TokenizerError(f"{merges_path}:{lineno}: {e}") from None
    return vocab, merges


def write_gpt2_files(vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]],
                     encoder_path: str | Path, merges_path: str | Path) -> None:
    encoder = {token_to_text(tok): i for i, tok in sorted(vocab.items())}
    atomic_write(encoder_path, json.dumps(encoder, ensure_ascii=False, indent=0))
    lines = ["#version: 0.2"] + [f"{token_to_text(a)} {token_to_text(b)}" for a, b in merges]
    atomic_write(merges_path, "\n".join(lines) + "\n")
