"""How two align parts of one kind are compared (``parity_check`` parts).

rl_loss: both losses, built with the same options, on the same random inputs (log-probs that carry a
gradient, advantages, old log-probs perturbed so the importance ratio moves through any clip range,
a ragged response mask): they must agree on what the GRPO loop reads off a loss (``uses_old_log_probs``,
the ``advantage`` form and the ``reduction``: two losses equal per token but reduced differently train
differently), on the per-token loss at response tokens and on its gradient with respect to the
log-probs. Error: the largest absolute difference; tolerance 1e-6 (float32).

rollout_engine: see :mod:`lmforge.align.engines.parity`.
"""

from __future__ import annotations

import torch

from lmforge.core.contracts import ParityResult

RL_LOSS_TOLERANCE = 1e-6
# what the GRPO loop reads off an rl_loss besides calling it, with the loop's defaults
LOOP_ATTRIBUTES = {"uses_old_log_probs": None, "advantage": "group_normalized", "reduction": "sequence_mean"}
LOG_PROB_TOLERANCE = 1e-4


def rl_loss_inputs(batch: int = 6, seq: int = 11, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    log_probs = -3 * torch.rand(batch, seq, generator=g)
    lengths = torch.randint(1, seq + 1, (batch,), generator=g)
    return {
        "log_probs": log_probs,
        "advantages": torch.randn(batch, 1, generator=g),
        "old_log_probs": log_probs + 0.3 * torch.randn(batch, seq, generator=g),  # ratios ~ 0.5 to 2
        "response_mask": torch.arange(seq)[None, :] < lengths[:, None],
    }


def _loss_and_grad(loss, inputs: dict[str, torch.Tensor], upstream: torch.Tensor):
    log_probs = inputs["log_probs"].clone().requires_grad_(True)
    old = inputs["old_log_probs"] if loss.uses_old_log_probs else None
    per_token, _ = loss(log_probs, advantages=inputs["advantages"], old_log_probs=old,
                        response_mask=inputs["response_mask"])
    mask = inputs["response_mask"]
    per_token = torch.broadcast_to(per_token, mask.shape)
    (per_token * mask * upstream).sum().backward()
    return per_token.detach()[mask], log_probs.grad[mask]


def rl_loss_parity(candidate, reference, seeds: int = 3, **options) -> ParityResult:
    """The per-token loss and its gradient at response tokens, over a few random batches."""
    cand, ref = candidate(**options), reference(**options)
    for attribute, default in LOOP_ATTRIBUTES.items():
        mine, theirs = getattr(cand, attribute, default), getattr(ref, attribute, default)
        if mine != theirs:
            return ParityResult(float("inf"), RL_LOSS_TOLERANCE, False,
                                f"{attribute} is {mine!r}, the reference's {theirs!r}")
    error, where = 0.0, ""
    for seed in range(seeds):
        inputs = rl_loss_inputs(seed=seed)
        upstream = torch.randn(inputs["log_probs"].shape, generator=torch.Generator().manual_seed(100 + seed))
        for what, a, b in zip(("loss", "gradient"), _loss_and_grad(cand, inputs, upstream),
                              _loss_and_grad(ref, inputs, upstream)):
            e = (a.double() - b.double()).abs().max().item() if b.numel() else 0.0
            if e > error or e != e:
                error, where = e, f"{what}, batch {seed}"
    passed = error <= RL_LOSS_TOLERANCE
    return ParityResult(error, RL_LOSS_TOLERANCE, passed, "" if passed else f"largest difference in {where}")
