"""Preflight: the rollout engine's log-probs must equal the trainer's on the same sampled tokens.

A mismatch makes every importance ratio wrong (GRPO clips on noise), so training stops with the
likeliest cause instead of starting.
"""

from __future__ import annotations

import torch

from lmforge.core import LmforgeError

from .logprobs import model_logits
from .rollout import Rollout, SamplingSettings
from .sampling_math import processed_log_probs


def trainer_log_probs(
    model, rollouts: list[Rollout], temperature: float, top_p: float = 1.0
) -> list[torch.Tensor]:
    """The trainer's processed log-prob of every sampled token, one tensor per rollout."""
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for r in rollouts:
            if not r.token_ids:
                out.append(torch.zeros(0))
                continue
            ids = torch.tensor([r.prompt_ids + r.token_ids], device=device)
            logits = model_logits(model, ids[:, :-1])[0, len(r.prompt_ids) - 1 :]
            lps = processed_log_probs(logits, temperature, top_p)
            out.append(lps.gather(-1, ids[0, len(r.prompt_ids) :].unsqueeze(-1)).squeeze(-1).float().cpu())
    return out


def _max_diff(a: list[torch.Tensor], rollouts: list[Rollout]) -> float:
    diffs = [(x - torch.tensor(r.log_probs)).abs().max().item() for x, r in zip(a, rollouts) if r.token_ids]
    return max(diffs, default=0.0)


def check_engine_log_probs(
    engine, model, prompts_ids: list[list[int]], settings: SamplingSettings, tolerance: float = 1e-2
) -> dict[str, float]:
    """Sample with ``engine``, rescore with ``model``; raise LmforgeError naming the cause on mismatch."""
    rollouts = engine.generate(prompts_ids, settings)
    if any(len(r.log_probs) != len(r.token_ids) for r in rollouts):
        raise LmforgeError(
            "preflight: the rollout engine returned fewer log-probs than tokens "
            "(ask it for the sampled token's log-prob at every step: logprobs=0)"
        )
    trainer = trainer_log_probs(model, rollouts, settings.temperature, settings.top_p)
    diff = _max_diff(trainer, rollouts)
    if diff <= tolerance:
        return {
            "preflight_max_abs_diff": diff,
            "preflight_tokens": float(sum(len(r.token_ids) for r in rollouts)),
        }
    cause = (
        "the engine's weights differ from the trainer's (weights not synced, or a name / RoPE-permutation "
        "mismatch in the HF export), or a lower-precision engine dtype"
    )
    if (
        settings.temperature not in (0, 1.0)
        and _max_diff(trainer_log_probs(model, rollouts, 1.0, 1.0), rollouts) <= tolerance
    ):
        cause = (
            "the engine reports log-probs before temperature (vLLM: set logprobs_mode='processed_logprobs'), "
            "while the trainer divides the logits by the temperature"
        )
    elif (
        settings.top_p < 1.0
        and _max_diff(trainer_log_probs(model, rollouts, settings.temperature, 1.0), rollouts) <= tolerance
    ):
        cause = "the engine ignores the top-p renormalization the trainer applies (set top_p=1.0)"
    raise LmforgeError(
        f"preflight: rollout-engine and trainer log-probs differ by up to {diff:.4g} "
        f"(tolerance {tolerance}); likely cause: {cause}"
    )
