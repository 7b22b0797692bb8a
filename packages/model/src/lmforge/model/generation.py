"""Batched sampling from a ``TransformerLM`` with a KV cache: the ``torch`` rollout engine.

Prompts of different lengths are left-padded into one batch. Each sequence gets its own token
positions (counting from its first real token), and a mask hides the padding from every real query, so
a prompt produces the same tokens alone or in a batch. With the cache, the prompt is run once
(prefill) and each new token costs one single-position forward; ``use_cache=False`` recomputes the
whole sequence every step instead (the reference the cache is tested against, and the benchmark's
baseline).

Sampling draws one uniform number per sequence and step from a seeded CPU generator and inverts the
CDF in vocabulary order, so a seed fixes the tokens on any device, and logits that differ by rounding only
(cached vs recomputed) pick the same token unless they straddle a CDF boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lmforge.core import LmforgeError


class KVCache:
    """One layer's keys and values, preallocated for ``capacity`` positions and filled left to right."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.length = 0
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def update(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append (batch, kv_heads, new, head_dim) keys/values; return all of them so far."""
        if self.k is None:
            shape = (*k.shape[:-2], self.capacity, k.shape[-1])
            self.k = k.new_empty(shape)
            self.v = v.new_empty(shape)
        new = k.shape[-2]
        if self.length + new > self.capacity:
            raise LmforgeError(f"KV cache full: {self.length} + {new} > capacity {self.capacity}")
        self.k[..., self.length:self.length + new, :] = k
        self.v[..., self.length:self.length + new, :] = v
        self.length += new
        return self.k[..., :self.length, :], self.v[..., :self.length, :]

    def keep(self, rows: torch.Tensor) -> None:
        """Drop finished sequences: keep only batch ``rows``."""
        if self.k is not None:
            self.k, self.v = self.k[rows], self.v[rows]


def sample_tokens(logits: torch.Tensor, temperature: float, top_p: float,
                  uniforms: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick one token per row of (batch, vocab) logits; return (tokens, their log-probs).

    ``uniforms``: one number in [0, 1) per row (drawn from torch's global RNG when omitted).

    The log-prob is that of the temperature-scaled distribution before nucleus truncation (what a
    trainer recomputes from logits / temperature); for greedy decoding (temperature 0), of the
    unscaled distribution.
    """
    logits = logits.float()
    if temperature == 0:
        tokens = logits.argmax(dim=-1)
        logprobs = torch.log_softmax(logits, dim=-1)
    else:
        logprobs = torch.log_softmax(logits / temperature, dim=-1)
        probs = logprobs.exp()
        if top_p < 1.0:
            # keep the smallest set of most likely tokens whose mass reaches top_p (always the first)
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
            drop_sorted = mass_before >= top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            probs = probs.masked_fill(drop, 0.0)
        cdf = probs.cumsum(dim=-1)
        if uniforms is None:
            uniforms = torch.rand(logits.shape[0], dtype=torch.float64)
        # scaling u by the kept mass renormalises the nucleus without dividing the probabilities
        u = uniforms.reshape(-1, 1).to(device=logits.device, dtype=cdf.dtype) * cdf[:, -1:]
        tokens = torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp_(max=logits.shape[-1] - 1)
        # never land on a zero-probability token when u sits exactly on a flat stretch of the CDF
        tokens = torch.where(probs.gather(-1, tokens[:, None]).squeeze(-1) > 0, tokens, probs.argmax(-1))
    return tokens, logprobs.gather(-1, tokens[:, None]).squeeze(-1)


def _attention_mask(valid: torch.Tensor, q_start: int, q_len: int) -> torch.Tensor:
    """(batch, 1, q_len, k_len) mask: real keys only, plus each query itself so that padded query rows
    never see an all-masked row (a NaN softmax whose values would leak through 0 * NaN)."""
    k_len = q_start + q_len
    keys = valid[:, None, None, :k_len]
    q_idx = torch.arange(q_start, k_len, device=valid.device)[:, None]
    itself = q_idx == torch.arange(k_len, device=valid.device)[None, :]
    return keys | itself


@torch.no_grad()
def generate(model, prompts_ids: list[list[int]], max_new_tokens: int, temperature: float = 1.0,
             top_p: float = 1.0, eot_id: int | None = None, seed: int | None = None,
             return_logprobs: bool = False, use_cache: bool = True):
    """Continue each prompt by up to ``max_new_tokens`` tokens; return only the new tokens.

    Returns ``list[list[int]]`` (one completion per prompt, ending with ``eot_id`` when it was
    sampled), or ``(token_ids, logprobs)`` with ``return_logprobs``. ``temperature=0`` is greedy.
    """
    if not prompts_ids or any(len(p) == 0 for p in prompts_ids):
        raise LmforgeError("generate needs at least one prompt, and every prompt needs a token")
    if temperature < 0 or not 0 < top_p <= 1:
        raise LmforgeError(f"need temperature >= 0 and 0 < top_p <= 1, got {temperature}, {top_p}")
    device = next(model.parameters()).device
    batch, longest = len(prompts_ids), max(len(p) for p in prompts_ids)
    total = longest + max_new_tokens
    limit = getattr(model, "context_length", None)
    if limit is not None and total > limit:
        raise LmforgeError(f"longest prompt ({longest}) + max_new_tokens ({max_new_tokens}) exceeds the "
                           f"model's context length ({limit})")
    # one uniform per (sequence, step), drawn up front: a sequence's samples do not depend on when
    # the others stop, and a seed gives the same tokens on every device
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    uniforms = torch.rand(batch, max(max_new_tokens, 1), generator=generator, dtype=torch.float64)

    ids = torch.zeros(batch, total, dtype=torch.long, device=device)
    valid = torch.zeros(batch, total, dtype=torch.bool, device=device)
    for i, prompt in enumerate(prompts_ids):
        ids[i, longest - len(prompt):longest] = torch.tensor(prompt, dtype=torch.long)
        valid[i, longest - len(prompt):] = True
    positions = (valid.cumsum(dim=-1) - 1).clamp_(min=0)

    was_training = model.training
    model.eval()
    caches = [KVCache(total) for _ in model.layers] if use_cache else None
    rows = torch.arange(batch, device=device)  # sequences still running, as rows of the full batch
    out_tokens = torch.zeros(batch, max_new_tokens, dtype=torch.long, device=device)
    out_logprobs = torch.zeros(batch, max_new_tokens, dtype=torch.float32, device=device)
    lengths = torch.full((batch,), max_new_tokens, dtype=torch.long, device=device)
    try:
        start = 0  # first position fed to the model this step (with the cache)
        for step in range(max_new_tokens):
            end = longest + step
            if not use_cache:
                start = 0
            mask = _attention_mask(valid[rows], start, end - start)
            logits = model(ids[rows, start:end], positions[rows, start:end], caches, mask)[:, -1]
            tokens, logprobs = sample_tokens(logits, temperature, top_p, uniforms[rows.cpu(), step])
            ids[rows, end] = tokens
            out_tokens[rows, step] = tokens
            out_logprobs[rows, step] = logprobs
            start = end
            if eot_id is None:
                continue
            done = tokens == eot_id
            if done.any():
                lengths[rows[done]] = step + 1
                rows = rows[~done]
                if caches is not None:
                    for cache in caches:
                        cache.keep(~done)
                if len(rows) == 0:
                    break
    finally:
        model.train(was_training)
    token_ids = [out_tokens[i, :n].tolist() for i, n in enumerate(lengths.tolist())]
    if not return_logprobs:
        return token_ids
    return token_ids, [out_logprobs[i, :n].tolist() for i, n in enumerate(lengths.tolist())]


@dataclass
class RolloutResult:
    """One sampled completion: which prompt it continues, its token ids and their log-probs."""

    prompt_index: int
    token_ids: list[int]
    logprobs: list[float]


class TorchRolloutEngine:
    """The ``torch`` rollout engine: this package's KV-cache generator behind the rollout interface."""

    def __init__(self, model, eot_id: int | None = None, max_batch_size: int = 64) -> None:
        self.model, self.eot_id, self.max_batch_size = model, eot_id, max_batch_size

    def generate(self, prompt_ids: list[list[int]], max_new_tokens: int, temperature: float = 1.0,
                 top_p: float = 1.0, n: int = 1, seed: int | None = None) -> list[RolloutResult]:
        """``n`` samples per prompt, grouped by prompt (prompt 0's n samples first, then prompt 1's...)."""
        jobs = [(i, p) for i, p in enumerate(prompt_ids) for _ in range(n)]
        results = []
        for chunk, start in enumerate(range(0, len(jobs), self.max_batch_size)):
            part = jobs[start:start + self.max_batch_size]
            chunk_seed = None if seed is None else seed + chunk
            ids, logprobs = generate(self.model, [p for _, p in part], max_new_tokens, temperature, top_p,
                                     eot_id=self.eot_id, seed=chunk_seed, return_logprobs=True)
            results += [RolloutResult(i, t, lp) for (i, _), t, lp in zip(part, ids, logprobs)]
        return results


def load_run_model(run_dir, device: str = "cpu"):
    """The model of a run directory's latest checkpoint, in eval mode: ``(TransformerLM, ModelConfig)``."""
    from pathlib import Path

    from .config import ModelConfig
    from .run_checkpoint import latest_checkpoint, load_model_weights, read_trainer_state
    from .transformer import TransformerLM

    ckpt = latest_checkpoint(Path(run_dir))
    if ckpt is None:
        raise LmforgeError(f"no checkpoint in {run_dir} (expected {run_dir}/checkpoints/step_*)")
    state = read_trainer_state(ckpt)
    if "model" not in state:
        raise LmforgeError(f"checkpoint {ckpt} does not record its model config")
    cfg = ModelConfig(**state["model"])
    model = TransformerLM.from_config(cfg, device=device)
    model.load_state_dict(load_model_weights(ckpt))
    return model.eval(), cfg
