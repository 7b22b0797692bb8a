"""How two align parts of one kind are compared (``parity_check`` parts).

rl_loss: both losses, built with the same options, on the same random inputs (log-probs that carry a
gradient, advantages, old log-probs perturbed so the importance ratio moves through any clip range,
a ragged response mask): they must agree on ``uses_old_log_probs``, on the per-token loss at response
tokens and on its gradient with respect to the log-probs. Error: the largest absolute difference;
tolerance 1e-6 (float32).

rollout_engine: both engines built on one tiny random lmforge policy (``engine(policy, **options)``),
greedy decoding of the same prompts: the tokens must be identical and the log-probs of those tokens
agree within 1e-4 (the preflight's tolerance: engines may run another attention kernel or a converted
copy of the model). An engine with the model package's own interface is adapted the way align adapts
it (:func:`lmforge.align.engines.torch_adapter.adapt_torch_engine`). Skipped when an engine needs a
library that is not installed (vLLM on a machine without it).
"""

from __future__ import annotations

import torch

from lmforge.core.contracts import ParityResult
from lmforge.core.parity import ParitySkipped

RL_LOSS_TOLERANCE = 1e-6
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
    if bool(cand.uses_old_log_probs) != bool(ref.uses_old_log_probs):
        return ParityResult(float("inf"), RL_LOSS_TOLERANCE, False,
                            f"uses_old_log_probs is {cand.uses_old_log_probs}, the reference's "
                            f"{ref.uses_old_log_probs}")
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


def tiny_policy(vocab_size: int = 48, seed: int = 0):
    """A random lmforge model, small enough to decode on CPU in well under a second."""
    from lmforge.model import TransformerLM

    torch.manual_seed(seed)
    model = TransformerLM(vocab_size, 64, 32, 2, num_heads=4, d_ff=64)
    return model.eval()


def _greedy(part, policy, prompts: list[list[int]], max_new_tokens: int, options: dict):
    from .engines.torch_adapter import adapt_torch_engine
    from .rollout import SamplingSettings

    try:
        built = part(policy, **options)
    except ModuleNotFoundError as e:  # an engine on an optional library (vLLM) that is not installed
        raise ParitySkipped(f"{e.name} is not installed") from e
    engine = adapt_torch_engine(built, policy)
    try:
        settings = SamplingSettings(n=1, max_new_tokens=max_new_tokens, temperature=0.0, stop_id=None, seed=0)
        return engine.generate(prompts, settings)
    finally:
        engine.close()


def rollout_engine_parity(candidate, reference, max_new_tokens: int = 12, **options) -> ParityResult:
    """Greedy tokens (identical) and their log-probs (within 1e-4) from the same tiny policy."""
    policy = tiny_policy()
    prompts = [[3, 4, 5, 6], [7], [9, 10, 11, 12, 13, 14, 15], [20, 21]]  # ragged: padding on the left
    got = _greedy(candidate, policy, prompts, max_new_tokens, options)
    want = _greedy(reference, policy, prompts, max_new_tokens, options)
    if [(r.prompt_index, r.token_ids) for r in got] != [(r.prompt_index, r.token_ids) for r in want]:
        first = next(i for i, (a, b) in enumerate(zip(got, want)) if a.token_ids != b.token_ids)
        return ParityResult(float("inf"), LOG_PROB_TOLERANCE, False,
                            f"greedy tokens differ for prompt {first}: {got[first].token_ids} vs "
                            f"{want[first].token_ids}")
    error = max(abs(a - b) for r, s in zip(got, want) for a, b in zip(r.log_probs, s.log_probs))
    passed = error <= LOG_PROB_TOLERANCE
    detail = "" if passed else "log-probs of the greedy tokens differ"
    return ParityResult(error, LOG_PROB_TOLERANCE, passed, detail)
