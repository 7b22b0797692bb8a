"""With GPT-2's released files, BPETokenizer gives exactly tiktoken's gpt2 ids."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.tokenize import read_gpt2_files, write_gpt2_files
from lmforge.tokenize.sample_texts import VARIED_TEXTS, english_text


@pytest.mark.parametrize("text", VARIED_TEXTS)
def test_varied_texts_match_tiktoken(gpt2_bpe, tiktoken_gpt2, text):
    assert gpt2_bpe.encode(text) == tiktoken_gpt2.encode(text, allowed_special="all")
    assert gpt2_bpe.decode(gpt2_bpe.encode(text)) == text


def test_prose_and_code_match_tiktoken(gpt2_bpe, tiktoken_gpt2):
    import inspect
    import json

    text = english_text(40_000) + inspect.getsource(json)
    assert gpt2_bpe.encode(text) == tiktoken_gpt2.encode(text, disallowed_special=())


def test_long_run_of_one_letter_matches_tiktoken(gpt2_bpe, tiktoken_gpt2):
    text = "z" * 3000 + " " + "ab" * 2000
    assert gpt2_bpe.encode(text) == tiktoken_gpt2.encode(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode_matches_tiktoken(gpt2_bpe, tiktoken_gpt2, text):
    assert gpt2_bpe.encode_ordinary(text) == tiktoken_gpt2.encode_ordinary(text)


def test_gpt2_files_round_trip(gpt2_files, tmp_path):
    vocab, merges = read_gpt2_files(*gpt2_files)
    assert len(vocab) == 50257 and len(merges) == 50000
    write_gpt2_files(vocab, merges, tmp_path / "encoder.json", tmp_path / "vocab.bpe")
    assert read_gpt2_files(tmp_path / "encoder.json", tmp_path / "vocab.bpe") == (vocab, merges)
    assert (tmp_path / "vocab.bpe").read_text(encoding="utf-8").splitlines()[1] == "Ġ t"
