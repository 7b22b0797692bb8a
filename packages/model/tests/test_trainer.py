"""The trainer: it learns, logs, checkpoints, validates config, stops on NaN and resumes bit-identically."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from lmforge.core import ConfigError, read_metrics
from lmforge.model.trainer import TrainingDiverged, train

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import tiny_config, write_tokens  # noqa: E402


def test_training_learns_and_writes_a_run(tmp_path):
    run = train(tiny_config(tmp_path, "train.grad_accum=2"))
    records = read_metrics(run)
    train_losses = [r["train_loss"] for r in records if "train_loss" in r]
    val = [r for r in records if "val_loss" in r]
    assert len(train_losses) == 30 and [r["step"] for r in val] == [10, 20, 30]
    assert val[-1]["val_loss"] < val[0]["val_loss"] < 4.2  # ln(61) = 4.11 at the start
    assert {"lr", "grad_norm", "tokens_per_s", "tokens", "time_s"} <= set(records[0])
    assert records[-1]["tokens"] == 30 * 8 * 16
    assert (run / "config.toml").is_file() and (run / "checkpoints" / "step_0000030").is_dir()
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_a_new_run_refuses_an_occupied_run_dir(tmp_path):
    train(tiny_config(tmp_path, "train.max_steps=2"))
    with pytest.raises(ConfigError, match="already holds a run.*--resume"):
        train(tiny_config(tmp_path, "train.max_steps=2"))


def test_token_and_flops_budgets_stop_the_run(tmp_path):
    run = train(tiny_config(tmp_path, "train.max_steps=1000", "train.max_tokens=1280"))  # 10 steps
    assert json.loads((run / "summary.json").read_text())["step"] == 10
    from lmforge.model.train_setup import training_flops_per_token

    per_step = training_flops_per_token(tiny_config(tmp_path)) * 8 * 16
    run = train(tiny_config(tmp_path / "f", "train.max_steps=1000", f"train.max_flops={7 * per_step}"))
    assert json.loads((run / "summary.json").read_text())["step"] == 7


@pytest.mark.parametrize("overrides,message", [
    (["model.d_model=30"], "divisible by model.num_heads"),
    (["model.attention=flash9"], "unknown attention 'flash9'.*known: .*reference"),
    (["optimizer.name=sgd"], "unknown optimizer 'sgd'.*known: .*adamw"),
    (["model.context_length=64", "data.val_fraction=0.001"], "shorter than model.context_length"),
    (["model.vocab_size=40"], "tokenizer with 61 tokens but model.vocab_size = 40"),
    (["train.batch_size=7", "train.grad_accum=2"], "divisible by train.grad_accum"),
])
def test_bad_config_fails_fast_with_one_line(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        train(tiny_config(tmp_path, *overrides))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run").exists()


def test_vocab_larger_than_token_dtype_is_rejected(tmp_path):
    tokens = write_tokens(tmp_path / "big.bin", sidecar_vocab=70_000)
    with pytest.raises(ConfigError, match="does not fit its token dtype uint16"):
        train(tiny_config(tmp_path, f"data.train_path={tokens}", "model.vocab_size=70000"))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import lmforge.model.trainer as trainer_module

    real, calls = trainer_module.cross_entropy, {"n": 0}

    def poisoned(logits, targets, **kw):
        calls["n"] += 1
        out = real(logits, targets, **kw)
        return out * float("nan") if calls["n"] == 15 else out  # the 15th training loss

    monkeypatch.setattr(trainer_module, "cross_entropy", poisoned)
    cfg = tiny_config(tmp_path, "train.checkpoint_every=5", "train.eval_every=100")
    with pytest.raises(TrainingDiverged, match="step 15.*step_0000010"):
        train(cfg)
    from lmforge.model.run_checkpoint import latest_checkpoint, load_model_weights

    ckpt = latest_checkpoint(tmp_path / "run")
    assert ckpt.name == "step_0000010"
    assert all(torch.isfinite(t).all() for t in load_model_weights(ckpt).values())
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "diverged"


CHILD = textwrap.dedent("""
    import sys, time, torch
    torch.set_num_threads(1)
    sys.path.insert(0, {helpers!r})
    import lmforge.model.trainer as t
    from trainer_helpers import tiny_config
    real = t.get_batch
    def slow(*a, **k):  # slow the child down so the parent can interrupt it mid-run
        time.sleep(0.03)
        return real(*a, **k)
    t.get_batch = slow
    from pathlib import Path
    t.train(tiny_config(Path({tmp!r}), *{overrides!r}))
""")


def _start_child(tmp_path, overrides):
    code = CHILD.format(helpers=str(Path(__file__).parent), tmp=str(tmp_path), overrides=list(overrides))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for_checkpoint(tmp_path, proc, timeout=120):
    latest = tmp_path / "run" / "checkpoints" / "latest"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if latest.exists():
            return
        time.sleep(0.02)
    raise AssertionError(f"child exited or hung before its first checkpoint:\n{proc.communicate()[0]}")


def _train_losses(run):
    return [(r["step"], r["train_loss"]) for r in read_metrics(run) if "train_loss" in r]


OVERRIDES = ("train.max_steps=60", "train.checkpoint_every=10", "train.eval_every=20")


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    reference = train(tiny_config(tmp_path / "ref", *OVERRIDES))
    child_dir = tmp_path / "killed"
    child_dir.mkdir()
    proc = _start_child(child_dir, OVERRIDES)
    _wait_for_checkpoint(child_dir, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (child_dir / "run" / "summary.json").exists()  # it really died mid-run
    resumed = train(tiny_config(child_dir, *OVERRIDES), resume=child_dir / "run")
    assert _train_losses(resumed) == _train_losses(reference)
    vals = lambda run: [(r["step"], r["val_loss"]) for r in read_metrics(run) if "val_loss" in r]
    assert vals(resumed) == vals(reference)


def test_resume_refuses_a_different_model(tmp_path):
    from lmforge.model.checkpoint import CheckpointError

    run = train(tiny_config(tmp_path, "train.max_steps=10"))
    with pytest.raises(CheckpointError, match="different model config.*d_model"):
        train(tiny_config(tmp_path, "train.max_steps=20", "model.d_model=64"), resume=run)


def test_bfloat16_autocast_trains_on_cpu(tmp_path):
    run = train(tiny_config(tmp_path, "dtype=bfloat16", "train.max_steps=4", "train.eval_every=4"))
    records = read_metrics(run)
    assert all(r["train_loss"] == r["train_loss"] for r in records if "train_loss" in r)  # no NaN
    assert any("val_loss" in r for r in records)


def test_single_backend_refuses_a_multi_process_launch(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="2 processes were launched.*known: .*single"):
        train(tiny_config(tmp_path))


def test_gradient_clipping_goes_through_the_backend(tmp_path, monkeypatch):
    """Sharded backends see only part of each gradient, so the trainer must ask the backend to clip."""
    from lmforge.model.parallel import ParallelBackend

    calls = []
    original = ParallelBackend.clip_grad_norm

    def recording(self, model, max_norm):
        calls.append(max_norm)
        return original(self, model, max_norm)

    monkeypatch.setattr(ParallelBackend, "clip_grad_norm", recording)
    run = train(tiny_config(tmp_path, "train.max_steps=3", "optimizer.grad_clip=0.5"))
    assert calls == [0.5, 0.5, 0.5]
    assert all(r["grad_norm"] > 0 for r in read_metrics(run) if "grad_norm" in r)
