"""The align parity checks: rl_loss (loss and gradient) and rollout_engine (greedy tokens, log-probs)."""

import importlib.util

import pytest
import torch

from lmforge.align.engines.factory import hf_engine, vllm_engine
from lmforge.align.parity_checks import rl_loss_parity, rollout_engine_parity
from lmforge.core.parity import ParitySkipped
from lmforge.model.generation import TorchRolloutEngine


class Reinforce:
    """-A * log p per token."""

    uses_old_log_probs = False

    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        return -advantages * log_probs, {}


class ReinforceViaExp(Reinforce):
    """The same loss written as -A * log(exp(log p))."""

    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        return -(advantages.expand_as(log_probs) * torch.log(torch.exp(log_probs))), {}


class Clipped:
    """GRPO's clipped surrogate."""

    uses_old_log_probs = True

    def __init__(self, cliprange: float = 0.2):
        self.cliprange = cliprange

    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        ratio = torch.exp(log_probs - old_log_probs)
        clipped = ratio.clamp(1 - self.cliprange, 1 + self.cliprange)
        return -torch.minimum(ratio * advantages, clipped * advantages), {}


class Unclipped(Clipped):
    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        return -torch.exp(log_probs - old_log_probs) * advantages, {}


def test_rl_loss_check():
    assert rl_loss_parity(ReinforceViaExp, Reinforce).passed
    assert rl_loss_parity(Clipped, Clipped, cliprange=0.1).passed
    clip = rl_loss_parity(Unclipped, Clipped)  # the inputs move ratios outside the clip range
    assert not clip.passed and clip.max_error > 1e-3
    mismatch = rl_loss_parity(Clipped, Reinforce)
    assert not mismatch.passed and "uses_old_log_probs" in mismatch.detail


class NoisyEngine(TorchRolloutEngine):
    """Right tokens, log-probs off by 1e-3."""

    def generate(self, *args, **kwargs):
        results = super().generate(*args, **kwargs)
        for r in results:
            r.logprobs = [x + 1e-3 for x in r.logprobs]
        return results


class FirstTokenEngine(TorchRolloutEngine):
    """Always answers token 0."""

    def generate(self, *args, **kwargs):
        results = super().generate(*args, **kwargs)
        for r in results:
            r.token_ids = [0] * len(r.token_ids)
        return results


def test_rollout_engine_check():
    hf = rollout_engine_parity(hf_engine, TorchRolloutEngine)
    assert hf.passed and hf.max_error < 1e-4
    noisy = rollout_engine_parity(NoisyEngine, TorchRolloutEngine)
    assert not noisy.passed and noisy.max_error == pytest.approx(1e-3, rel=1e-3)
    wrong = rollout_engine_parity(FirstTokenEngine, TorchRolloutEngine)
    assert not wrong.passed and "greedy tokens differ" in wrong.detail


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_rollout_engine_check_skips_an_engine_without_its_library():
    with pytest.raises(ParitySkipped, match="vllm is not installed"):
        rollout_engine_parity(vllm_engine, TorchRolloutEngine)
