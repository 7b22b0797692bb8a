"""How two tokenize parts of one kind are compared (``parity_check`` parts).

tokenizer: the reference is trained on a corpus (its ``train`` classmethod if it has one, else the
BPE trainer, for tokenizers built from a vocabulary and merges) and saved; both parts ``load`` that
directory and encode held-out texts (standard-library sources, pydoc topics, varied scripts and
special tokens). The error is the fraction of texts whose ids differ (through ``encode`` or
``encode_iterable``) or that the candidate does not decode back as the reference does; tolerance 0.

bpe_trainer: both trainers on the same files with the same vocabulary size, special tokens and
pattern: the vocabularies and the merge lists must be identical; the error is the fraction of the
merge list from the first difference on (tolerance 0).
"""

from __future__ import annotations

import inspect
import sysconfig
import tempfile
from pathlib import Path

from lmforge.core.contracts import ParityResult

from .sample_texts import VARIED_TEXTS, english_text

EOT = "<|endoftext|>"
_STDLIB_MODULES = ("textwrap.py", "json/decoder.py", "argparse.py", "string.py", "csv.py", "difflib.py")


def corpus_texts(n_chars: int = 120_000) -> tuple[str, list[str]]:
    """(training text, held-out texts): pydoc topics to train on; stdlib sources, more prose and
    the varied samples (emoji, CJK, specials, whitespace runs) to encode."""
    prose = english_text(2 * n_chars)
    train, held_prose = prose[:n_chars], prose[n_chars:]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = [(stdlib / m).read_text(encoding="utf-8") for m in _STDLIB_MODULES if (stdlib / m).is_file()]
    held = list(VARIED_TEXTS) + sources + [held_prose[i:i + 4000] for i in range(0, len(held_prose), 4000)]
    return train, held


def _train_reference(reference, train_file: Path, vocab_size: int, specials: list[str]):
    if hasattr(reference, "train"):
        return reference.train([train_file], special_tokens=specials)
    if "merges" in inspect.signature(reference).parameters:
        from .bpe_training import train_bpe

        vocab, merges = train_bpe(train_file, vocab_size, specials, workers=1)
        return reference(vocab, merges, specials)
    raise TypeError(f"do not know how to train {reference!r}: it has no train() and takes no merges")


def tokenizer_parity(candidate, reference, vocab_size: int = 700, n_chars: int = 120_000) -> ParityResult:
    """Same ids on held-out texts from a directory the reference was trained and saved into."""
    train, held = corpus_texts(n_chars)
    with tempfile.TemporaryDirectory(prefix="lmforge-parity-") as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text(train + EOT + VARIED_TEXTS[0], encoding="utf-8")
        _train_reference(reference, train_file, vocab_size, [EOT]).save(Path(tmp) / "tok")
        cand, ref = candidate.load(Path(tmp) / "tok"), reference.load(Path(tmp) / "tok")
    if cand.vocab_size != ref.vocab_size:
        return ParityResult(1.0, 0.0, False, f"vocab_size {cand.vocab_size} vs {ref.vocab_size}")
    differ = []
    for i, text in enumerate(held):
        want = ref.encode(text)
        got = cand.encode(text)
        if got != want or list(cand.encode_iterable([text])) != want or cand.decode(want) != ref.decode(want):
            differ.append(i)
    error = len(differ) / len(held)
    detail = "" if not differ else (f"{len(differ)} of {len(held)} texts differ, "
                                    f"first {held[differ[0]][:50]!r}")
    return ParityResult(error, 0.0, not differ, detail)


def bpe_trainer_parity(candidate, reference, vocab_size: int = 800, n_chars: int = 120_000,
                       pattern: str = "gpt2") -> ParityResult:
    """Same vocabulary and the same merges, in order, from the same files."""
    train, held = corpus_texts(n_chars)
    specials = [EOT, "<|pad|>"]
    with tempfile.TemporaryDirectory(prefix="lmforge-parity-") as tmp:
        paths = [Path(tmp) / "a.txt", Path(tmp) / "b.txt"]
        paths[0].write_text(train + EOT + "\n".join(VARIED_TEXTS), encoding="utf-8")
        paths[1].write_text("\n".join(held[len(VARIED_TEXTS):len(VARIED_TEXTS) + 2]), encoding="utf-8")
        got = candidate(paths, vocab_size, specials, pattern=pattern, workers=1, progress=False)
        want = reference(paths, vocab_size, specials, pattern=pattern, workers=1, progress=False)
    (vocab_a, merges_a), (vocab_b, merges_b) = got, want
    merges_a, merges_b = [tuple(m) for m in merges_a], [tuple(m) for m in merges_b]
    if merges_a != merges_b:
        first = next((i for i, (a, b) in enumerate(zip(merges_a, merges_b)) if a != b),
                     min(len(merges_a), len(merges_b)))
        n = max(len(merges_a), len(merges_b))
        return ParityResult((n - first) / n, 0.0, False, f"merges differ from #{first} of {n}")
    if dict(vocab_a) != dict(vocab_b):
        wrong = sum(vocab_a.get(k) != v for k, v in vocab_b.items()) + len(set(vocab_a) - set(vocab_b))
        return ParityResult(wrong / max(1, len(vocab_b)), 0.0, False, f"{wrong} vocabulary entries differ")
    return ParityResult(0.0, 0.0, True)
