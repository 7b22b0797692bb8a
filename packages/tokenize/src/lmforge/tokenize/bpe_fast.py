"""``train_bpe_fast``: ``train_bpe`` with the merge loop compiled by numba (``bpe_numba``).

Same pre-tokenization and counting, same merges, same vocabulary as ``train_bpe`` (the parity tests
compare them); only the merge loop differs: flat arrays in one process instead of Python lists in worker
shards. Importing numba and loading the compiled loop from its cache takes a second or more, so a thread
does it while the pre-tokenization workers count (they are forked before it starts, so they never map
numba).
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import numpy as np

from .bpe_training import train_bpe_with


def train_bpe_fast(input_path: str | Path | list[str | Path], vocab_size: int,
                   special_tokens: list[str] | None = None, *, pattern: str = "gpt2",
                   workers: int | None = None,
                   progress: bool = False) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """``train_bpe`` (same arguments, same result) with the merge loop compiled by numba."""
    loader = threading.Thread(target=load_kernel, name="load numba BPE kernel", daemon=True)
    return train_bpe_with(learn_merges_fast, input_path, vocab_size, special_tokens, pattern=pattern,
                          workers=workers, progress=progress, while_counting=loader.start)


def load_kernel():
    """Import the numba kernel and load (or, the first time, compile) it with a tiny call."""
    from .bpe_numba import learn_merges_flat

    one = np.ones(1, np.int64)
    learn_merges_flat(np.zeros(2, np.int32), np.zeros(1, np.int64), 2 * one, one, 1)
    return learn_merges_flat


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
    shift = first_id - 256

    def real(x: int) -> int:
        return x if x < 256 else x + shift

    return [(real(a), real(b), first_id + k) for k, (a, b) in enumerate(flat.tolist())]
