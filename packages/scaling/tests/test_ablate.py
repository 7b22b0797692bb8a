"""``lmforge scaling ablate``: real training of one model per pipeline output at exactly equal FLOPs.

The "pipelines" are three real outputs a filter could produce from the Python standard library's
sources (always present): everything, only prose-like lines, and a tiny remnant that must be repeated.
"""

from __future__ import annotations

import json
import math
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core import LmforgeError, get_part
from lmforge.core.cli import build_cli

LIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = ("argparse.py", "textwrap.py", "difflib.py", "inspect.py")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from lmforge.tokenize import encode_files_to_bin, load_tokenizer

    d = tmp_path_factory.mktemp("ablate")
    text = "\n".join((LIB / m).read_text() for m in MODULES)
    prose = "\n".join(line for line in text.splitlines()
                      if line.strip() and not any(c in line for c in "=()[]:"))
    outputs = {"all": text, "prose": prose, "tiny": text[:3000]}
    get_part("tokenizer", "byte")(special_tokens=["<|endoftext|>"]).save(d / "tok")
    tok = load_tokenizer(d / "tok")
    for name, body in outputs.items():
        (d / f"{name}.txt").write_text(body)
        encode_files_to_bin(tok, [d / f"{name}.txt"], d / f"{name}.bin", workers=1)
    (d / "heldout.txt").write_text((LIB / "shlex.py").read_text())
    return d


def ablate(corpus: Path, out: Path, *pipelines: str, budget: str = "1e10") -> dict:
    args = ["scaling", "ablate", "--heldout", str(corpus / "heldout.txt"), "--tokenizer-dir",
            str(corpus / "tok"), "--budget", budget, "--total-flops", "5e10", "--d-model", "32",
            "--num-layers", "2", "--num-heads", "2", "--context-length", "32", "--batch-size", "8",
            "--eval-batches", "8", "--out", str(out)]
    for p in pipelines:
        args += ["--pipeline", p]
    result = CliRunner().invoke(build_cli(), args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "best:" in result.output
    return json.loads((out / "ablation.json").read_text())


def test_equal_compute_ablation_ranks_pipelines_and_reuses_runs(corpus, tmp_path):
    names = [f"{n}={corpus / n}.bin" for n in ("all", "prose", "tiny")]
    report = ablate(corpus, tmp_path / "out", *names)
    rows = {r["pipeline"]: r for r in report["rows"]}
    assert set(rows) == {"all", "prose", "tiny"}

    # equal compute: the same shape saw the same tokens for the same FLOPs, at most one step past budget
    assert len({r["tokens_seen"] for r in rows.values()}) == 1
    assert len({r["flops"] for r in rows.values()}) == 1
    per_step = rows["all"]["flops"] / (rows["all"]["tokens_seen"] / (8 * 32))
    assert 1e10 <= rows["all"]["flops"] < 1e10 + per_step
    for r in rows.values():
        assert r["repetition"] == pytest.approx(r["tokens_seen"] / r["kept_tokens"])
    assert rows["tiny"]["repetition"] > 10 > 1 > rows["all"]["repetition"]

    # byte tokens: bits per byte is the loss in bits (the rare end-of-text token has no bytes)
    for r in rows.values():
        assert r["bits_per_byte"] == pytest.approx(r["val_loss"] / math.log(2), rel=0.01)
        assert r["perplexity"] == pytest.approx(math.exp(r["val_loss"]))
    bpb = [r["bits_per_byte"] for r in report["rows"]]
    assert bpb == sorted(bpb) and report["best"] == report["rows"][0]["pipeline"]
    assert bpb[-1] - bpb[0] > 0.05  # the pipelines really differ
    assert rows["all"]["bits_per_byte"] < rows["tiny"]["bits_per_byte"]  # 25 epochs of 3 KB overfit
    assert (tmp_path / "out" / "ablation.png").stat().st_size > 10_000

    # the same ablation again is answered by the ledger; a changed output is a new experiment
    spent = report["ledger"]["spent"]
    again = ablate(corpus, tmp_path / "out", *names)
    assert all(r["cached"] for r in again["rows"]) and again["ledger"]["spent"] == spent
    assert [r["val_loss"] for r in again["rows"]] == [r["val_loss"] for r in report["rows"]]
    changed = tmp_path / "tiny2.bin"
    changed.write_bytes((corpus / "tiny.bin").read_bytes()[2:] + (corpus / "tiny.bin").read_bytes()[:2])
    Path(f"{changed}.json").write_text((corpus / "tiny.bin.json").read_text())
    third = ablate(corpus, tmp_path / "out", *names[:2], f"tiny={changed}")
    assert {r["pipeline"]: r["cached"] for r in third["rows"]} == {"all": True, "prose": True, "tiny": False}


def test_refuses_what_cannot_be_compared(corpus, tmp_path):
    from lmforge.scaling.ablate import run_ablation

    shape = {"context_length": 32, "d_model": 32, "num_layers": 2, "num_heads": 2}
    heldout, tok = corpus / "heldout.txt", corpus / "tok"
    with pytest.raises(LmforgeError, match="at least two"):
        run_ablation({"all": corpus / "all.bin"}, heldout, tok, 1e10, shape, tmp_path)
    other = tmp_path / "other.bin"
    other.write_bytes((corpus / "tiny.bin").read_bytes())
    meta = json.loads((corpus / "tiny.bin.json").read_text())
    Path(f"{other}.json").write_text(json.dumps({**meta, "vocab_size": 1000}))
    with pytest.raises(LmforgeError, match="vocabulary differs"):
        run_ablation({"all": corpus / "all.bin", "other": other}, heldout, tok, 1e10, shape, tmp_path / "o")
