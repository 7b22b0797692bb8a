"""``lmforge recipe run --size tiny`` end to end in a real subprocess: report card, skipped reruns,
``--from``, and runs killed in the middle (SIGTERM in pretraining, SIGKILL in GRPO) that a rerun
finishes from the interrupted stage."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# tiny, with a GRPO long enough to be killed in the middle of
TINY = ["--size", "tiny", "--set", "grpo.steps=40", "--set", "grpo.run.eval_every=20"]


def recipe(directory: Path, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "lmforge.core", "recipe", "run", "--dir", str(directory), *TINY, *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True, **popen)


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def kill_when(proc: subprocess.Popen, path: Path, sig: int, timeout: float = 600) -> None:
    """Send ``sig`` to the run's process group as soon as ``path`` exists (the run must still be going)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path} appeared:\n{proc.stdout.read()[-3000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, sig)
    proc.communicate(timeout=120)
    assert proc.returncode != 0


def skipped(out: str) -> set[str]:
    return {line.split()[1].rstrip(":") for line in out.splitlines() if line.endswith("skipped")}


def done(directory: Path, stage: str) -> dict:
    return json.loads((directory / stage / "DONE.json").read_text())


def test_tiny_recipe_end_to_end_and_interrupted(tmp_path):
    d = tmp_path / "recipe"
    # killed by SIGTERM while pretraining: the trainer stops cleanly, the stage is not marked done
    proc = recipe(d)
    kill_when(proc, d / "pretrain" / "run" / "metrics.jsonl", signal.SIGTERM)
    assert (d / "tokenizer" / "DONE.json").is_file() and not (d / "pretrain" / "DONE.json").exists()
    tokenizer_marker = done(d, "tokenizer")

    # killed by SIGKILL in the middle of GRPO
    proc = recipe(d)
    kill_when(proc, d / "grpo" / "run" / "metrics.jsonl", signal.SIGKILL)
    assert (d / "sft" / "DONE.json").is_file() and not (d / "grpo" / "DONE.json").exists()
    assert done(d, "tokenizer") == tokenizer_marker  # the second run did not redo it

    out = finish(recipe(d))
    assert skipped(out) == {"web", "data", "tokenizer", "pretrain", "sft"}
    report = (d / "report.md").read_text()

    # every stage did its job, and the report card says so
    data = done(d, "data")["result"]
    assert data["figures"]["documents kept"] > 0
    steps = {s["step"] for s in data["steps"]}
    assert {"filter:language", "filter:gopher", "dedup:exact_line", "dedup:minhash"} <= steps
    assert "| filter:language |" in report and "![drops per step](data/drops_per_step.png)" in report
    pre = done(d, "pretrain")["result"]["figures"]
    assert 1.0 <= pre["spent / budget"] < 1.05  # exactly the budget, rounded up to whole steps
    assert "Chinchilla" in report
    ev = done(d, "eval")["result"]
    assert ev["figures"]["val loss (nats/token)"] < ev["figures"]["unigram loss (nats/token)"]
    assert set(ev["accuracy"]) == {"before SFT", "after SFT", "after GRPO"}
    for plot in ("data/drops_per_step.png", "eval/pretrain_loss.png", "eval/accuracy_reward.png"):
        assert (d / plot).stat().st_size > 1000 and f"]({plot})" in report
    for section in ("1. web", "2. data", "3. tokenizer", "4. pretrain", "5. sft", "6. grpo", "7. eval",
                    "## Versions", "| lmforge-recipe |", "| doc_filter | gopher | lmforge-data |"):
        assert section in report
    assert report.count("| wall time |") == 7

    # a rerun does nothing; --from reruns that stage and the later ones
    out = finish(recipe(d))
    assert skipped(out) == {"web", "data", "tokenizer", "pretrain", "sft", "grpo", "eval"}
    out = finish(recipe(d, "--from", "grpo"))
    assert skipped(out) == {"web", "data", "tokenizer", "pretrain", "sft"}
    # a changed section reruns from that stage on
    out = finish(recipe(d, "--set", "sft.steps=10"))
    assert skipped(out) == {"web", "data", "tokenizer", "pretrain"}
