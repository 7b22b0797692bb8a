"""bpe-fast (numba) against its reference bpe and tiktoken: the GPT-2 scanner piece by piece, then ids."""

import numpy as np
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.core import get_part
from lmforge.core.testing import assert_parity
from lmforge.tokenize import TokenizerError, read_gpt2_files
from lmforge.tokenize.gpt2_scan import char_classes, piece_ends
from lmforge.tokenize.patterns import GPT2_PATTERN
from lmforge.tokenize.sample_texts import VARIED_TEXTS, english_text

EOT = "<|endoftext|>"
# every branch of the pattern: contractions (and near misses), a space before each class, whitespace
# runs before text and at the end, Unicode spaces, combining marks, digits of other scripts
EDGE_TEXTS = ["'s 'll 'S 'l 'v x's ''s '", "  a\t\tb  ", " ", "   ", "a  ", "a \n", "\n\n\nx", "x\n \ny",
              "\u3000\u3000x \u3000y\u00a0z", "e\u0301\u0301 \u0301", "٣٤ 12 x1 ½", "a\u2028b\x1c\x85 ",
              "!!' '?", "\r\n\r\n", "😀😀 😀a"]


def scan(text: str) -> list[str]:
    raw = text.encode("utf-8")
    ends = piece_ends(np.frombuffer(raw, np.uint8), 0, len(raw), char_classes())
    return [raw[a:b].decode("utf-8") for a, b in zip([0, *ends[:-1]], ends)]


@pytest.mark.parametrize("text", [*VARIED_TEXTS, *EDGE_TEXTS, english_text(5_000)])
def test_scanner_cuts_as_the_regex(text):
    assert scan(text) == regex.findall(GPT2_PATTERN, text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \t\n'sdmtlvre aZ9٣é\u0301\u3000\u00a0😀字,.!\x0b\x1c\x85")),
               max_size=30) | st.text(max_size=60))
def test_scanner_cuts_arbitrary_text_as_the_regex(text):
    assert scan(text) == regex.findall(GPT2_PATTERN, text)


@pytest.fixture(scope="module")
def gpt2_pair(gpt2_files):
    """(bpe, bpe-fast) over GPT-2's released files, with a special that is a prefix of another."""
    vocab, merges = read_gpt2_files(*gpt2_files)
    specials = [EOT, EOT + EOT]
    return tuple(get_part("tokenizer", name)(vocab, merges, specials) for name in ("bpe", "bpe-fast"))


LONG = ["z" * 3000 + " " + "ab" * 2000, "1" * 200, "x" * 129, " " * 300 + "y", "ab" * 100 + "\n" * 400]


@pytest.mark.parametrize("text", [*VARIED_TEXTS, *EDGE_TEXTS, *LONG, "", EOT * 3, f"x {EOT}{EOT} y {EOT}\n"])
def test_gpt2_files_same_ids_as_bpe_and_tiktoken(gpt2_pair, tiktoken_gpt2, text):
    ref, fast = gpt2_pair
    expected = ref.encode(text)
    assert fast.encode(text) == expected
    assert fast.encode_ordinary(text) == ref.encode_ordinary(text) == tiktoken_gpt2.encode_ordinary(text)
    assert list(fast.encode_iterable(text.splitlines(keepends=True))) == expected
    if EOT + EOT not in text:
        assert expected == tiktoken_gpt2.encode(text, allowed_special="all")


def test_gpt2_files_prose_and_code_same_ids_as_tiktoken(gpt2_pair, tiktoken_gpt2):
    import inspect
    import json

    text = english_text(60_000) + inspect.getsource(json)  # thousands of distinct words: the cache grows
    assert gpt2_pair[1].encode(text) == tiktoken_gpt2.encode(text, disallowed_special=())


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_gpt2_files_arbitrary_unicode(gpt2_pair, tiktoken_gpt2, text):
    ref, fast = gpt2_pair
    assert fast.encode(text) == ref.encode(text)
    assert fast.encode_ordinary(text) == tiktoken_gpt2.encode_ordinary(text)


def test_trained_vocabulary_same_ids_as_bpe(small_bpe):
    fast = get_part("tokenizer", "bpe-fast")(small_bpe.vocab, small_bpe.merges, small_bpe.special_tokens)
    for text in [*VARIED_TEXTS, *EDGE_TEXTS, *LONG, english_text(20_000)]:
        assert fast.encode(text) == small_bpe.encode(text)
    assert fast.decode(fast.encode(VARIED_TEXTS[0])) == VARIED_TEXTS[0]


def test_lone_surrogate_is_an_error_as_in_bpe(small_bpe):
    fast = get_part("tokenizer", "bpe-fast")(small_bpe.vocab, small_bpe.merges)
    for tok in (small_bpe, fast):
        with pytest.raises(UnicodeEncodeError):
            tok.encode("a \ud800 b")


def test_other_patterns_are_refused(small_bpe):
    with pytest.raises(TokenizerError, match="only the gpt2 pre-tokenization pattern"):
        get_part("tokenizer", "bpe-fast")(small_bpe.vocab, small_bpe.merges, pattern="cl100k")


def test_registered_parity_with_bpe():
    assert_parity("tokenizer", "bpe-fast")


def test_saves_and_loads_as_itself_with_bpe_fingerprint(small_bpe, tmp_path):
    from lmforge.tokenize import load_tokenizer, tokenizer_fingerprint

    fast = get_part("tokenizer", "bpe-fast")(small_bpe.vocab, small_bpe.merges, small_bpe.special_tokens)
    fast.save(tmp_path / "t")
    loaded = load_tokenizer(tmp_path / "t")
    assert type(loaded).__name__ == "NumbaBPETokenizer"
    assert tokenizer_fingerprint(loaded) == tokenizer_fingerprint(small_bpe)
    text = english_text(3_000)
    assert loaded.encode(text) == load_tokenizer(tmp_path / "t", part="bpe").encode(text)
