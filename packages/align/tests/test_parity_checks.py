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


class ReinforceSummed(Reinforce):
    """The same per-token loss as Reinforce, summed over the batch's tokens by the loop (DAPO's reduction)."""

    reduction = "dapo"


def test_rl_loss_check_compares_what_the_loop_reads_off_the_loss():
    reduced = rl_loss_parity(ReinforceSummed, Reinforce)  # equal per token, a different objective
    assert not reduced.passed and "reduction is 'dapo', the reference's 'sequence_mean'" in reduced.detail

    class RawAdvantage(Reinforce):
        advantage = "raw"

    raw = rl_loss_parity(RawAdvantage, Reinforce)
    assert not raw.passed and "advantage is 'raw'" in raw.detail


def test_no_two_registered_align_losses_compute_the_same_objective():
    """Why no align loss declares ``reference=``: with their registered defaults every pair differs in
    the loss, its gradient, or how the loop forms advantages and reduces it (the example plugin's
    ``reinforce_example`` is the rl_loss that declares one, checked by ``lmforge parity``)."""
    import itertools

    from lmforge.align.rl_losses import LOSSES

    for a, b in itertools.combinations(sorted(LOSSES), 2):
        result = rl_loss_parity(LOSSES[a], LOSSES[b])
        assert not result.passed, f"{a} computes what {b} does: declare reference={b!r}"
