import json

import numpy as np
import pytest

from lmforge.tokenize import TokenizerError, encode_files_to_bin, open_token_file, tokenizer_fingerprint
from lmforge.tokenize import token_files as tf


def test_files_become_one_flat_array_with_eot_between_documents(small_bpe, tmp_path):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("first document", encoding="utf-8")
    b.write_text("second <|endoftext|> third", encoding="utf-8")
    header = encode_files_to_bin(small_bpe, [a, b], tmp_path / "tokens.bin", workers=1)
    eot = small_bpe.eot_id
    expected = small_bpe.encode("first document") + [eot]
    expected += small_bpe.encode("second <|endoftext|> third") + [eot]
    arr = open_token_file(tmp_path / "tokens.bin")
    assert isinstance(arr, np.memmap) and arr.dtype == np.uint16
    assert arr.tolist() == expected
    assert header == {"dtype": "uint16", "count": len(expected), "vocab_size": small_bpe.vocab_size,
                      "eot_id": eot, "tokenizer_sha256": tokenizer_fingerprint(small_bpe),
                      "errors": "replace", "replaced": 0}
    assert json.loads((tmp_path / "tokens.bin.json").read_text()) == header


def test_parallel_pieces_give_the_sequential_ids(small_bpe, corpus_file, tmp_path, monkeypatch):
    monkeypatch.setattr(tf, "PIECE_BYTES", 2_000)
    encode_files_to_bin(small_bpe, [corpus_file], tmp_path / "t.bin", workers=2)
    expected = small_bpe.encode(corpus_file.read_text(encoding="utf-8")) + [small_bpe.eot_id]
    assert open_token_file(tmp_path / "t.bin").tolist() == expected


def test_uint32_for_big_vocabularies():
    assert tf.token_dtype(65536) == np.uint16 and tf.token_dtype(65537) == np.uint32


def test_sidecar_mismatch_and_missing_files_are_clear_errors(small_bpe, tmp_path):
    path = tmp_path / "t.bin"
    (tmp_path / "doc.txt").write_text("hello", encoding="utf-8")
    encode_files_to_bin(small_bpe, [tmp_path / "doc.txt"], path, workers=1)
    with open(path, "ab") as f:
        f.write(b"\0")
    with pytest.raises(TokenizerError, match="does not match the sidecar"):
        open_token_file(path)
    with pytest.raises(TokenizerError, match="missing"):
        open_token_file(tmp_path / "nothing.bin")
    with pytest.raises(TokenizerError, match="not found"):
        encode_files_to_bin(small_bpe, [tmp_path / "nope.txt"], path)
