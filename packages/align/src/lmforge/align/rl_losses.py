"""The ``rl_loss`` parts: how advantages are formed and how the per-token loss is reduced.

Each part is an :class:`RLLoss`; the GRPO loop reads its fields and calls
:func:`grpo_microbatch_train_step` with them, so a plugin adds a loss by registering another one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RLLoss:
    """A policy-gradient objective.

    loss_type: the per-token loss (see ``compute_policy_gradient_loss``).
    normalize_by_std: divide group-centered rewards by the group std (GRPO) or not (Dr. GRPO).
    length_normalization: "masked_mean" (per-sequence mean over response tokens) or "constant"
        (sum over response tokens divided by the generation budget: no length bias, Dr. GRPO).
    """

    loss_type: str
    normalize_by_std: bool = True
    length_normalization: str = "masked_mean"
    description: str = ""

    @property
    def uses_old_log_probs(self) -> bool:
        return self.loss_type in ("grpo_clip", "grpo_no_clip")


LOSSES = {
    "no_baseline": RLLoss(
        "no_baseline", normalize_by_std=False, description="REINFORCE on raw rewards, no baseline"
    ),
    "reinforce_with_baseline": RLLoss(
        "reinforce_with_baseline", description="REINFORCE on group-normalized advantages"
    ),
    "grpo_clip": RLLoss(
        "grpo_clip", description="GRPO: clipped importance ratio on group-normalized advantages"
    ),
    "grpo_no_clip": RLLoss(
        "grpo_no_clip", description="GRPO's importance-weighted surrogate without clipping"
    ),
    "dr_grpo": RLLoss(
        "grpo_clip",
        normalize_by_std=False,
        length_normalization="constant",
        description="Dr. GRPO: clipped, no std normalization, constant length normalization",
    ),
}
