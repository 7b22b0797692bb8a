"""lmforge.align: SFT, expert iteration, DPO and GRPO with swappable losses, rewards and rollout engines.

Names are imported lazily so that loading the plugin (``lmforge plugins``) never imports torch.
"""

from __future__ import annotations

from lmforge.core import lazy_exports

_EXPORTS = {
    "tokenize_prompt_and_output": "tokenization",
    "compute_entropy": "logprobs",
    "get_response_log_probs": "logprobs",
    "masked_mean": "logprobs",
    "masked_normalize": "logprobs",
    "sft_microbatch_train_step": "sft_step",
    "compute_group_normalized_rewards": "policy_gradient",
    "compute_naive_policy_gradient_loss": "policy_gradient",
    "compute_grpo_clip_loss": "policy_gradient",
    "compute_policy_gradient_loss": "policy_gradient",
    "grpo_microbatch_train_step": "policy_gradient",
    "compute_per_instance_dpo_loss": "dpo",
    "PackedSFTDataset": "sft_data",
    "iterate_batches": "sft_data",
    "parse_gsm8k_response": "parsing",
    "parse_mmlu_response": "parsing",
    "r1_math_reward": "rewards",
    "math_reward": "rewards",
    "exact_match_reward": "rewards",
    "RLLoss": "rl_losses",
    "Rollout": "rollout",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
