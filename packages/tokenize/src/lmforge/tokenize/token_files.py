"""Flat token files: ``tokens.bin`` (uint16 when the vocabulary fits, else uint32) + ``tokens.bin.json``.

The sidecar is ``{"dtype": "uint16", "count": N, "vocab_size": V, "eot_id": id, "tokenizer_sha256": h,
"errors": mode, "replaced": n}``: ``tokenizer_sha256`` is the fingerprint of the tokenizer that made the
file (``fingerprint``), ``replaced`` the number of undecodable byte sequences met. Each input file is
encoded on its own and followed by the end-of-text id, so documents (files, or the parts of a file
already separated by ``<|endoftext|>``) are separated by ``eot_id``. Large files are cut at safe places
(see ``cuts``) and the pieces encoded in parallel processes; ids equal a sequential ``encode``.

Invalid UTF-8 (``errors``): ``replace`` (default) encodes each undecodable sequence as U+FFFD, counts
them and warns; ``ignore`` drops them (counted and warned the same); ``strict`` stops at the first one
with an error naming the file and byte offset.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from lmforge.core import atomic_open, atomic_write

from .cuts import safe_byte_ranges
from .errors import TokenizerError

PIECE_BYTES = 1 << 20
ERRORS = ("strict", "replace", "ignore")
_REPLACEMENT = "\ufffd".encode()


class UndecodableInputWarning(UserWarning):
    """Input bytes that are not UTF-8 were replaced or dropped while encoding."""


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


def _pieces(path: Path, specials: list[str]) -> Iterator[tuple[str, int, int]]:
    """Byte ranges of ``path`` of about PIECE_BYTES each, cut where encoding is unaffected."""
    for start, cut in safe_byte_ranges(path, specials, PIECE_BYTES, PIECE_BYTES):
        yield str(path), start, cut


_TOKENIZER: list = []


def decode_counting(raw: bytes, errors: str, where: str = "", offset: int = 0) -> tuple[str, int]:
    """-> (text, number of undecodable sequences). ``strict`` raises a TokenizerError naming ``where``."""
    if errors not in ERRORS:
        raise TokenizerError(f"errors must be one of {', '.join(ERRORS)}, not {errors!r}")
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError as e:
        if errors == "strict":
            raise TokenizerError(f"{where}: invalid UTF-8 at byte {offset + e.start} "
                                 "(encode with errors='replace' or 'ignore' to go on)") from None
    text = raw.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd") - raw.count(_REPLACEMENT)  # U+FFFD already in the input is not counted
    if errors == "ignore":
        text = raw.decode("utf-8", errors="ignore")
    return text, replaced


def _encode_piece(job: tuple[str, int, int]) -> tuple[np.ndarray, int]:
    path, start, end = job
    with open(path, "rb") as f:
        f.seek(start)
        raw = f.read(end - start)
    tok, errors = _TOKENIZER
    text, replaced = decode_counting(raw, errors, path, start)
    return np.asarray(tok.encode(text), dtype=token_dtype(tok.vocab_size)), replaced


def encode_files_to_bin(tokenizer, input_files: Sequence[str | Path], out_path: str | Path,
                        workers: int | None = None, progress: bool = False, errors: str = "replace") -> dict:
    """Encode ``input_files`` into ``out_path`` + sidecar; returns the sidecar dict.

    ``errors`` (``replace``, ``ignore``, ``strict``) says what becomes of invalid UTF-8; replaced or
    dropped sequences are counted in the sidecar's ``replaced`` and an ``UndecodableInputWarning`` says how
    many.
    """
    from .fingerprint import tokenizer_fingerprint

    if errors not in ERRORS:
        raise TokenizerError(f"errors must be one of {', '.join(ERRORS)}, not {errors!r}")
    files = [Path(p) for p in ([input_files] if isinstance(input_files, str | Path) else input_files)]
    for p in files:
        if not p.is_file():
            raise TokenizerError(f"input file not found: {p}")
    eot = tokenizer.eot_id
    dtype = token_dtype(tokenizer.vocab_size)
    eot_arr = None if eot is None else np.asarray([eot], dtype=dtype)
    jobs = [job for p in files if p.stat().st_size for job in _pieces(p, tokenizer.special_tokens)]
    file_ends = {(str(p), p.stat().st_size) for p in files}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(p.stat().st_size for p in files), unit="B", unit_scale=True, desc="encoding")
    _TOKENIZER[:] = [tokenizer, errors]
    count = 0
    replaced = 0
    try:
        with atomic_open(out_path, "wb") as out:
            encoded = _map(_encode_piece, jobs, workers or os.cpu_count() or 1)
            for (path, start, end), (arr, bad) in zip(jobs, encoded):
                replaced += bad
                arr.tofile(out)
                count += len(arr)
                if eot_arr is not None and (path, end) in file_ends:  # the last piece of a document
                    eot_arr.tofile(out)
                    count += 1
                if bar is not None:
                    bar.update(end - start)
    finally:
        _TOKENIZER.clear()
        if bar is not None:
            bar.close()
    header = {"dtype": dtype.name, "count": count, "vocab_size": tokenizer.vocab_size, "eot_id": eot,
              "tokenizer_sha256": tokenizer_fingerprint(tokenizer), "errors": errors, "replaced": replaced}
    atomic_write(str(out_path) + ".json", json.dumps(header))
    if replaced:
        what = "dropped" if errors == "ignore" else "replaced by U+FFFD"
        warnings.warn(f"{replaced} undecodable byte sequences (not UTF-8) in "
                      f"{', '.join(map(str, files))} were {what}", UndecodableInputWarning, stacklevel=2)
    return header


def _map(fn, jobs, workers: int):
    if workers == 1 or len(jobs) <= 1:
        yield from map(fn, jobs)
        return
    with mp.get_context("fork").Pool(min(workers, len(jobs))) as pool:
        yield from pool.imap(fn, jobs, chunksize=1)


def read_token_header(path: str | Path) -> dict:
    """The sidecar of the token file ``path`` (``path`` + ``.json``)."""
    path = Path(path)
    side = Path(str(path) + ".json")
    if not path.is_file() or not side.is_file():
        raise TokenizerError(f"token file or its sidecar is missing: {path} / {side}")
    try:
        header = json.loads(side.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TokenizerError(f"{side}: not a valid sidecar ({e})") from None
    if not isinstance(header, dict) or "dtype" not in header or "count" not in header:
        raise TokenizerError(f"{side}: not a token file sidecar (needs dtype and count)")
    return header


def open_token_file(path: str | Path) -> np.memmap:
    """Read-only memmap of a token file, checked against its sidecar."""
    path = Path(path)
    header = read_token_header(path)
    dtype = np.dtype(header["dtype"])
    count = int(header["count"])
    if path.stat().st_size != count * dtype.itemsize:
        raise TokenizerError(
            f"{path}: size {path.stat().st_size} bytes does not match the sidecar ({count} x {dtype.name})"
        )
    if count == 0:
        return np.zeros(0, dtype=dtype)  # numpy cannot memmap an empty file
    return np.memmap(path, dtype=dtype, mode="r", shape=(count,))
