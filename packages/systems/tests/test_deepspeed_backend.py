"""DeepSpeed ZeRO 1/2/3 against the single-process run, and its checkpoint back to a plain state dict.

Skipped where DeepSpeed is not installed (it is in this package's dev group; the workspace root's
environment may not have it). DeepSpeed's shared-memory CPU all-reduce op, compiled on first use (~3
minutes), is not built: the backend uses gloo unless ``cpu_shm_comm=True``.
"""

import importlib.util

import pytest
import torch

from lmforge.systems.parallel.parity import run_backends, train_single

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed is not installed"),
]

STEPS = 3


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    jobs = [(f"stage{s}", "deepspeed", {"stage": s}) for s in (1, 2, 3)]
    return run_backends(jobs, out, world=2, steps=STEPS, checkpoint_dir=str(out / "ckpt")), out


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_zero_stage_matches_single_process(runs, stage):
    results, _ = runs
    reference = train_single(STEPS)
    result = results[0][f"stage{stage}"]
    assert "error" not in result, result.get("error")
    state = result["state"]
    assert sorted(state) == sorted(reference)
    for k, v in reference.items():
        torch.testing.assert_close(state[k].float(), v, rtol=0, atol=1e-6, msg=k)
    per_rank = [results[r][f"stage{stage}"]["stats"]["optimizer_state_bytes"] for r in range(2)]
    single = sum(v.numel() for k, v in reference.items() if k != "lm_head.weight") * 4 * 2
    assert max(per_rank) < 0.6 * single  # Adam's two moments, split across two ranks


def test_checkpoint_converts_to_plain_state_dict(runs):
    from lmforge.systems.parallel.deepspeed_backend import DeepSpeedBackend

    results, out = runs
    # the last job (stage 3) wrote the checkpoint last
    state = DeepSpeedBackend.checkpoint_to_state_dict(str(out / "ckpt"))
    reference = results[0]["stage3"]["state"]
    assert sorted(state) == sorted(reference)  # frozen and tied parameters included
    for k, v in reference.items():
        torch.testing.assert_close(state[k].float(), v.float(), rtol=0, atol=1e-6)
