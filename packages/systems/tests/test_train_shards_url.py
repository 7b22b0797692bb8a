"""``lmforge train --nproc 2 --set train.checkpoint_shards_url=URL`` (issue 15): each step's DCP shards go
to ``URL/step_NNNNNNN`` through fsspec (a ``file://`` URL outside the run directory here, the code path of
``s3://`` with s3fs), while the run directory's step folder keeps trainer_state.json (the URL and every
shard's checksum) and the manifest. A run stopped at step 2 of 4 and resumed from the URL logs the
uninterrupted run's losses bit for bit; ``lmforge systems consolidate`` reads the shards from the URL;
rotated steps take their shards at the URL with them; a corrupt shard at the URL stops both."""

import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def _lmforge(args: list[str], sets: dict | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "lmforge.core", *args]
    for k, v in (sets or {}).items():
        cmd += ["--set", f"{k}={v}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{' '.join(cmd)} did not finish in 600 s")
    assert (proc.returncode == 0) == ok, stderr[-3000:]
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _losses(run) -> dict[int, float]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return {x["step"]: x["train_loss"] for x in lines if "train_loss" in x}


def _listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_shards_at_a_url_resume_consolidate_and_refuse_corruption(tmp_path):
    tokens = np.random.default_rng(0).integers(0, 64, 5000).astype(np.uint16)
    data = tmp_path / "tokens.bin"
    tokens.tofile(data)
    (tmp_path / "tokens.bin.json").write_text(json.dumps(
        {"dtype": "uint16", "count": len(tokens), "vocab_size": 64, "eot_id": None}))
    bucket = tmp_path / "bucket"  # the "object store": outside every run directory
    sets = {"parallel": "fsdp", "data.train_path": data, "model.vocab_size": 64, "model.context_length": 8,
            "model.d_model": 16, "model.num_layers": 1, "model.num_heads": 2, "model.tie_embeddings": "true",
            "train.max_steps": 4, "train.batch_size": 8, "train.grad_accum": 2, "train.eval_every": 100,
            "train.eval_batches": 1, "train.log_every": 1, "train.checkpoint_every": 2,
            "optimizer.grad_clip": 1.0, "schedule.warmup_steps": 1, "schedule.decay_steps": 4,
            "device": "cpu", "progress": "false", "out": tmp_path / "runs"}
    # the uninterrupted run keeps one checkpoint: the rotated step's shards leave the URL too
    _lmforge(["train", "--nproc", "2"], {**sets, "name": "whole", "train.checkpoint_every": 1,
                                         "train.keep_checkpoints": 1,
                                         "train.checkpoint_shards_url": f"file://{bucket}/whole"})
    assert _listing(bucket / "whole") == ["step_0000004"]
    url = f"file://{bucket}/stopped/"  # a trailing slash is the same URL
    _lmforge(["train", "--nproc", "2"], {**sets, "name": "stopped", "train.max_steps": 2,
                                         "train.checkpoint_shards_url": url})
    stopped = tmp_path / "runs" / "stopped"
    step2 = stopped / "checkpoints" / "step_0000002"
    state = json.loads((step2 / "trainer_state.json").read_text())
    assert state["sharded"] == f"file://{bucket}/stopped/step_0000002"
    shards = _listing(bucket / "stopped" / "step_0000002")
    assert ".metadata" in shards and sum(n.endswith(".distcp") for n in shards) == 2  # one file per rank
    assert sorted(state["shard_files"]) == shards
    assert not list((stopped / "checkpoints").glob("shards_*"))  # nothing sharded in the run directory
    assert "trainer_state.json" in json.loads((step2 / "manifest.json").read_text())["files"]
    corrupt = tmp_path / "corrupt"
    shutil.copytree(stopped, corrupt)
    # a new run may not write into another run's shards
    err = _lmforge(["train"], {**sets, "parallel": "zero1", "name": "taken",
                               "train.checkpoint_shards_url": url}, ok=False).stderr
    assert "already holds files" in err and not (tmp_path / "runs" / "taken").exists()

    _lmforge(["train", "--nproc", "2", "--resume", str(stopped)], {"train.max_steps": 4})
    whole = _losses(tmp_path / "runs" / "whole")
    assert sorted(whole) == [1, 2, 3, 4]
    assert _losses(stopped) == whole  # bit for bit, through the URL
    assert _listing(bucket / "stopped") == ["step_0000002", "step_0000004"]
    out = _lmforge(["systems", "consolidate", str(stopped)]).stdout.strip()
    from safetensors.torch import load_file

    assert out == str(stopped / "checkpoints" / "step_0000004" / "model.safetensors")
    assert load_file(out)["layers.0.attn.q_proj.weight"].shape == (16, 16)

    shard = bucket / "stopped" / "step_0000002" / sorted(n for n in shards if n.endswith(".distcp"))[-1]
    blob = bytearray(shard.read_bytes())
    blob[len(blob) // 2] ^= 1
    shard.write_bytes(bytes(blob))
    resume = ["train", "--nproc", "2", "--resume", str(corrupt)]
    err = _lmforge(resume, {"train.max_steps": 4}, ok=False).stderr
    assert f"{shard.name} does not match its size/sha256" in err
    err = _lmforge(["systems", "consolidate", str(corrupt)], ok=False).stderr
    assert f"{shard.name} does not match its size/sha256" in err
