"""Direct preference optimization and its variants, batched: one forward for all chosen and rejected.

A ``preference_loss`` part is built as ``get_part("preference_loss", name)(beta=..., **options)`` and
called on per-pair tensors: the chosen and rejected log-ratios (sum over response tokens of
log pi - log ref) and the response lengths in tokens. It returns the per-pair loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .logprobs import get_response_log_probs
from .tokenization import encode_text, eos_id_of, pack_prompt_and_output_ids, pad_id_of


class SigmoidDPO:
    """-log sigmoid(beta z), z = chosen log-ratio - rejected log-ratio (Rafailov et al. 2023,
    arXiv:2305.18290). ``label_smoothing`` eps > 0 is conservative DPO (cDPO: the label is wrong with
    probability eps): -(1-eps) log sigmoid(beta z) - eps log sigmoid(-beta z)."""

    paper = "Rafailov et al. 2023, Direct Preference Optimization, arXiv:2305.18290"

    def __init__(self, beta: float = 0.1, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
        self.beta, self.label_smoothing = beta, label_smoothing

    def __call__(self, chosen, rejected, chosen_lengths, rejected_lengths):
        z = self.beta * (chosen - rejected)
        eps = self.label_smoothing
        return -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)


class RobustDPO(SigmoidDPO):
    """Robust DPO (Chowdhury et al. 2024, arXiv:2403.00409): the unbiased loss under label noise eps,
    ((1-eps) * -log sigmoid(beta z) - eps * -log sigmoid(-beta z)) / (1 - 2 eps)."""

    paper = "Chowdhury et al. 2024, Provably Robust DPO, arXiv:2403.00409"

    def __call__(self, chosen, rejected, chosen_lengths, rejected_lengths):
        z = self.beta * (chosen - rejected)
        eps = self.label_smoothing
        return (-(1 - eps) * F.logsigmoid(z) + eps * F.logsigmoid(-z)) / (1 - 2 * eps)


class HingeDPO:
    """relu(1 - beta z): SLiC's hinge on the log-ratio margin (Zhao et al. 2023, arXiv:2305.10425)."""

    paper = "Zhao et al. 2023, SLiC-HF, arXiv:2305.10425"

    def __init__(self, beta: float = 0.1) -> None:
        self.beta = beta

    def __call__(self, chosen, rejected, chosen_lengths, rejected_lengths):
        return torch.relu(1 - self.beta * (chosen - rejected))


class IPO:
    """(z_avg - 1/(2 beta))^2 with per-token average log-ratios (Azar et al. 2023, arXiv:2310.12036;
    the length normalization is TRL's, confirmed by the authors)."""

    paper = "Azar et al. 2023, A General Theoretical Paradigm (IPO), arXiv:2310.12036"

    def __init__(self, beta: float = 0.1) -> None:
        self.beta = beta

    def __call__(self, chosen, rejected, chosen_lengths, rejected_lengths):
        z = chosen / chosen_lengths.clamp(min=1) - rejected / rejected_lengths.clamp(min=1)
        return (z - 1 / (2 * self.beta)) ** 2


PREFERENCE_LOSSES = {"sigmoid": SigmoidDPO, "robust": RobustDPO, "hinge": HingeDPO, "ipo": IPO}


def pair_ids(tokenizer, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """Prompt ids and response ids (the response ends with the end-of-sequence token when one exists).

    An empty prompt gets the end-of-sequence token as its context (the document boundary the model was
    trained after), so that the response's first token is scored too.
    """
    eos = eos_id_of(tokenizer)
    prompt_ids = encode_text(tokenizer, prompt)
    if not prompt_ids:
        if eos is None:
            raise ValueError("an empty prompt needs an end-of-sequence token to condition on")
        prompt_ids = [eos]
    return prompt_ids, encode_text(tokenizer, response) + ([eos] if eos is not None else [])


def sequence_log_probs(
    model, prompts: list[list[int]], responses: list[list[int]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of log p(response token), response length) per sequence, all in one forward pass."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in pack_prompt_and_output_ids(prompts, responses, pad_id).items()}
    log_probs = get_response_log_probs(model, batch["input_ids"], batch["labels"])["log_probs"]
    mask = batch["response_mask"]
    return (log_probs * mask).sum(-1), mask.sum(-1).to(log_probs.dtype)


def sequence_log_prob(model, prompt_ids: list[int], response_ids: list[int]) -> torch.Tensor:
    """Sum of log p(response token) given the prompt and the earlier response tokens."""
    return sequence_log_probs(model, [prompt_ids], [response_ids], pad_id=0)[0][0]


def preference_log_ratios(lm, lm_ref, tokenizer, pairs: list[dict]) -> dict[str, torch.Tensor]:
    """Chosen and rejected log-ratios (policy minus reference, summed over the response) and lengths
    for a batch of ``{"prompt", "chosen", "rejected"}`` pairs: one policy and one reference forward."""
    prompts, responses = [], []
    for key in ("chosen", "rejected"):
        for pair in pairs:
            p, r = pair_ids(tokenizer, pair["prompt"], pair[key])
            prompts.append(p)
            responses.append(r)
    pad = pad_id_of(tokenizer)
    policy, lengths = sequence_log_probs(lm, prompts, responses, pad)
    with torch.no_grad():
        ref, _ = sequence_log_probs(lm_ref, prompts, responses, pad)
    ratios = policy - ref.to(policy.device)
    n = len(pairs)
    return {
        "chosen": ratios[:n],
        "rejected": ratios[n:],
        "chosen_lengths": lengths[:n],
        "rejected_lengths": lengths[n:],
    }


def preference_loss_and_margin(loss_fn, beta: float, ratios: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair loss and implicit reward margin beta * (chosen log-ratio - rejected log-ratio)."""
    loss = loss_fn(ratios["chosen"], ratios["rejected"], ratios["chosen_lengths"], ratios["rejected_lengths"])
    return loss, (beta * (ratios["chosen"] - ratios["rejected"])).detach()


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
    """The sigmoid DPO loss and the implicit reward margin of one pair."""
    ratios = preference_log_ratios(
        lm, lm_ref, tokenizer, [{"prompt": prompt, "chosen": response_chosen, "rejected": response_rejected}]
    )
    loss, margin = preference_loss_and_margin(SigmoidDPO(beta), beta, ratios)
    return loss[0], margin[0]
