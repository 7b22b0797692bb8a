"""Issue 12: runs that cannot be silently corrupted. Each test is one of the issue's numbered cases;
real processes where a real process matters (two writers, signals, a kill before the first checkpoint)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from lmforge.core import ConfigError, read_metrics
from lmforge.model import train
from lmforge.model.checkpoint import CheckpointError
from lmforge.model.checkpoint_manifest import write_manifest
from lmforge.model.memory_check import NotEnoughMemoryError
from lmforge.model.run_checkpoint import load_model_weights, load_rank_file
from lmforge.model.trainer import TrainingDiverged
from lmforge.tokenize import tokenizer_fingerprint

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import tiny_config, write_tokens  # noqa: E402

# the real CLI in a real process, slowed down so that the test can act while it trains
CLI_CHILD = textwrap.dedent("""
    import sys, time
    import lmforge.model.trainer as t
    real = t.get_batch
    def slow(*a, **k):
        time.sleep(0.05)
        return real(*a, **k)
    t.get_batch = slow
    from lmforge.core.cli import main
    main(sys.argv[1:])
""")


def _sets(tmp_path: Path, *extra: str) -> list[str]:
    tokens = tmp_path / "tokens.bin"
    if not tokens.exists():
        write_tokens(tokens)
    base = [f"data.train_path={tokens}", "model.vocab_size=61", "model.context_length=16",
            "model.d_model=32", "model.num_layers=2", "model.num_heads=4", "train.max_steps=200",
            "train.batch_size=8", "train.eval_every=10", "train.eval_batches=2", "train.log_every=1",
            "train.checkpoint_every=10", "schedule.warmup_steps=5", "progress=false", "device=cpu",
            f"run_dir={tmp_path / 'run'}", *extra]
    return [a for s in base for a in ("--set", s)]


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLI_CHILD, "train", *_sets(tmp_path, *extra)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmforge.core", *args], env=_env(), capture_output=True,
                          text=True, timeout=300)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if path.exists():
            return
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"child exited or hung before writing {path}:\n{proc.communicate()[1]}")


# 1. Two writers, one run -------------------------------------------------------------------------

def test_case1_second_writer_is_refused_naming_pid_and_host(tmp_path):
    holder = _start(tmp_path, "seed=0", "train.max_steps=1000000")  # runs until the test stops it
    try:
        _wait_for(tmp_path / "run" / "checkpoints" / "latest", holder)
        others = [subprocess.Popen([sys.executable, "-m", "lmforge.core", "train", *args], env=_env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for args in (_sets(tmp_path, "seed=1"), ["--resume", str(tmp_path / "run")])]
        for proc in others:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 1, err
            line = err.strip()
            assert "\n" not in line and f"pid {holder.pid} on host {socket.gethostname()}" in line
        assert holder.poll() is None  # refused while the holder was still training
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=120)
    assert "seed = 0" in (tmp_path / "run" / "config.toml").read_text()
    steps = [r["step"] for r in read_metrics(tmp_path / "run") if "train_loss" in r]
    assert steps == list(range(1, len(steps) + 1))  # one writer's records, none interleaved


# 2. Tokenizer that doesn't match the token file ------------------------------------------------

def test_case2_model_vocab_must_cover_the_token_file(tmp_path):
    with pytest.raises(ConfigError, match="tokenizer with 61 tokens but model.vocab_size = 32; it must be"):
        train(tiny_config(tmp_path, "model.vocab_size=32"))
    assert not (tmp_path / "run").exists()


def test_case2_tokenizer_dir_must_be_the_one_that_wrote_the_tokens(tmp_path):
    from lmforge.tokenize import ByteTokenizer

    mine, other = tmp_path / "tok_a", tmp_path / "tok_b"
    ByteTokenizer(["<|a|>"]).save(mine)
    ByteTokenizer(["<|b|>"]).save(other)  # same size, different tokenizer
    tokens = write_tokens(tmp_path / "t257.bin", vocab=257)
    sidecar = Path(str(tokens) + ".json")
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "tokenizer_sha256": tokenizer_fingerprint(mine)}))
    sets = (f"data.train_path={tokens}", "model.vocab_size=257", "train.max_steps=2")
    with pytest.raises(ConfigError, match="tokenizer_dir.*written by tokenizer [0-9a-f]{12}, not by"):
        train(tiny_config(tmp_path, *sets, f"data.tokenizer_dir={other}"))
    with pytest.raises(ConfigError, match="tok_a has 257 tokens but .* was written by one with 61"):
        train(tiny_config(tmp_path, *sets, "model.vocab_size=61", f"data.tokenizer_dir={mine}",
                          f"data.train_path={write_tokens(tmp_path / 'a.bin')}"))
    assert not (tmp_path / "run").exists()
    run = train(tiny_config(tmp_path, *sets, f"data.tokenizer_dir={mine}"))
    assert tokenizer_fingerprint(run / "tokenizer") == tokenizer_fingerprint(mine)


# 3. Corrupt checkpoints ---------------------------------------------------------------------------

def _two_checkpoints(tmp_path: Path) -> Path:
    return train(tiny_config(tmp_path, "train.max_steps=20", "train.keep_checkpoints=2"))


def _flip_byte(path: Path, offset_from_end: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x01
    path.write_bytes(bytes(data))


def test_case3_flipped_byte_in_weights_is_detected_and_resume_uses_the_previous(tmp_path, capsys):
    run = _two_checkpoints(tmp_path)
    newest = run / "checkpoints" / "step_0000020"
    _flip_byte(newest / "model.safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors does not match its sha256"):
        load_model_weights(newest)
    capsys.readouterr()
    train(tiny_config(tmp_path, "train.max_steps=20"), resume=run)
    err = capsys.readouterr().err
    assert "skipping checkpoint step_0000020" in err and "model.safetensors" in err
    assert "resuming from step_0000010" in err


def test_case3_flipped_value_in_optimizer_state_is_detected(tmp_path):
    run = _two_checkpoints(tmp_path)
    newest = run / "checkpoints" / "step_0000020"
    state = torch.load(newest / "optimizer.pt", weights_only=True)
    first = next(iter(state["state"].values()))
    first["exp_avg"].view(-1)[0] += 1.0  # one float changed, the file still unpickles
    torch.save(state, newest / "optimizer.pt")
    with pytest.raises(CheckpointError, match="optimizer.pt"):
        load_rank_file(newest, "optimizer", 0)


def test_case3_truncated_file_falls_back_to_the_intact_checkpoint(tmp_path, capsys):
    run = _two_checkpoints(tmp_path)
    path = run / "checkpoints" / "step_0000020" / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    capsys.readouterr()
    train(tiny_config(tmp_path, "train.max_steps=30"), resume=run)
    err = capsys.readouterr().err
    assert "skipping checkpoint step_0000020" in err and "truncated" in err
    assert json.loads((run / "summary.json").read_text())["step"] == 30


def test_case3_divergence_right_after_resume_names_the_checkpoint_first(tmp_path):
    from safetensors.torch import load_file, save_file

    run = _two_checkpoints(tmp_path)
    newest = run / "checkpoints" / "step_0000020"
    weights = load_file(newest / "model.safetensors")
    weights["lm_head.weight"][0, 0] = float("inf")  # bad values that were hashed as they are
    save_file(weights, newest / "model.safetensors", metadata={"aliases": "{}"})
    write_manifest(newest)
    with pytest.raises(TrainingDiverged) as info:
        train(tiny_config(tmp_path, "train.max_steps=30"), resume=run)
    message = str(info.value)
    assert str(newest) in message and "first suspect" in message
    assert message.index("first suspect") < message.index("optimizer.lr")


# 4. A run directory that can be resumed or restarted ----------------------------------------------

def test_case4_kill_before_the_first_checkpoint_then_resume_starts_from_step_0(tmp_path):
    child = _start(tmp_path, "train.checkpoint_every=1000", "train.max_steps=30")
    _wait_for(tmp_path / "run" / "metrics.jsonl", child)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (tmp_path / "run" / "checkpoints").exists()
    proc = _cli("train", "--resume", str(tmp_path / "run"), "--set", "train.max_steps=12")
    assert proc.returncode == 0, proc.stderr
    assert "has no checkpoint yet; starting it from step 0" in proc.stderr
    steps = [r["step"] for r in read_metrics(tmp_path / "run") if "train_loss" in r]
    assert steps == list(range(1, 13))


@pytest.mark.parametrize("overrides,key", [
    (["data.tokenizer_dir=/nonexistent/tok"], "data.tokenizer_dir"),
    (["optimizer.lr=nan"], "optimizer.lr"),
    (["data.train_path=/nonexistent/tokens.bin"], "data.train_path"),
    (["train.batch_size=100000", "model.context_length=256"], "train.batch_size"),
])
def test_case4_bad_input_leaves_no_run_directory_behind(tmp_path, overrides, key):
    cfg = tiny_config(tmp_path, *overrides)
    with pytest.raises((ConfigError, NotEnoughMemoryError), match=key.replace(".", r"\.")):
        train(cfg)
    assert not (tmp_path / "run").exists()  # so the same command, fixed, simply runs
    train(tiny_config(tmp_path, "train.max_steps=2"))


# 5. Settings that train backwards or crash late ----------------------------------------------------

@pytest.mark.parametrize("override,key", [
    ("schedule.min_lr_ratio=-2", "schedule.min_lr_ratio"),
    ("optimizer.lr=nan", "optimizer.lr"),
    ("optimizer.lr=inf", "optimizer.lr"),
    ("optimizer.lr=-1e-3", "optimizer.lr"),
    ("optimizer.weight_decay=-3", "optimizer.weight_decay"),
    ("optimizer.betas=[0.9, 1.5]", r"optimizer.betas\[1\]"),
    ("model.num_kv_heads=0", "model.num_kv_heads"),
    ("optimizer.eps=0", "optimizer.eps"),
    ("train.max_tokens=-5", "train.max_tokens"),
])
def test_case5_out_of_range_settings_are_one_config_error_before_any_write(tmp_path, override, key):
    with pytest.raises(ConfigError, match=f"^{key}") as info:
        train(tiny_config(tmp_path, override))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run").exists()


# 6. Memory estimate --------------------------------------------------------------------------------

def test_case6_huge_batch_is_refused_with_the_estimate(tmp_path):
    proc = _cli("train", *_sets(tmp_path, "train.batch_size=100000", "model.context_length=256"))
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert "\n" not in line and "a training step needs about" in line and "activations" in line
    assert "available" in line and "--force" in line
    assert not (tmp_path / "run").exists()


def test_case6_force_skips_the_memory_refusal(tmp_path, monkeypatch):
    from lmforge.model import memory_check

    monkeypatch.setattr(memory_check, "available_bytes", lambda device: (1, "available (test)"))
    with pytest.raises(NotEnoughMemoryError, match="only 0.00 GiB is available"):
        train(tiny_config(tmp_path, "train.max_steps=2"))
    run = train(tiny_config(tmp_path, "train.max_steps=2"), force=True)
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


# 8. Small ones -------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_case8_interrupt_saves_then_exits_128_plus_signal(tmp_path, sig, code):
    child = _start(tmp_path)
    _wait_for(tmp_path / "run" / "checkpoints" / "latest", child)
    child.send_signal(sig)
    _, err = child.communicate(timeout=120)
    assert child.returncode == code, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert (tmp_path / "run" / "checkpoints" / f"step_{summary['step']:07d}").is_dir()
    assert f"--resume {tmp_path / 'run'}" in err


def test_case8_train_leaves_debug_to_the_host():
    """`lmforge train --debug` is the host's flag (accepted anywhere on the line; ``main`` removes it
    before click parses): train's own ``--debug`` comes from ``@run_options``, hidden and valueless, only
    so direct invocations accept it (test_train_run_options.py runs the flag through the host)."""
    from lmforge.model.cli import train_command

    debug = [p for p in train_command.params if "--debug" in p.opts]
    assert len(debug) == 1 and debug[0].hidden and not debug[0].expose_value


def test_case8_trainer_state_missing_keys_is_named(tmp_path):
    run = train(tiny_config(tmp_path, "train.max_steps=10"))
    ckpt = run / "checkpoints" / "step_0000010"
    state = json.loads((ckpt / "trainer_state.json").read_text())
    del state["model"]
    (ckpt / "trainer_state.json").write_text(json.dumps(state))
    write_manifest(ckpt)  # as another tool would have written it: consistent, but incomplete
    with pytest.raises(CheckpointError, match="trainer_state.json lacks model"):
        train(tiny_config(tmp_path, "train.max_steps=20"), resume=run)
