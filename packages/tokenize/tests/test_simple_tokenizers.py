"""char, byte and word tokenizers: round trips on arbitrary Unicode, unknowns, specials, save/load."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.core import get_part
from lmforge.tokenize import ByteTokenizer, CharTokenizer, TokenizerError, WordTokenizer, load_tokenizer
from lmforge.tokenize.vocab_tokenizer import UNK_TEXT

EOT = "<|endoftext|>"


@settings(max_examples=80, deadline=None)
@given(st.text())
def test_byte_round_trip(text):
    tok = ByteTokenizer([EOT])
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode(text) == list(text.encode("utf-8"))


@settings(max_examples=80, deadline=None)
@given(st.text(), st.text())
def test_char_round_trip_and_unknowns(train, text):
    tok = CharTokenizer.from_text(train + text, [EOT])
    assert tok.decode(tok.encode(text)) == text
    narrow = CharTokenizer.from_text(train, [EOT])
    assert narrow.decode(narrow.encode(text)) == "".join(c if c in set(train) else UNK_TEXT for c in text)


@settings(max_examples=80, deadline=None)
@given(st.text(), st.text())
def test_word_round_trip(train, text):
    # "\x00" is neither a word nor a space character, so the training text's units include text's units
    tok = WordTokenizer.from_text(train + "\x00" + text, [EOT])
    assert tok.decode(tok.encode(text)) == text


def test_word_splits_words_spaces_and_punctuation_and_caps_vocab():
    tok = WordTokenizer.from_text("the cat, the dog. the end", max_units=3)
    assert tok.split("the cat, ok") == ["the", " ", "cat", ",", " ", "ok"]
    assert tok.units == [" ", "the", ","] or tok.units[:2] == [" ", "the"]
    assert tok.encode("the zebra")[2] == tok.unk_id


def test_specials_are_single_ids_everywhere():
    toks = ByteTokenizer([EOT]), CharTokenizer.from_text("ab", [EOT]), WordTokenizer.from_text("ab", [EOT])
    for tok in toks:
        ids = tok.encode(f"ab{EOT}ab")
        assert tok.eot_id in ids and ids.count(tok.eot_id) == 1
        assert tok.decode(ids) == f"ab{EOT}ab"
        assert tok.token_to_id(EOT) == tok.eot_id


def test_bad_ids_are_clear_errors():
    for tok in (ByteTokenizer(), CharTokenizer.from_text("ab"), WordTokenizer.from_text("ab")):
        with pytest.raises(TokenizerError, match="not in the vocabulary"):
            tok.decode([tok.vocab_size])
        with pytest.raises(TokenizerError, match="not in the vocabulary"):
            tok.decode([-1])


def test_byte_decodes_invalid_utf8_to_replacement():
    assert ByteTokenizer().decode([0xC3]) == "\ufffd"


@pytest.mark.parametrize("name", ["char", "byte", "word"])
def test_parts_save_load_and_train_from_files(name, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("Hello, world! Hello again.\n<|endoftext|>Second doc 日本\n", encoding="utf-8")
    part = get_part("tokenizer", name)
    tok = part([EOT]) if name == "byte" else part.train([corpus], [EOT])
    text = corpus.read_text(encoding="utf-8")
    assert tok.decode(tok.encode(text)) == text
    tok.save(tmp_path / "tok")
    again = load_tokenizer(tmp_path / "tok")
    assert type(again).__name__ == type(tok).__name__
    assert again.encode(text) == tok.encode(text) and again.vocab_size == tok.vocab_size
    with open(corpus, encoding="utf-8") as f:
        assert list(again.encode_iterable(f)) == tok.encode(text)
