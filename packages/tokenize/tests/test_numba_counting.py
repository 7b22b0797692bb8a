"""The numba trainer's compiled pre-token counting: exactly regex's counts, over chunks, files, bad bytes."""

from collections import Counter

import numpy as np
import pytest
import regex

from lmforge.tokenize import pretoken_counts as pc
from lmforge.tokenize import train_bpe, train_bpe_fast
from lmforge.tokenize.bpe_numba_count import PieceCounter, valid_utf8
from lmforge.tokenize.patterns import GPT2_PATTERN
from lmforge.tokenize.sample_texts import VARIED_TEXTS, english_text


def counted(text: str) -> Counter:
    counter = PieceCounter()
    data = text.encode("utf-8")
    counter.add(data, np.zeros(1, np.int64), np.full(1, len(data), np.int64))
    toks, starts, lens, counts = counter.words()
    raw = toks.astype(np.uint8).tobytes()
    return Counter({raw[s:s + n].decode("utf-8"): c for s, n, c in zip(starts, lens, counts)})


def test_counts_equal_regex_findall_with_table_growth():
    # 30k distinct numbers grow the table several times; long words share their first 8 bytes
    text = (english_text(50_000) + "".join(VARIED_TEXTS) + " ".join(str(i) for i in range(30_000))
            + " abcdefghX abcdefghY abcdefghX" + " x" * 1000)
    expected = Counter(p for p in regex.findall(GPT2_PATTERN, text) if len(p.encode("utf-8")) > 1)
    assert counted(text) == expected


@pytest.mark.parametrize("raw", [b"ab\xff\xfe", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\x80",
                                 b"\xe2\x82", "héllo 😀 字 \U0010ffff".encode(), b"plain", b""])
def test_utf8_check_agrees_with_python(raw):
    try:
        raw.decode("utf-8")
        ok = True
    except UnicodeDecodeError:
        ok = False
    assert valid_utf8(np.frombuffer(raw, np.uint8)) is ok


def test_many_chunks_files_specials_and_bad_bytes_equal_the_reference(tmp_path, monkeypatch, corpus_file):
    second = tmp_path / "second.txt"
    second.write_bytes(b"caf\xc3\xa9 \xff\xfe broken <|pad|>" + english_text(20_000).encode() + b" end\xc3")
    specials = ["<|endoftext|>", "<|pad|>"]
    expected = train_bpe([corpus_file, second], 600, specials, workers=1)
    monkeypatch.setattr(pc, "MIN_CHUNK", 3_000)
    monkeypatch.setattr(pc, "MAX_CHUNK", 5_000)
    monkeypatch.setattr(pc, "WINDOW", 500)
    assert len(pc.chunk_bounds(corpus_file, corpus_file.stat().st_size // 5_000 + 1, specials)) > 5
    assert train_bpe_fast([corpus_file, second], 600, specials) == expected


@pytest.mark.parametrize("text", ["<|endoftext|><|endoftext|>", "a b c\n", "<|endoftext|>x<|endoftext|>"])
def test_nothing_or_little_to_merge(tmp_path, text):
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    assert train_bpe_fast(path, 300, ["<|endoftext|>"]) == train_bpe(path, 300, ["<|endoftext|>"])
