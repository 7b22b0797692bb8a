"""Training exactness: hand-checked corpora, a naive reference trainer, specials, errors, parallel chunks."""

from collections import Counter

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.core import get_part
from lmforge.tokenize import TokenizerError, train_bpe
from lmforge.tokenize import pretoken_counts as pc
from lmforge.tokenize.patterns import GPT2_PATTERN
from lmforge.tokenize.sample_texts import english_text


def reference_train(text: str, vocab_size: int, specials: list[str]):
    """Textbook BPE: recount every pair after every merge; ties to the greater pair of bytes."""
    parts = regex.split("|".join(regex.escape(s) for s in specials), text) if specials else [text]
    words = Counter()
    for part in parts:
        for piece in regex.findall(GPT2_PATTERN, part):
            words[tuple(bytes([b]) for b in piece.encode())] += 1
    merges = []
    while 256 + len(specials) + len(merges) < vocab_size:
        pairs = Counter()
        for w, c in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        new_words = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] += c
        words = new_words
    return merges


TRAINERS = ["python", "numba"]  # every registered bpe_trainer must pass the exactness tests


@pytest.fixture(params=TRAINERS)
def trainer(request):
    return get_part("bpe_trainer", request.param)


def write(tmp_path, text, name="c.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_hand_checked_tie_break(tmp_path, trainer):
    # pre-tokens "ab", " cd": three pairs, each seen once. Greatest first: (c,d) > (a,b) > (" ", cd)
    _, merges = trainer(write(tmp_path, "ab cd"), 259, [])
    assert merges == [(b"c", b"d"), (b"a", b"b"), (b" ", b"cd")]


def test_hand_checked_counts_beat_ties(tmp_path, trainer):
    # " low" x3, " lower" x1: (" ",l)=(l,o)=(o,w)=4; greatest is (o,w), then (l,ow), then (" ",low)
    vocab, merges = trainer(write(tmp_path, " low low low lower"), 256 + 4, [])
    assert merges == [(b"o", b"w"), (b"l", b"ow"), (b" ", b"low"), (b"e", b"r")]
    assert vocab[259] == b"er" and len(vocab) == 260


def test_prefix_tie_break(tmp_path, trainer):
    # words abc x2, ab, ad x2 (newlines are their own pre-tokens): (a,b)=3 first; then (ab,c) and (a,d)
    # tie at 2 and, as tuples of bytes, b"ab" > b"a", so (ab,c) wins
    text = "abc\nabc\nab\nad\nad"
    _, merges = trainer(write(tmp_path, text), 256 + 3, [])
    assert merges == [(b"a", b"b"), (b"ab", b"c"), (b"a", b"d")]
    assert merges == reference_train(text, 256 + 3, [])


def test_specials_split_text_and_are_never_merged(tmp_path, trainer):
    text = "<|endoftext|>".join(["hello world"] * 50)
    vocab, merges = trainer(write(tmp_path, text), 300, ["<|endoftext|>"])
    assert vocab[256] == b"<|endoftext|>"
    assert sorted(vocab) == list(range(len(vocab)))
    learned = [vocab[i] for i in range(257, len(vocab))]
    assert learned and not any(b"<|" in t or b"|>" in t for t in learned)
    assert merges == reference_train(text, len(vocab), ["<|endoftext|>"])


@pytest.mark.parametrize("name", TRAINERS)
@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="abcd \n", min_size=1, max_size=300), st.integers(257, 300))
def test_matches_reference_trainer(tmp_path_factory, name, text, vocab_size):
    path = write(tmp_path_factory.mktemp("h"), text)
    _, merges = get_part("bpe_trainer", name)(path, vocab_size, [])
    assert merges == reference_train(text, vocab_size, [])


def test_matches_reference_on_english(tmp_path, trainer):
    text = english_text(8_000)
    assert trainer(write(tmp_path, text), 400, [])[1] == reference_train(text, 400, [])


def test_parallel_chunks_equal_single_process(tmp_path, monkeypatch, corpus_file):
    single = train_bpe(corpus_file, 500, ["<|endoftext|>"], workers=1)
    monkeypatch.setattr(pc, "PARALLEL_ABOVE", 0)
    monkeypatch.setattr(pc, "MIN_CHUNK", 3_000)
    monkeypatch.setattr(pc, "MAX_CHUNK", 5_000)
    monkeypatch.setattr(pc, "WINDOW", 500)
    n_chunks, _ = pc.iter_chunk_counts(corpus_file, ["<|endoftext|>"], workers=2)
    assert n_chunks > 5
    assert train_bpe(corpus_file, 500, ["<|endoftext|>"], workers=2) == single
    # without specials the cut falls back to "non-space | space"
    plain = write(tmp_path, corpus_file.read_text(encoding="utf-8").replace("<|endoftext|>", "\n"))
    monkeypatch.setattr(pc, "PARALLEL_ABOVE", 10**12)
    expected = train_bpe(plain, 400, [], workers=1)
    monkeypatch.setattr(pc, "PARALLEL_ABOVE", 0)
    assert train_bpe(plain, 400, [], workers=2) == expected


def test_vocab_too_small_says_the_minimum(tmp_path):
    with pytest.raises(TokenizerError, match="minimum is 258"):
        train_bpe(write(tmp_path, "abc"), 257, ["<a>", "<b>"])


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(TokenizerError, match="not found"):
        train_bpe(tmp_path / "nope.txt", 300, [])
    with pytest.raises(TokenizerError, match="empty"):
        train_bpe(write(tmp_path, ""), 300, [])


def test_invalid_utf8_becomes_replacement_character(tmp_path, trainer):
    raw = b"ab\xff\xfeab ab\xc3"
    vocab, merges = trainer(write(tmp_path, raw), 270, [])
    assert merges == reference_train(raw.decode("utf-8", errors="replace"), 270, [])
    assert b"\xef\xbf\xbd" in vocab.values() or (b"\xef", b"\xbf") in merges


def test_stops_when_nothing_is_left_to_merge(tmp_path, trainer):
    vocab, merges = trainer(write(tmp_path, "ab"), 1000, [])
    assert merges == [(b"a", b"b")] and len(vocab) == 257


def test_word_shards_in_worker_processes_give_the_same_merges(corpus_file, monkeypatch):
    from lmforge.tokenize import bpe_trainer

    expected = train_bpe(corpus_file, 450, ["<|endoftext|>"], workers=1)
    monkeypatch.setattr(bpe_trainer, "PARALLEL_MIN_WORDS", 0)
    assert train_bpe(corpus_file, 450, ["<|endoftext|>"], workers=3) == expected


def test_counting_in_slices_equals_counting_the_whole(corpus_file):
    from lmforge.tokenize.patterns import PreTokenizer

    text = corpus_file.read_text(encoding="utf-8").replace("<|endoftext|>", "\n")
    slices = list(pc._slices(text, size=500))
    assert len(slices) > 10 and "".join(slices) == text
    pre = PreTokenizer("gpt2")
    assert sum((Counter(pre.findall(s)) for s in slices), Counter()) == Counter(pre.findall(text))


def test_runs_of_one_byte_match_the_textbook(tmp_path, trainer):
    # (a, a) merges inside runs: overlapping pairs are counted, and merged left to right
    text = "aaaa aaaaa aaaaaaa\nbbbb abab aabaa " * 3 + "aaaaaaaaaaaaaaaaaaaaa"
    assert trainer(write(tmp_path, text), 275, [])[1] == reference_train(text, 275, [])
