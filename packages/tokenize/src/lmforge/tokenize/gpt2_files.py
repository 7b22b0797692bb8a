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
    """-> (vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]]), both checked.

    The vocabulary's ids must be unique and dense (0..n-1) and its tokens distinct; every merge's two
    parts and their concatenation must be tokens. Errors name the file and, where known, the line.
    """
    for p in (encoder_path, merges_path):
        if not Path(p).is_file():
            raise TokenizerError(f"tokenizer file not found: {p}")
    raw = _read_text(encoder_path)
    try:
        pairs = json.loads(raw, object_pairs_hook=list)
    except json.JSONDecodeError as e:
        raise TokenizerError(
            f"{encoder_path}:{e.lineno}: not valid JSON ({e.msg}); the file may be truncated") from None
    if not isinstance(pairs, list) or not all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        raise TokenizerError(f"{encoder_path}: expected a JSON object mapping token text to id")
    vocab: dict[int, bytes] = {}
    seen: dict[bytes, int] = {}
    for text, i in pairs:
        if not isinstance(i, int) or isinstance(i, bool) or i < 0:
            raise TokenizerError(f"{_where(encoder_path, raw, text)}: id of {text!r} is {i!r}, "
                                 "not a non-negative integer")
        try:
            token = text_to_token(text)
        except ValueError as e:
            raise TokenizerError(f"{_where(encoder_path, raw, text)}: {e}") from None
        if i in vocab:
            raise TokenizerError(f"{_where(encoder_path, raw, text)}: id {i} is given to both "
                                 f"{token_to_text(vocab[i])!r} and {text!r}")
        if token in seen:
            raise TokenizerError(f"{_where(encoder_path, raw, text)}: token {text!r} appears twice "
                                 f"(ids {seen[token]} and {i})")
        vocab[i] = token
        seen[token] = i
    if vocab and max(vocab) != len(vocab) - 1:
        hole = next(i for i in range(len(vocab)) if i not in vocab)
        raise TokenizerError(f"{encoder_path}: ids are not dense: {len(vocab)} tokens but id {hole} is "
                             f"missing (ids go up to {max(vocab)})")
    merges = []
    for lineno, line in enumerate(_read_text(merges_path).split("\n"), 1):
        if not line.strip() or line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise TokenizerError(f"{merges_path}:{lineno}: expected two tokens separated by one space")
        try:
            a, b = text_to_token(parts[0]), text_to_token(parts[1])
        except ValueError as e:
            raise TokenizerError(f"{merges_path}:{lineno}: {e}") from None
        for what, tok in (("left part", a), ("right part", b), ("result", a + b)):
            if tok not in seen:
                raise TokenizerError(f"{merges_path}:{lineno}: the merge's {what} {token_to_text(tok)!r} "
                                     f"is not in {encoder_path}")
        merges.append((a, b))
    return vocab, merges


def check_merges_make_vocab(vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]], specials: list[str],
                            encoder_path: str | Path, merges_path: str | Path) -> None:
    """Every token but the 256 bytes and the special tokens must be made by a merge: a vocabulary token
    that no merge makes means a truncated (or mismatched) merges file, which would encode silently worse."""
    made = {a + b for a, b in merges}
    known = made | {bytes([x]) for x in range(256)} | {s.encode("utf-8") for s in specials}
    orphans = [t for _, t in sorted(vocab.items()) if t not in known]
    if orphans:
        raise TokenizerError(
            f"{merges_path}: {len(orphans)} tokens of {encoder_path} are made by no merge (the first: "
            f"{token_to_text(orphans[0])!r}); the merges file may be truncated, or a special token is "
            f"not declared as one"
        )


def _read_text(path: str | Path) -> str:
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TokenizerError(f"{path}: not UTF-8 text (byte {e.start}); the file is damaged") from None


def _where(path: str | Path, raw: str, text: str) -> str:
    """``path:line`` of the JSON key ``text``; only computed for an error (it scans the file)."""
    return f"{path}:{_line_of(raw, text)}"


def _line_of(raw: str, text: str) -> int | str:
    """The line of ``raw`` where the JSON key ``text`` is written ('?' when it cannot be found)."""
    for spelling in (json.dumps(text, ensure_ascii=False), json.dumps(text)):
        pos = raw.find(spelling + ":")
        if pos == -1:
            pos = raw.find(spelling)
        if pos != -1:
            return raw.count("\n", 0, pos) + 1
    return "?"


def write_gpt2_files(vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]],
                     encoder_path: str | Path, merges_path: str | Path) -> None:
    encoder = {token_to_text(tok): i for i, tok in sorted(vocab.items())}
    atomic_write(encoder_path, json.dumps(encoder, ensure_ascii=False, indent=0))
    lines = ["#version: 0.2"] + [f"{token_to_text(a)} {token_to_text(b)}" for a, b in merges]
    atomic_write(merges_path, "\n".join(lines) + "\n")
