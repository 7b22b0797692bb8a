"""Undecodable input is counted and warned about; --errors strict|replace|ignore on the encode path."""

import json
import random

import pytest
from click.testing import CliRunner

from lmforge.core.cli import build_cli, main
from lmforge.tokenize import TokenizerError, UndecodableInputWarning, encode_files_to_bin, open_token_file


@pytest.fixture()
def random_bytes(tmp_path):
    path = tmp_path / "random.bin.txt"
    path.write_bytes(b"valid start \xef\xbf\xbd " + random.Random(0).randbytes(30_000))
    return path


def test_replace_counts_and_warns(small_bpe, random_bytes, tmp_path):
    raw = random_bytes.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    expected = text.count("\ufffd") - 1  # the U+FFFD written in the input is not an error
    with pytest.warns(UndecodableInputWarning, match=f"{expected} undecodable byte sequences"):
        header = encode_files_to_bin(small_bpe, [random_bytes], tmp_path / "t.bin", workers=1)
    assert header["replaced"] == expected > 1000 and header["errors"] == "replace"
    assert open_token_file(tmp_path / "t.bin").tolist() == small_bpe.encode(text) + [small_bpe.eot_id]


def test_ignore_drops_and_counts(small_bpe, random_bytes, tmp_path):
    with pytest.warns(UndecodableInputWarning, match="were dropped"):
        header = encode_files_to_bin(small_bpe, [random_bytes], tmp_path / "t.bin", workers=1,
                                     errors="ignore")
    text = random_bytes.read_bytes().decode("utf-8", errors="ignore")
    assert header["replaced"] > 1000
    assert open_token_file(tmp_path / "t.bin").tolist() == small_bpe.encode(text) + [small_bpe.eot_id]


def test_strict_names_the_file_and_offset(small_bpe, random_bytes, tmp_path):
    try:
        random_bytes.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        first_bad = e.start
    with pytest.raises(TokenizerError, match=rf"random\.bin\.txt: invalid UTF-8 at byte {first_bad}\b"):
        encode_files_to_bin(small_bpe, [random_bytes], tmp_path / "t.bin", workers=1, errors="strict")
    assert not (tmp_path / "t.bin").exists()


def test_clean_text_warns_nothing(small_bpe, tmp_path, recwarn):
    (tmp_path / "ok.txt").write_text("all good \ufffd here", encoding="utf-8")
    header = encode_files_to_bin(small_bpe, [tmp_path / "ok.txt"], tmp_path / "t.bin", workers=1)
    assert header["replaced"] == 0
    assert not [w for w in recwarn if issubclass(w.category, UndecodableInputWarning)]


def test_cli_errors_option(small_bpe, random_bytes, tmp_path, capsys):
    small_bpe.save(tmp_path / "tok")
    base = ["tokenize", "encode", "--tokenizer", str(tmp_path / "tok"), "--input", str(random_bytes),
            "--workers", "1", "--out"]
    result = CliRunner().invoke(build_cli(), [*base, str(tmp_path / "a.bin")])
    assert result.exit_code == 0, result.output
    assert "undecodable byte sequences (not UTF-8) were encoded as U+FFFD" in result.output
    assert json.loads((tmp_path / "a.bin.json").read_text())["replaced"] > 1000
    with pytest.raises(SystemExit) as exit_info:
        main([*base, str(tmp_path / "b.bin"), "--errors", "strict"])
    err = capsys.readouterr().err
    assert exit_info.value.code != 0 and "invalid UTF-8 at byte 16" in err and "Traceback" not in err
