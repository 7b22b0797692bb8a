"""save_checkpoint / load_checkpoint and run checkpoints: round trips, file objects, clear errors."""

import io

import numpy as np
import pytest
import torch

from lmforge.model import AdamW, ModelConfig, TransformerLM, load_checkpoint, save_checkpoint
from lmforge.model.checkpoint import CheckpointError
from lmforge.model.run_checkpoint import (
    capture_rng,
    latest_checkpoint,
    load_model_weights,
    load_rank_file,
    restore_rng,
    save_run_checkpoint,
)


def _model_and_opt(seed=0, tie=False):
    torch.manual_seed(seed)
    m = TransformerLM.from_config(ModelConfig(vocab_size=50, context_length=8, d_model=16, num_layers=1,
                                              num_heads=2, tie_embeddings=tie))
    opt = AdamW(m.parameters(), lr=1e-2)
    m(torch.randint(0, 50, (2, 8))).sum().backward()
    opt.step()
    return m, opt


@pytest.mark.parametrize("use_file_object", [False, True])
def test_round_trip(tmp_path, use_file_object):
    m, opt = _model_and_opt(0)
    target = io.BytesIO() if use_file_object else tmp_path / "ck.pt"
    save_checkpoint(m, opt, 17, target)
    if use_file_object:
        target.seek(0)
    m2, opt2 = _model_and_opt(1)
    assert load_checkpoint(target, m2, opt2) == 17
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k])
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], opt2.state_dict()["state"][0]["exp_avg"])


def test_corrupt_and_incompatible_checkpoints_are_clear_errors(tmp_path):
    m, opt = _model_and_opt(0)
    path = tmp_path / "ck.pt"
    save_checkpoint(m, opt, 1, path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(path, m, opt)
    other = TransformerLM.from_config(ModelConfig(vocab_size=50, context_length=8, d_model=32, num_layers=1,
                                                  num_heads=2))
    save_checkpoint(other, None, 1, path)
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(path, m)


def test_checkpoint_refuses_arbitrary_pickles(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "iteration": 1, "x": np.random.default_rng()}, path)  # not weights-only data
    m, _ = _model_and_opt(0)
    with pytest.raises(CheckpointError):
        load_checkpoint(path, m)


def test_run_checkpoint_round_trip_with_tied_weights_and_rng(tmp_path):
    m, opt = _model_and_opt(0, tie=True)
    rng = np.random.default_rng(5)
    rng.integers(0, 10, 3)
    torch.manual_seed(9)
    rng_state = capture_rng(rng)
    expected_next = (rng.integers(0, 1000, 4).tolist(), torch.rand(3))
    for step in (5, 10, 15):
        save_run_checkpoint(tmp_path, step, model_state=m.state_dict(), optimizer_state=opt.state_dict(),
                            rng_state=rng_state, trainer_state={"step": step}, config_toml="", keep=2)
    ckpt = latest_checkpoint(tmp_path)
    assert ckpt.name == "step_0000015"
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*"))
    assert kept == ["step_0000010", "step_0000015"]
    weights = load_model_weights(ckpt)
    assert torch.equal(weights["lm_head.weight"], weights["token_embeddings.weight"])
    m2, _ = _model_and_opt(1, tie=True)
    m2.load_state_dict(weights)
    assert torch.equal(m2.lm_head.weight, m.lm_head.weight)
    rng2 = np.random.default_rng(123)
    restore_rng(load_rank_file(ckpt, "rng", 0), rng2)
    assert rng2.integers(0, 1000, 4).tolist() == expected_next[0]
    assert torch.equal(torch.rand(3), expected_next[1])
    (ckpt / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_model_weights(ckpt)
