"""``train_bpe_fast``: ``train_bpe``'s result, with the merge loop (and, for GPT-2's pattern, the
pre-token counting) compiled by numba.

Same pre-tokens, same counts, same merges, same vocabulary as ``train_bpe`` (the parity tests compare
them). With the GPT-2 pattern everything runs in this one process: the file is read in chunks (cut as
``train_bpe`` cuts them), the compiled scanner counts each chunk's pre-tokens into one table
(``bpe_numba_count``) and the merge loop (``bpe_numba``) works on that table's words directly; no
string is made per pre-token. With another pattern the pre-tokens are counted by ``train_bpe``'s worker
processes (regex) while a thread imports numba and loads the merge loop (the workers are forked before
it starts, so they never map numba).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path

import numpy as np

from . import pretoken_counts
from .bpe_training import progress_bar, train_bpe_with
from .patterns import GPT2_PATTERN, resolve_pattern


def train_bpe_fast(input_path: str | Path | list[str | Path], vocab_size: int,
                   special_tokens: list[str] | None = None, *, pattern: str = "gpt2",
                   workers: int | None = None,
                   progress: bool = False) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """``train_bpe`` (same arguments, same result) with the merge loop compiled by numba."""
    if resolve_pattern(pattern) == GPT2_PATTERN:
        return train_bpe_with(learn_merges_from_words, input_path, vocab_size, special_tokens,
                              pattern=pattern, workers=workers, progress=progress, count=count_gpt2_compiled)
    loader = threading.Thread(target=load_kernel, name="load numba BPE kernel", daemon=True)
    return train_bpe_with(learn_merges_fast, input_path, vocab_size, special_tokens, pattern=pattern,
                          workers=workers, progress=progress, while_counting=loader.start)


def load_kernel():
    """Import the numba kernel and load (or, the first time, compile) it with a tiny call."""
    from .bpe_numba import learn_merges_flat

    one = np.ones(1, np.int64)
    learn_merges_flat(np.zeros(2, np.int32), np.zeros(1, np.int64), 2 * one, one, 1)
    return learn_merges_flat


def count_gpt2_compiled(paths: list[Path], specials: list[str], pattern: str, workers: int | None,
                        progress: bool):
    """-> the words ``learn_merges_from_words`` takes: the GPT-2 pre-tokens of every file, counted by
    compiled code in this process, chunk by chunk (at most ``MAX_CHUNK`` bytes held at once).

    Each chunk is checked as UTF-8 and, if it is not, decoded with ``errors="replace"`` and encoded again,
    exactly the text ``train_bpe`` pre-tokenizes. Special tokens cut the text (longest first, as
    ``train_bpe``'s splitter) and are not counted.
    """
    from .bpe_numba_count import PieceCounter, valid_utf8

    ordered = sorted(specials, key=lambda s: (-len(s), s))
    splitter = re.compile(b"|".join(re.escape(s.encode("utf-8")) for s in ordered)) if ordered else None
    most = pretoken_counts.MAX_CHUNK
    ranges = [(path, start, end) for path in paths
              for start, end in pretoken_counts.chunk_bounds(path, -(-path.stat().st_size // most), specials)]
    counter = PieceCounter()
    bar = progress_bar(progress, len(ranges), "pre-tokenizing", "chunk")
    for path, start, end in ranges:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
        if not valid_utf8(np.frombuffer(data, np.uint8)):
            data = data.decode("utf-8", errors="replace").encode("utf-8")
        starts, ends, at = [], [], 0
        for m in splitter.finditer(data) if splitter is not None else ():
            if m.start() > at:
                starts.append(at), ends.append(m.start())
            at = m.end()
        if at < len(data):
            starts.append(at), ends.append(len(data))
        counter.add(data, np.asarray(starts, np.int64), np.asarray(ends, np.int64))
        bar.update(1)
    bar.close()
    return counter.words()


def learn_merges_from_words(words, n_merges: int, first_id: int, progress=None,
                            workers: int = 1) -> list[tuple[int, int, int]]:
    """``learn_merges_fast`` for ``count_gpt2_compiled``'s words (toks, starts, lens, counts)."""
    toks, starts, lens, counts = words
    flat = load_kernel()(toks, starts, lens, counts, n_merges)
    if progress is not None:
        progress(len(flat))
    return _triples(flat, first_id)


def learn_merges_fast(counts: Counter, n_merges: int, first_id: int, progress=None,
                      workers: int = 1) -> list[tuple[int, int, int]]:
    """-> [(left id, right id, new id)] as ``bpe_trainer.learn_merges``; empties ``counts`` (str -> n)."""
    words, cnts = [], []
    while counts:  # popitem frees each string as its bytes twin is made
        text, c = counts.popitem()
        raw = text.encode("utf-8")
        if len(raw) > 1:  # a single byte holds no pair
            words.append(raw)
            cnts.append(c)
    lens = np.fromiter(map(len, words), np.int64, len(words))
    starts = np.zeros(len(words), np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    toks = np.frombuffer(b"".join(words), np.uint8).astype(np.int32)
    del words
    counts_arr = np.asarray(cnts, np.int64)
    del cnts
    flat = load_kernel()(toks, starts, lens, counts_arr, n_merges)  # waits for the loader thread's import
    if progress is not None:
        progress(len(flat))
    return _triples(flat, first_id)


def _triples(flat: np.ndarray, first_id: int) -> list[tuple[int, int, int]]:
    """The kernel numbers merged tokens from 256; the vocabulary from ``first_id`` (after the specials)."""
    shift = first_id - 256

    def real(x: int) -> int:
        return x if x < 256 else x + shift

    return [(real(a), real(b), first_id + k) for k, (a, b) in enumerate(flat.tolist())]
