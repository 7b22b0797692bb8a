import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.tokenize import BPETokenizer, TokenizerError
from lmforge.tokenize.bpe_merge import _bpe_heap, bpe_ids
from lmforge.tokenize.streaming import safe_pieces

SPECIALS = ["<|endoftext|>", "<|endoftext|><|endoftext|>"]


def tiny_tokenizer(specials=None):
    vocab = {i: bytes([i]) for i in range(256)}
    merges = [(b"a", b"a"), (b"aa", b"aa"), (b"a", b"b"), (b" ", b"ab"), (b"aaaa", b"a")]
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return BPETokenizer(vocab, merges, specials)


def test_merges_by_rank_not_left_to_right():
    tok = tiny_tokenizer()
    # "aab": (a,a) has rank 0 and (a,b) rank 2, so "aa" + "b", not "a" + "ab"
    assert [tok.decode([i]) for i in tok.encode("aab")] == ["aa", "b"]
    assert [tok.decode([i]) for i in tok.encode(" ab")] == [" ab"]
    assert [tok.decode([i]) for i in tok.encode("aaaaa")] == ["aaaaa"]


def test_longest_special_wins_and_specials_are_never_split():
    tok = tiny_tokenizer(SPECIALS)
    single, double = tok.token_to_id(SPECIALS[0]), tok.token_to_id(SPECIALS[1])
    assert tok.encode("<|endoftext|><|endoftext|>") == [double]
    assert tok.encode("x<|endoftext|>y") == [ord("x"), single, ord("y")]
    assert tok.encode("<|endoftext|>" * 3) == [double, single]
    assert tok.eot_id == single
    assert tok.decode(tok.encode("a<|endoftext|><|endoftext|>b")) == "a<|endoftext|><|endoftext|>b"


def test_unknown_special_is_a_clear_error():
    with pytest.raises(TokenizerError, match="not a special token"):
        tiny_tokenizer().token_to_id("<|pad|>")


def test_invalid_utf8_decodes_to_replacement_and_bad_ids_raise():
    tok = tiny_tokenizer()
    ids = tok.encode("é")  # two bytes
    assert tok.decode(ids[:1]) == "\ufffd"
    for bad in ([tok.vocab_size], [-1], [10**9], ["a"]):
        with pytest.raises(TokenizerError, match="not in the vocabulary"):
            tok.decode(bad)


def _loop_merge(ids, table):
    from lmforge.tokenize import bpe_merge

    saved = bpe_merge.LONG_PIECE
    bpe_merge.LONG_PIECE = 10**9
    try:
        return bpe_ids(ids, table)
    finally:
        bpe_merge.LONG_PIECE = saved


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="aeiouthns \n", min_size=1, max_size=400))
def test_heap_merge_equals_loop_merge(small_bpe, text):
    ids = [small_bpe._byte_ids[b] for b in text.encode()]
    assert _bpe_heap(ids, small_bpe._table) == _loop_merge(ids, small_bpe._table)


def test_one_megabyte_of_one_letter(small_bpe):
    text = "a" * (1 << 20)
    ids = small_bpe.encode(text)
    assert small_bpe.decode(ids) == text


@settings(max_examples=80, deadline=None)
@given(st.text())
def test_round_trip_arbitrary_unicode(small_bpe, text):
    assert small_bpe.decode(small_bpe.encode(text)) == text


def test_cache_is_used(small_bpe):
    small_bpe.encode("cache me if you can")
    assert "cache" in small_bpe._cache and " you" in small_bpe._cache


_pieces = st.lists(st.sampled_from(["a", "b", " ", "  ", "\n", "\t", "x.", "<|endoftext|>", "<|end", "of",
                                    "text|>", "é", "1", "'s", "日本"]), max_size=60)


@settings(max_examples=150, deadline=None)
@given(_pieces, st.lists(st.integers(0, 40), max_size=8))
def test_streaming_equals_whole_encode(small_bpe, parts, cuts):
    text = "".join(parts)
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[i:j] for i, j in zip([0, *points], [*points, len(text)])]
    pieces = list(safe_pieces(chunks, small_bpe.special_tokens, min_block=1))
    assert "".join(pieces) == text
    assert [i for p in pieces for i in small_bpe.encode(p)] == small_bpe.encode(text)
    assert list(small_bpe.encode_iterable(chunks)) == small_bpe.encode(text)


def test_encode_iterable_on_a_file_handle(small_bpe, corpus_file):
    text = corpus_file.read_text(encoding="utf-8") * 3
    path = corpus_file.parent / "x3.txt"
    path.write_text(text, encoding="utf-8")
    with open(path, encoding="utf-8") as f:
        assert list(small_bpe.encode_iterable(f)) == small_bpe.encode(text)


def test_save_and_load_round_trip(small_bpe, tmp_path):
    from lmforge.tokenize import load_tokenizer

    small_bpe.save(tmp_path / "tok")
    again = load_tokenizer(tmp_path / "tok")
    assert again.vocab == small_bpe.vocab and again.merges == small_bpe.merges
    assert again.special_tokens == small_bpe.special_tokens
    text = "Saving <|endoftext|> and loading 日本"
    assert again.encode(text) == small_bpe.encode(text)


def test_cl100k_pattern_is_selectable(small_bpe):
    tok = BPETokenizer(small_bpe.vocab, small_bpe.merges, ["<|endoftext|>"], pattern="cl100k")
    assert tok._regex.findall("12345 abc") == ["123", "45", " abc"]
    assert small_bpe._regex.findall("12345 abc") == ["12345", " abc"]
