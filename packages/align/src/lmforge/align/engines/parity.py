"""The ``rollout_engine`` parity check (``lmforge parity rollout_engine``).

Two engines serve the same small TransformerLM (GQA, untied head). They must agree on greedy
continuations token for token, and each engine's log-probs of its own sampled tokens (temperature
0.7) must match the trainer's rescoring of them, which is what the reference engine is held to too.
max_error is the largest of the candidate's log-prob gap to the trainer and, if any greedy token
differs, 1.0.
"""

from __future__ import annotations

from typing import Any

import torch

from lmforge.core import ParityResult
from lmforge.core.parity import ParitySkipped

from ..preflight import trainer_log_probs
from ..rollout import SamplingSettings
from .torch_adapter import adapt_torch_engine

PROMPTS = [[3, 4, 5], [6, 7], [8, 9, 10, 11], [12]]


def _model():
    from lmforge.model import ModelConfig, TransformerLM

    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=48, context_length=32, d_model=32, num_layers=2, num_heads=4, num_kv_heads=2)
    return TransformerLM.from_config(cfg).eval()


def rollout_engine_parity(
    candidate: Any, reference: Any, tolerance: float = 1e-4, **options: Any
) -> ParityResult:
    model = _model()
    try:
        cand = adapt_torch_engine(candidate(model, **options))
    except ImportError as e:  # vLLM (and its GPU) are not on every machine: not a verdict either way
        raise ParitySkipped(f"the candidate cannot start here: {e}") from None
    ref = adapt_torch_engine(reference(model))
    greedy = SamplingSettings(n=1, max_new_tokens=8, temperature=0.0, stop_id=1, seed=0)
    a, b = cand.generate(PROMPTS, greedy), ref.generate(PROMPTS, greedy)
    mismatched = sum(x.token_ids != y.token_ids for x, y in zip(a, b))
    sampled = SamplingSettings(n=2, max_new_tokens=8, temperature=0.7, stop_id=1, seed=0)
    rollouts = cand.generate(PROMPTS, sampled)
    trainer = trainer_log_probs(model, rollouts, sampled.temperature, sampled.top_p)
    gap = max(
        (
            (t - torch.tensor(r.log_probs)).abs().max().item()
            for t, r in zip(trainer, rollouts)
            if r.token_ids
        ),
        default=0.0,
    )
    cand.close()
    ref.close()
    error = max(gap, 1.0 if mismatched else 0.0)
    detail = f"{mismatched} of {len(PROMPTS)} greedy continuations differ; " if mismatched else ""
    return ParityResult(
        error, tolerance, error <= tolerance, detail + f"log-prob gap to the trainer {gap:.2g}"
    )
