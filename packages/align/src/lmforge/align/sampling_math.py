"""The log-probabilities a sampler reports, recomputed from logits (temperature and top-p applied)."""

from __future__ import annotations

import torch


def processed_log_probs(logits: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0) -> torch.Tensor:
    """log_softmax of the distribution actually sampled from: logits / T, restricted to the nucleus.

    Tokens outside the top-p nucleus get -inf; inside it the probabilities are renormalized, as
    vLLM's ``processed_logprobs`` and HF's processed scores report them.
    """
    logits = logits.float()
    if temperature > 0 and temperature != 1.0:
        logits = logits / temperature
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        # keep a token when the mass before it is below top_p (the top token is always kept)
        drop_sorted = (probs.cumsum(dim=-1) - probs) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return torch.log_softmax(logits, dim=-1)
