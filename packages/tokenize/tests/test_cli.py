import json

import pytest
from click.testing import CliRunner

from lmforge.core.cli import build_cli, main
from lmforge.tokenize import load_tokenizer, open_token_file


def run(args):
    result = CliRunner().invoke(build_cli(), args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_train_encode_stats(corpus_file, tmp_path):
    out = tmp_path / "tok"
    assert "saved" in run(["tokenize", "train", "--input", str(corpus_file), "--vocab-size", "400",
                           "--special-token", "<|endoftext|>", "--out", str(out), "--workers", "1"])
    tok = load_tokenizer(out)
    assert tok.vocab_size == 400 and tok.eot_id == 256
    bin_path = tmp_path / "tokens.bin"
    twice = ["--input", str(corpus_file)] * 2
    run(["tokenize", "encode", "--tokenizer", str(out), *twice, "--out", str(bin_path), "--workers", "1"])
    one = tok.encode(corpus_file.read_text(encoding="utf-8")) + [tok.eot_id]
    assert open_token_file(bin_path).tolist() == one + one
    assert json.loads((tmp_path / "tokens.bin.json").read_text())["dtype"] == "uint16"
    assert "bytes/token" in run(["tokenize", "stats", "--tokenizer", str(out), "--input", str(corpus_file)])


@pytest.mark.parametrize("part", ["char", "word", "byte"])
def test_train_other_parts(part, corpus_file, tmp_path):
    run(["tokenize", "train", "--type", part, "--input", str(corpus_file), "--out", str(tmp_path / part)])
    tok = load_tokenizer(tmp_path / part)
    text = corpus_file.read_text(encoding="utf-8")[:2000]
    assert tok.decode(tok.encode(text)) == text


def test_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["tokenize", "train", "--input", str(tmp_path / "missing.txt"), "--vocab-size", "300",
              "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert "training file not found" in err and "Traceback" not in err
    (tmp_path / "c.txt").write_text("abc")
    with pytest.raises(SystemExit):
        main(["tokenize", "train", "--input", str(tmp_path / "c.txt"), "--vocab-size", "10",
              "--out", str(tmp_path)])
    assert "minimum is 257" in capsys.readouterr().err


def test_train_with_the_numba_trainer_saves_the_same_tokenizer(corpus_file, tmp_path):
    for trainer in ("python", "numba"):
        run(["tokenize", "train", "--input", str(corpus_file), "--vocab-size", "350", "--out",
             str(tmp_path / trainer), "--workers", "1", "--trainer", trainer])
    for name in ("vocab.json", "merges.txt"):
        assert (tmp_path / "numba" / name).read_bytes() == (tmp_path / "python" / name).read_bytes()


def test_a_second_writer_of_one_tokenizer_folder_is_refused(corpus_file, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "tok"
    holder = subprocess.Popen(  # another `tokenize train --out tok` still running
        [sys.executable, "-c", "import sys; from lmforge.core import lock_dir\n"
         f"lock = lock_dir({str(out)!r}); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(build_cli(), ["tokenize", "train", "--input", str(corpus_file),
                                                  "--vocab-size", "300", "--out", str(out)])
        assert result.exit_code != 0
        assert f"being written by pid {holder.pid}" in str(result.exception)
        assert not (out / "vocab.json").exists()
    finally:
        holder.communicate("", timeout=60)


def test_train_takes_the_shared_run_options(corpus_file, tmp_path):
    (tmp_path / "tok.toml").write_text(f'inputs = ["{corpus_file}"]\nvocab_size = 300\nworkers = 1\n')
    out = tmp_path / "tok"
    # --config, a flag, --set (wins over both) and --debug after the subcommand
    run(["tokenize", "train", "--config", str(tmp_path / "tok.toml"), "--vocab-size", "320",
         "--out", str(out), "--set", "vocab_size=310", "--debug"])
    assert load_tokenizer(out).vocab_size == 310
    saved = (out / "train_config.toml").read_text()
    assert "vocab_size = 310" in saved and str(corpus_file) in saved
    # --resume on a finished folder does nothing; on a folder whose files were lost it trains again
    assert "nothing to do" in run(["tokenize", "train", "--resume", str(out)])
    (out / "vocab.json").unlink()
    assert "saved to" in run(["tokenize", "train", "--resume", str(out)])
    assert load_tokenizer(out).vocab_size == 310
    gpu = CliRunner().invoke(build_cli(), ["tokenize", "train", "--resume", str(out), "--device", "cuda"])
    assert gpu.exit_code != 0 and "train on the CPU" in str(gpu.exception)
