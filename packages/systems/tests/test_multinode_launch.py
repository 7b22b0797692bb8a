"""``lmforge train --nnodes 2 --node-rank R --rdzv-endpoint HOST:PORT`` (issue 15): two "machines" on
localhost, one process each, meet through torchrun's c10d rendezvous and train as 2 ranks (gloo)."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from lmforge.systems.parallel.parity import free_port

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def test_two_nodes_on_localhost(tmp_path):
    tokens = np.random.default_rng(0).integers(0, 64, 5000).astype(np.uint16)
    data = tmp_path / "tokens.bin"
    tokens.tofile(data)
    (tmp_path / "tokens.bin.json").write_text(json.dumps(
        {"dtype": "uint16", "count": len(tokens), "vocab_size": 64, "eot_id": None}))
    sets = {"parallel": "ddp_flat", "data.train_path": data, "model.vocab_size": 64,
            "model.context_length": 8, "model.d_model": 16, "model.num_layers": 1, "model.num_heads": 2,
            "train.max_steps": 2, "train.batch_size": 4, "train.eval_every": 2, "train.eval_batches": 1,
            "train.log_every": 1, "train.checkpoint_every": 2, "device": "cpu", "progress": "false",
            "out": tmp_path / "runs", "name": "two_nodes"}
    endpoint = f"127.0.0.1:{free_port()}"
    procs = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "lmforge.core", "train", "--nproc", "1", "--nnodes", "2",
               "--node-rank", str(node), "--rdzv-endpoint", endpoint]
        for k, v in sets.items():
            cmd += ["--set", f"{k}={v}"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True))
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=600))
    except subprocess.TimeoutExpired:
        for p in procs:
            os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("the two nodes did not finish in 600 s")
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    run = tmp_path / "runs" / "two_nodes"
    state = json.loads((run / "checkpoints" / "step_0000002" / "trainer_state.json").read_text())
    assert state["world_size"] == 2  # one process on each node, one process group
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "train_loss" in x] == [1, 2]
