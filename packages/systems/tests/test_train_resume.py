"""``lmforge train --nproc 2`` with sharded checkpoints (issue 15): a run stopped after 2 of 4 steps and
continued with ``--resume`` logs the same losses as the uninterrupted run, bit for bit (CPU, gloo,
deterministic), for zero1 and fsdp (DCP) and DeepSpeed ZeRO-3 (its native checkpoint, its own gradient
accumulation). The shards' checksums are in the step folder's manifest-covered trainer_state.json: a
corrupt shard stops the resume. A DCP checkpoint also continues in one process; its data stream differs
(the sampler is seeded per rank), so only closeness is checked here; the weights and optimizer state loaded
at world size 1 are checked to 1e-6 in test_sharded_checkpoint.py. DeepSpeed refuses another world size."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def _run(args: list[str], sets: dict, ok: bool = True) -> str:
    cmd = [sys.executable, "-m", "lmforge.core", "train", *args]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{' '.join(cmd)} did not finish in 600 s")
    assert (proc.returncode == 0) == ok, stderr[-3000:]
    return stderr


def _losses(run) -> dict[int, float]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return {x["step"]: x["train_loss"] for x in lines if "train_loss" in x}


needs_deepspeed = pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None,
                                     reason="deepspeed is not installed")


@pytest.mark.parametrize("backend", ["zero1", "fsdp", pytest.param("deepspeed", marks=needs_deepspeed)])
def test_sharded_resume_reproduces_the_uninterrupted_run(tmp_path, backend):
    tokens = np.random.default_rng(0).integers(0, 64, 5000).astype(np.uint16)
    data = tmp_path / "tokens.bin"
    tokens.tofile(data)
    (tmp_path / "tokens.bin.json").write_text(json.dumps(
        {"dtype": "uint16", "count": len(tokens), "vocab_size": 64, "eot_id": None}))
    # the schedule is pinned to 4 steps, so the run stopped at 2 has the uninterrupted run's learning rates
    sets = {"parallel": backend, "data.train_path": data, "model.vocab_size": 64, "model.context_length": 8,
            "model.d_model": 16, "model.num_layers": 1, "model.num_heads": 2, "model.tie_embeddings": "true",
            "train.max_steps": 4, "train.batch_size": 8, "train.grad_accum": 2, "train.eval_every": 100,
            "train.eval_batches": 1, "train.log_every": 1, "train.checkpoint_every": 2,
            "optimizer.grad_clip": 1.0, "schedule.warmup_steps": 1, "schedule.decay_steps": 4,
            "device": "cpu", "progress": "false", "out": tmp_path / "runs"}
    if backend == "deepspeed":
        sets["parallel.stage"] = 3
    _run(["--nproc", "2"], {**sets, "name": "whole"})
    _run(["--nproc", "2"], {**sets, "name": "stopped", "train.max_steps": 2})
    stopped = tmp_path / "runs" / "stopped"
    ckpt = stopped / "checkpoints"
    assert (ckpt / "shards_0000002" / ("latest" if backend == "deepspeed" else ".metadata")).exists()
    assert not list(ckpt.glob("step_*/model.safetensors"))[0].stat().st_size > 1024  # no full weights
    shard_files = json.loads((ckpt / "step_0000002" / "trainer_state.json").read_text())["shard_files"]
    assert len(shard_files) >= 2 and all(len(f["sha256"]) == 64 for f in shard_files.values())
    one = tmp_path / "one"
    shutil.copytree(stopped, one)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(stopped, corrupt)
    _run(["--nproc", "2", "--resume", str(stopped)], {"train.max_steps": 4})
    whole = _losses(tmp_path / "runs" / "whole")
    assert sorted(whole) == [1, 2, 3, 4]
    assert _losses(stopped) == whole  # bit for bit
    cmd = [sys.executable, "-m", "lmforge.core", "systems", "consolidate", str(stopped)]
    consolidated = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert consolidated.returncode == 0, consolidated.stderr[-2000:]
    from safetensors.torch import load_file

    from lmforge.model.run_checkpoint import load_model_weights

    assert load_file(consolidated.stdout.strip())["layers.0.attn.q_proj.weight"].shape == (16, 16)
    full = load_model_weights(stopped / "checkpoints" / "step_0000004")
    assert full["token_embeddings.weight"] is full["lm_head.weight"]  # tied: stored once, aliased
    if backend == "zero1":  # the shards' checksums are checked before anything is loaded
        shard = corrupt / "checkpoints" / "shards_0000002" / sorted(shard_files)[-1]
        blob = bytearray(shard.read_bytes())
        blob[len(blob) // 2] ^= 1
        shard.write_bytes(bytes(blob))
        err = _run(["--nproc", "2", "--resume", str(corrupt)], {"train.max_steps": 4}, ok=False)
        assert "does not match its size/sha256" in err
    if backend == "deepspeed":  # ZeRO partitions are bound to the world size that wrote them
        err = _run(["--resume", str(one)], {"train.max_steps": 4}, ok=False)
        assert "world size" in err
        return
    _run(["--resume", str(one)], {"train.max_steps": 4})  # one process continues the 2-rank checkpoint
    resumed = _losses(one)
    assert sorted(resumed) == [1, 2, 3, 4] and resumed[2] == whole[2]
    for step in (3, 4):
        assert resumed[step] == pytest.approx(whole[step], abs=0.1)
