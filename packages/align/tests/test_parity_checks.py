"""The align parity checks: rl_loss (loss and gradient) and rollout_engine (greedy tokens, log-probs)."""


import torch

from lmforge.align.parity_checks import rl_loss_parity


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
