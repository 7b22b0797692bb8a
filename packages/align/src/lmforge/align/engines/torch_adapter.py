"""Adapting the model package's ``torch`` rollout engine (its KV-cache generator) to this interface.

That engine returns ``RolloutResult(prompt_index, token_ids, logprobs)`` with log-probs of the
temperature-scaled distribution (before any top-p truncation), takes its stop id at construction and
holds the live model, so a weight update is a no-op.
"""

from __future__ import annotations

from ..rollout import Rollout, SamplingSettings


class TorchEngineAdapter:
    def __init__(self, engine) -> None:
        self.engine = engine

    def generate(self, prompts_ids: list[list[int]], settings: SamplingSettings) -> list[Rollout]:
        # the stop id belongs to the sampling settings here; that engine reads it from its attribute
        self.engine.eot_id = settings.stop_id
        results = self.engine.generate(
            prompts_ids,
            settings.max_new_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            n=settings.n,
            seed=settings.seed,
        )
        return [
            Rollout(r.prompt_index, list(prompts_ids[r.prompt_index]), list(r.token_ids), list(r.logprobs))
            for r in results
        ]

    def update_weights(self, model) -> None:
        self.engine.model = model  # the same module the trainer updates in place

    def close(self) -> None:
        pass


def adapt_torch_engine(engine):
    return engine if hasattr(engine, "update_weights") else TorchEngineAdapter(engine)
