"""bpe-tiktoken and bpe-hf give exactly bpe's ids; tokenizer.json and tiktoken exports agree too."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.core import get_part
from lmforge.tokenize import (
    BPETokenizer,
    export_hf_tokenizer_json,
    load_tokenizer,
    read_gpt2_files,
    to_tiktoken_encoding,
    train_bpe,
)
from lmforge.tokenize.sample_texts import VARIED_TEXTS, english_text

SPECIALS = ["<|endoftext|>", "<|endoftext|><|endoftext|>"]
PARITY_TEXTS = [*VARIED_TEXTS, english_text(20_000), "<|endoftext|>" * 3, "x <|endoftext|><|endoftext|>\n"]


@pytest.fixture(scope="module", params=["gpt2-files", "trained-gpt2", "trained-cl100k"])
def trio(request, corpus_file, tmp_path_factory):
    """(bpe, bpe-tiktoken, bpe-hf) over the same vocabulary."""
    if request.param == "gpt2-files":
        paths = request.getfixturevalue("gpt2_files")
        vocab, merges = read_gpt2_files(*paths)
        pattern = "gpt2"
    else:
        pattern = request.param.split("-")[1]
        vocab, merges = train_bpe(corpus_file, 700, SPECIALS[:1], pattern=pattern, workers=1)
    return tuple(get_part("tokenizer", name)(vocab, merges, SPECIALS, pattern=pattern)
                 for name in ("bpe", "bpe-tiktoken", "bpe-hf"))


@pytest.mark.parametrize("text", PARITY_TEXTS)
def test_same_ids_on_varied_text(trio, text):
    ref, tik, hf = trio
    expected = ref.encode(text)
    assert tik.encode(text) == expected
    assert hf.encode(text) == expected
    assert tik.decode(expected) == hf.decode(expected) == text


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=120))
def test_same_ids_on_arbitrary_unicode(trio, text):
    ref, tik, hf = trio
    expected = ref.encode(text)
    assert tik.encode(text) == expected and hf.encode(text) == expected


def test_tiktoken_native_specials_when_no_special_is_a_prefix_of_another(small_bpe):
    specials = ["<|endoftext|>", "<|pad|>"]
    tik = get_part("tokenizer", "bpe-tiktoken")(small_bpe.vocab, small_bpe.merges, specials)
    assert tik._native_specials == {"<|endoftext|>", "<|pad|>"}
    text = "a<|pad|><|endoftext|> b<|endoftext|>"
    ref = BPETokenizer(small_bpe.vocab, small_bpe.merges, ["<|endoftext|>", "<|pad|>"])
    assert tik.encode(text) == ref.encode(text)
    assert tik.encode_batch([text, "x"]) == [ref.encode(text), ref.encode("x")]


def test_doubled_special_is_one_token_in_every_backend(trio):
    assert trio[1]._native_specials is None  # one special is a prefix of the other
    for tok in trio:
        assert tok.encode("<|endoftext|><|endoftext|>") == [tok.token_to_id(SPECIALS[1])]


def test_hf_tokenizer_json_round_trip(trio, tmp_path):
    from tokenizers import Tokenizer

    ref = trio[0]
    path = export_hf_tokenizer_json(ref, tmp_path / "hf")
    loaded = Tokenizer.from_file(str(path))
    for text in PARITY_TEXTS:
        assert loaded.encode(text, add_special_tokens=False).ids == ref.encode(text)


def test_transformers_loads_the_export(small_bpe, tmp_path):
    transformers = pytest.importorskip("transformers")
    path = export_hf_tokenizer_json(small_bpe, tmp_path / "hf")
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(path))
    for text in PARITY_TEXTS[:6]:
        assert fast.encode(text, add_special_tokens=False) == small_bpe.encode(text)


def test_tiktoken_encoding_export(trio):
    ref = trio[0]
    enc = to_tiktoken_encoding(ref)
    text = english_text(5_000)
    assert enc.encode_ordinary(text) == ref.encode_ordinary(text)
    assert enc.encode("a<|endoftext|>b", allowed_special="all") == ref.encode("a<|endoftext|>b")


def test_fast_parts_save_and_load_as_themselves(small_bpe, tmp_path):
    tik = get_part("tokenizer", "bpe-tiktoken")(small_bpe.vocab, small_bpe.merges, small_bpe.special_tokens)
    tik.save(tmp_path / "t")
    assert type(load_tokenizer(tmp_path / "t")).__name__ == "TiktokenBPETokenizer"
    assert type(load_tokenizer(tmp_path / "t", part="bpe-hf")).__name__ == "HFBPETokenizer"
