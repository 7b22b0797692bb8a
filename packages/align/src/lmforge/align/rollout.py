"""The rollout-engine interface shared by the ``torch``, ``hf`` and ``vllm`` engines.

An engine takes prompt token ids and returns, for each prompt, ``n`` sampled continuations with the
log-probability the sampler gave each sampled token (after temperature and top-p: "processed").
After each optimizer step the trainer calls ``update_weights(model)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Rollout:
    prompt_index: int
    prompt_ids: list[int]
    token_ids: list[int]  # sampled ids, ending with the stop id when one was produced
    log_probs: list[float] = field(default_factory=list)  # one per sampled id


@dataclass
class SamplingSettings:
    n: int = 1
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    stop_id: int | None = None
    pad_id: int = 0  # for engines that pad prompts into one batch
    seed: int | None = None


class RolloutEngine(Protocol):
    def generate(self, prompts_ids: list[list[int]], settings: SamplingSettings) -> list[Rollout]:
        """``len(prompts_ids) * settings.n`` rollouts, grouped: prompt 0's n samples first."""

    def update_weights(self, model) -> None:
        """Make the engine sample from ``model``'s current weights."""

    def close(self) -> None: ...


def cut_at_stop(
    token_ids: list[int], log_probs: list[float], stop_id: int | None
) -> tuple[list[int], list[float]]:
    """Drop everything after the first stop id (kept), e.g. padding after an early finish."""
    if stop_id is not None and stop_id in token_ids:
        end = token_ids.index(stop_id) + 1
        return token_ids[:end], log_probs[:end]
    return token_ids, log_probs
