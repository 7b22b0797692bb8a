"""Tokenizer files are validated on load: errors name the file and line instead of encoding silently worse."""

import json

import pytest

from lmforge.tokenize import BPETokenizer, TokenizerError, load_tokenizer, train_bpe


@pytest.fixture()
def saved(tmp_path, corpus_file):
    vocab, merges = train_bpe(corpus_file, 400, ["<|endoftext|>"], workers=1)
    BPETokenizer(vocab, merges, ["<|endoftext|>"]).save(tmp_path / "tok")
    return tmp_path / "tok"


def test_a_valid_tokenizer_loads(saved):
    assert load_tokenizer(saved).vocab_size == 400


def test_truncated_vocab_json_names_the_file_and_line(saved):
    path = saved / "vocab.json"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TokenizerError, match=r"vocab\.json:\d+: not valid JSON .*truncated"):
        load_tokenizer(saved)


def test_vocab_json_cut_inside_a_character_names_the_file(saved):
    path = saved / "vocab.json"
    raw = path.read_bytes()
    cut = raw.index("Ġ".encode()) + 1  # half of a two-byte character
    path.write_bytes(raw[:cut])
    with pytest.raises(TokenizerError, match=r"vocab\.json: not UTF-8 text"):
        load_tokenizer(saved)


def test_merges_cut_short_is_an_error_not_a_worse_tokenizer(saved):
    path = saved / "merges.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:101]) + "\n", encoding="utf-8")  # header + 100 of 143 merges
    with pytest.raises(TokenizerError, match=r"merges\.txt: 43 tokens of .*vocab\.json are made by no merge"):
        load_tokenizer(saved)


def test_a_merge_outside_the_vocabulary_names_its_line(saved):
    path = saved / "merges.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[5] = "qq zz"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match=r"merges\.txt:6: the merge's (left part|result) '.*' is not in"):
        load_tokenizer(saved)


def test_ids_must_be_unique_and_dense(saved):
    path = saved / "vocab.json"
    encoder = json.loads(path.read_text(encoding="utf-8"))
    first_token = next(t for t, i in encoder.items() if i == 70)  # "f": a plain letter
    path.write_text(json.dumps({**encoder, "zzzz": 70}, ensure_ascii=False, indent=0), encoding="utf-8")
    message = rf"vocab\.json:402: id 70 is given to both '{first_token}' and 'zzzz'"
    with pytest.raises(TokenizerError, match=message):
        load_tokenizer(saved)
    holed = {t: (i + 1 if i >= 300 else i) for t, i in encoder.items()}
    path.write_text(json.dumps(holed, ensure_ascii=False, indent=0), encoding="utf-8")
    with pytest.raises(TokenizerError, match="ids are not dense: 400 tokens but id 300 is missing"):
        load_tokenizer(saved)


@pytest.mark.parametrize("text", ['{"type": "bpe", "format_', '["bpe"]', '{"format_version": 1}'])
def test_a_damaged_meta_file_is_a_tokenizer_error(saved, text):
    (saved / "tokenizer.meta.json").write_text(text)  # cut short, or not what write_meta wrote
    with pytest.raises(TokenizerError, match=r"tokenizer\.meta\.json"):
        load_tokenizer(saved)
