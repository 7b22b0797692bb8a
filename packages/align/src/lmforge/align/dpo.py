"""Direct preference optimization (Rafailov et al., 2023) for one preference pair."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .logprobs import model_logits
from .tokenization import encode_text, eos_id_of


def sequence_log_prob(model, prompt_ids: list[int], response_ids: list[int]) -> torch.Tensor:
    """Sum of log p(response token) given the prompt and the earlier response tokens."""
    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids + response_ids], dtype=torch.long, device=device)
    logits = model_logits(model, ids[:, :-1]).float()
    log_probs = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return log_probs[0, len(prompt_ids) - 1 :].sum()


def pair_ids(tokenizer, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """Prompt ids and response ids (the response ends with the end-of-sequence token when one exists)."""
    eos = eos_id_of(tokenizer)
    return encode_text(tokenizer, prompt), encode_text(tokenizer, response) + (
        [eos] if eos is not None else []
    )


def compute_per_instance_dpo_loss(
    lm, lm_ref, tokenizer, beta: float, prompt: str, response_chosen: str, response_rejected: str
) -> torch.Tensor:
    """-log sigmoid(beta * [(log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l))]).

    The reference model's log-probs carry no gradient.
    """
    loss, _ = dpo_loss_and_margin(lm, lm_ref, tokenizer, beta, prompt, response_chosen, response_rejected)
    return loss


def dpo_loss_and_margin(
    lm, lm_ref, tokenizer, beta: float, prompt: str, response_chosen: str, response_rejected: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The DPO loss and the implicit reward margin beta * (chosen log-ratio - rejected log-ratio)."""
    p, chosen = pair_ids(tokenizer, prompt, response_chosen)
    _, rejected = pair_ids(tokenizer, prompt, response_rejected)
    policy_chosen = sequence_log_prob(lm, p, chosen)
    policy_rejected = sequence_log_prob(lm, p, rejected)
    with torch.no_grad():
        ref_chosen = sequence_log_prob(lm_ref, p, chosen).to(policy_chosen.device)
        ref_rejected = sequence_log_prob(lm_ref, p, rejected).to(policy_chosen.device)
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -F.logsigmoid(margin), margin.detach()
