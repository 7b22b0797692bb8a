"""The ``hf`` rollout engine: transformers ``generate`` with processed scores as log-probs."""

from __future__ import annotations

import torch

from ..rollout import Rollout, SamplingSettings, cut_at_stop
from .hf_weights import as_hf_model


class HFRolloutEngine:
    """Samples with ``model.generate`` on an HF causal LM (an lmforge model is converted first).

    When the policy is itself an HF model the engine samples from that very object, so
    ``update_weights`` has nothing to copy.
    """

    def __init__(self, model) -> None:
        self.policy = model
        self.hf_model, self.shares_weights = as_hf_model(model)

    def update_weights(self, model) -> None:
        if not self.shares_weights:
            self.hf_model, _ = as_hf_model(model, into=self.hf_model)

    @torch.inference_mode()
    def generate(self, prompts_ids: list[list[int]], settings: SamplingSettings) -> list[Rollout]:
        from transformers import GenerationConfig

        device = next(self.hf_model.parameters()).device
        width = max(len(p) for p in prompts_ids)
        # left padding keeps every prompt's last token at the same position
        ids = torch.full((len(prompts_ids), width), settings.pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(prompts_ids):
            ids[i, width - len(p) :] = torch.tensor(p)
            mask[i, width - len(p) :] = 1
        greedy = settings.temperature <= 0
        config = GenerationConfig(
            do_sample=not greedy,
            temperature=None if greedy else settings.temperature,
            top_p=None if greedy else settings.top_p,
            top_k=0,
            max_new_tokens=settings.max_new_tokens,
            num_return_sequences=settings.n,
            eos_token_id=settings.stop_id,
            pad_token_id=settings.pad_id,
            output_scores=True,
            return_dict_in_generate=True,
        )
        if settings.seed is not None:
            torch.manual_seed(settings.seed)
        was_training = self.hf_model.training
        self.hf_model.eval()
        out = self.hf_model.generate(
            input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config
        )
        self.hf_model.train(was_training)
        new = out.sequences[:, width:]
        # scores are the processed logits (after temperature / top-p), one tensor per step
        scores = torch.stack(out.scores, dim=1).float()
        lps = torch.log_softmax(scores, dim=-1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
        rollouts = []
        for row in range(new.shape[0]):
            k = row // settings.n
            tokens, logps = cut_at_stop(new[row].tolist(), lps[row].tolist(), settings.stop_id)
            rollouts.append(Rollout(k, list(prompts_ids[k]), tokens, logps))
        return rollouts

    def close(self) -> None:
        pass
