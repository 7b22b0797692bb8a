"""Token files record the tokenizer that made them; a different tokenizer is refused, naming both."""

import json
import warnings

import pytest

from lmforge.core import get_part
from lmforge.tokenize import (
    BPETokenizer,
    TokenizerError,
    check_token_file_tokenizer,
    encode_files_to_bin,
    load_tokenizer,
    tokenizer_fingerprint,
    train_bpe,
)
from lmforge.tokenize.sample_texts import english_text


@pytest.fixture(scope="module")
def two_bpes(tmp_path_factory):
    """Two 300-token BPEs from different text: same vocab_size, different merges."""
    d = tmp_path_factory.mktemp("fp")
    out = []
    english = english_text(20_000)
    for name, text in (("a", english), ("b", english.upper())):
        (d / f"{name}.txt").write_text(text, encoding="utf-8")
        vocab, merges = train_bpe(d / f"{name}.txt", 300, ["<|endoftext|>"], workers=1)
        tok = BPETokenizer(vocab, merges, ["<|endoftext|>"])
        tok.save(d / name)
        out.append(d / name)
    return out


def test_fingerprint_is_the_files_not_the_part(two_bpes):
    a, b = two_bpes
    fa = tokenizer_fingerprint(a)
    assert len(fa) == 64 and fa == tokenizer_fingerprint(load_tokenizer(a))
    assert fa == tokenizer_fingerprint(load_tokenizer(a, part="bpe-tiktoken"))
    assert fa != tokenizer_fingerprint(b)
    tok = load_tokenizer(a)
    cut = BPETokenizer({i: t for i, t in tok.vocab.items() if i < tok.vocab_size - 1}, tok.merges[:-1],
                       ["<|endoftext|>"])
    assert tokenizer_fingerprint(cut) != fa  # one merge less is another tokenizer
    other_pattern = BPETokenizer(tok.vocab, tok.merges, ["<|endoftext|>"], pattern="cl100k")
    assert tokenizer_fingerprint(other_pattern) != fa


@pytest.mark.parametrize("part", ["char", "word", "byte"])
def test_every_part_has_a_fingerprint(part, corpus_file, tmp_path):
    cls = get_part("tokenizer", part)
    tok = cls(["<|endoftext|>"]) if part == "byte" else cls.train([corpus_file], ["<|endoftext|>"])
    tok.save(tmp_path / part)
    assert tokenizer_fingerprint(tok) == tokenizer_fingerprint(tmp_path / part)


def test_the_sidecar_names_the_tokenizer_and_a_different_one_is_refused(two_bpes, tmp_path):
    a, b = two_bpes
    doc = tmp_path / "doc.txt"
    doc.write_text("hello world", encoding="utf-8")
    tokens = tmp_path / "tokens.bin"
    encode_files_to_bin(load_tokenizer(a), [doc], tokens, workers=1)
    side = json.loads((tmp_path / "tokens.bin.json").read_text())
    assert side["tokenizer_sha256"] == tokenizer_fingerprint(a) and side["vocab_size"] == 300
    assert check_token_file_tokenizer(tokens, a)["count"] == side["count"]
    with pytest.raises(TokenizerError, match=r"made by tokenizer \w{12}, but the tokenizer .* is \w{12}"):
        check_token_file_tokenizer(tokens, b)
    bigger = load_tokenizer(a)
    bigger = BPETokenizer(bigger.vocab, bigger.merges, ["<|endoftext|>", "<|pad|>"])
    with pytest.raises(TokenizerError, match="vocab_size 300, but the tokenizer has vocab_size 301"):
        check_token_file_tokenizer(tokens, bigger)


def test_an_old_sidecar_is_checked_for_vocab_size_and_warns(two_bpes, tmp_path):
    a, _ = two_bpes
    tokens = tmp_path / "old.bin"
    tokens.write_bytes(b"\0\0")
    (tmp_path / "old.bin.json").write_text(json.dumps({"dtype": "uint16", "count": 1, "vocab_size": 300}))
    with pytest.warns(UserWarning, match="does not record which tokenizer"):
        check_token_file_tokenizer(tokens, a)
    (tmp_path / "old.bin.json").write_text(json.dumps({"dtype": "uint16", "count": 1, "vocab_size": 512}))
    with warnings.catch_warnings(), pytest.raises(TokenizerError, match="vocab_size 512"):
        warnings.simplefilter("error")
        check_token_file_tokenizer(tokens, a)
