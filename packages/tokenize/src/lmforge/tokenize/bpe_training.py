"""``train_bpe``: byte-level BPE training on a file (streamed, pre-tokenized in parallel).

The module is not named ``train_bpe``: a submodule of that name would shadow the function on the package.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from .bpe_trainer import learn_merges
from .errors import TokenizerError
from .pretoken_counts import iter_chunk_counts


def train_bpe(input_path: str | Path | list[str | Path], vocab_size: int,
              special_tokens: list[str] | None = None, *, pattern: str = "gpt2", workers: int | None = None,
              progress: bool = False) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Train byte-level BPE on the text file ``input_path`` (or a list of files).

    The vocabulary is the 256 single bytes (ids 0-255), then the special tokens (in the order given),
    then one token per merge; ``vocab_size`` counts all three. Pairs are counted inside pre-tokens only
    (``pattern``: ``gpt2``, ``cl100k`` or a regex); special tokens cut the text and never take part in
    a merge. Ties between equally frequent pairs go to the lexicographically greater pair of bytes.
    ``workers`` processes pre-tokenize and, for large inputs, hold shards of the words during merging
    (default: all cores). Invalid UTF-8 becomes U+FFFD (see
    ``pretoken_counts``). Training may stop below ``vocab_size`` when no pair is left to merge.
    """
    return train_bpe_with(_learn_python, input_path, vocab_size, special_tokens, pattern=pattern,
                          workers=workers, progress=progress)


def _learn_python(counts: Counter, n_merges: int, first_id: int, progress, workers: int):
    word_counts: dict[bytes, int] = {}
    while counts:  # popitem frees each string as its bytes twin is made (UTF-8 is one-to-one)
        text, c = counts.popitem()
        word_counts[text.encode("utf-8")] = c
    return learn_merges(word_counts, n_merges, first_id=first_id, progress=progress, workers=workers)


def train_bpe_with(learn, input_path, vocab_size: int, special_tokens: list[str] | None = None, *,
                   pattern: str = "gpt2", workers: int | None = None, progress: bool = False,
                   while_counting=None, count=None):
    """``train_bpe`` with another merge learner: ``learn(counts, n_merges, first_id, progress, workers)``
    gets the pre-token counts (which it may consume) and returns ``[(a, b, new_id)]``.

    ``count(paths, specials, pattern, workers, progress)`` makes those counts; by default
    ``count_pretokens`` (a ``Counter[str]``, counted in worker processes), which calls
    ``while_counting()`` once the first chunk is counted (the workers are forked by then), to start
    work that overlaps the rest of the counting.
    """
    specials = list(dict.fromkeys(special_tokens or []))
    paths = [Path(p) for p in (input_path if isinstance(input_path, list | tuple) else [input_path])]
    for path in paths:
        if not path.is_file():
            raise TokenizerError(f"training file not found: {path}")
    if not paths or all(p.stat().st_size == 0 for p in paths):
        raise TokenizerError(f"training file is empty: {', '.join(map(str, paths)) or '(none given)'}")

    minimum = 256 + len(specials)
    if vocab_size < minimum:
        raise TokenizerError(
            f"vocab_size {vocab_size} is too small: the minimum is {minimum} "
            f"(256 bytes + {len(specials)} special tokens)"
        )

    if count is None:
        counts = count_pretokens(paths, specials, pattern, workers, progress, while_counting)
    else:
        counts = count(paths, specials, pattern, workers, progress)

    n_merges = vocab_size - minimum
    bar = progress_bar(progress, n_merges, "merging", "merge")
    triples = learn(counts, n_merges, minimum, bar.update, workers or os.cpu_count() or 1)
    bar.close()

    vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
    for i, s in enumerate(specials):
        vocab[256 + i] = s.encode("utf-8")
    merges = []
    for a, b, new_id in triples:
        left, right = vocab[a], vocab[b]
        vocab[new_id] = left + right
        merges.append((left, right))
    return vocab, merges


def count_pretokens(paths: list[Path], specials: list[str], pattern: str, workers: int | None,
                    progress: bool, while_counting=None) -> Counter:
    """Pre-token text -> count over all files (chunks counted in ``workers`` processes)."""
    n_chunks, chunk_counts = iter_chunk_counts(paths, specials, pattern=pattern, workers=workers)
    counts: Counter = Counter()
    bar = progress_bar(progress, n_chunks, "pre-tokenizing", "chunk")
    for part in chunk_counts:
        if while_counting is not None:
            while_counting()
            while_counting = None
        counts.update(part)
        bar.update(1)
    bar.close()
    return counts


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(enabled: bool, total: int, desc: str, unit: str):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit)
