"""Parity of every fast ``bpe_trainer`` with its reference on real text: identical merges and vocabulary."""

import sysconfig
from pathlib import Path

import pytest

from lmforge.core import get_part, get_registry

EOT = "<|endoftext|>"


def fast_trainers() -> list[tuple[str, str]]:
    return [(p.name, p.reference) for p in get_registry() if p.kind == "bpe_trainer" and p.reference]


@pytest.fixture(scope="module")
def stdlib_corpus(tmp_path_factory) -> Path:
    """About 1.5 MB of the standard library's own sources, one document per module."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    docs, size = [], 0
    for p in sorted(stdlib.glob("*.py")):
        text = p.read_text(encoding="utf-8", errors="replace")
        docs.append(text)
        size += len(text)
        if size > 1_500_000:
            break
    path = tmp_path_factory.mktemp("stdlib") / "stdlib.txt"
    path.write_text(EOT.join(docs), encoding="utf-8")
    return path


def test_the_numba_trainer_is_registered_against_the_python_one():
    assert ("numba", "python") in fast_trainers()


@pytest.mark.parametrize(("name", "reference"), fast_trainers())
def test_same_merges_and_vocab_on_stdlib_sources(name, reference, stdlib_corpus):
    expected = get_part("bpe_trainer", reference)(stdlib_corpus, 3000, [EOT], workers=2)
    got = get_part("bpe_trainer", name)(stdlib_corpus, 3000, [EOT], workers=2)
    assert len(expected[1]) == 3000 - 257
    assert got[1] == expected[1]
    assert got[0] == expected[0]


@pytest.mark.parametrize(("name", "reference"), fast_trainers())
def test_same_merges_with_unicode_and_several_specials(name, reference, corpus_file):
    specials = [EOT, "<|pad|>"]
    expected = get_part("bpe_trainer", reference)(corpus_file, 700, specials, pattern="cl100k")
    assert get_part("bpe_trainer", name)(corpus_file, 700, specials, pattern="cl100k") == expected
