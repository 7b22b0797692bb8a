"""``lmforge train --nproc 2 --set parallel=<backend>`` through torch.distributed.run, on CPU.

One backend in the suite (our FSDP: the one that needs every rank for checkpoints); every backend is
exercised by ``tools/systems/train_all_backends.py``.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def test_train_two_processes_with_our_fsdp(tmp_path):
    tokens = np.random.default_rng(0).integers(0, 64, 5000).astype(np.uint16)
    data = tmp_path / "tokens.bin"
    tokens.tofile(data)
    (tmp_path / "tokens.bin.json").write_text(json.dumps(
        {"dtype": "uint16", "count": len(tokens), "vocab_size": 64, "eot_id": None}))
    sets = {"parallel": "fsdp", "data.train_path": data, "model.vocab_size": 64, "model.context_length": 8,
            "model.d_model": 16, "model.num_layers": 1, "model.num_heads": 2, "model.tie_embeddings": "true",
            "train.max_steps": 2, "train.batch_size": 4, "train.eval_every": 2, "train.eval_batches": 1,
            "train.log_every": 1, "train.checkpoint_every": 2, "optimizer.grad_clip": 0, "device": "cpu",
            "progress": "false", "out": tmp_path / "runs", "name": "fsdp"}
    cmd = [sys.executable, "-m", "lmforge.core", "train", "--nproc", "2"]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # its own process group, so a hang kills torchrun's workers too; a generous limit for busy machines
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("lmforge train --nproc 2 did not finish in 600 s")
    assert proc.returncode == 0, stderr[-3000:]
    run = tmp_path / "runs" / "fsdp"
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "train_loss" in x][-1] == 2
    # fsdp writes sharded checkpoints: consolidate the latest into full weights
    from lmforge.model.run_checkpoint import latest_checkpoint, load_model_weights
    from lmforge.systems.parallel.sharded_checkpoint import consolidate_run_checkpoint

    step_dir = latest_checkpoint(run)
    assert step_dir is not None, "the main rank wrote no checkpoint"
    consolidate_run_checkpoint(step_dir)
    state = load_model_weights(step_dir)
    assert state["layers.0.attn.q_proj.weight"].shape == (16, 16)  # full, not a shard
    assert state["token_embeddings.weight"] is state["lm_head.weight"]  # tied: stored once
