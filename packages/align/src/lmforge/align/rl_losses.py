"""The ``rl_loss`` parts: callables that compute the per-token policy-gradient loss.

A part is built as ``get_part("rl_loss", name)(**options)``; the result is called by the GRPO loop as

    per_token, metrics = loss(log_probs, advantages=A, old_log_probs=old, response_mask=mask)

with ``log_probs`` (batch, seq) carrying gradient, ``advantages`` (batch, 1), ``old_log_probs`` the
trainer's log-probs when the batch was sampled (``None`` unless ``uses_old_log_probs``) and
``metrics`` a dict of detached per-token tensors (``clipped`` is averaged into ``clip_fraction``).
Three more attributes say how the loop prepares and reduces it (defaults in brackets):

- ``uses_old_log_probs`` (required): whether the loss reads ``old_log_probs``.
- ``advantage`` ["group_normalized"]: ``group_normalized`` (minus the group mean, over the group
  std + eps), ``group_centered`` (minus the group mean) or ``raw`` (the reward itself).
- ``reduction`` ["sequence_mean"]: see :data:`lmforge.align.policy_gradient.REDUCTIONS`.

A third-party loss is any object with ``__call__`` and a boolean ``uses_old_log_probs``.

Importing this module never imports torch (the plugin registers these parts eagerly when listing
parts); the losses import it when first called.
"""

from __future__ import annotations

import functools

REDUCTIONS = ("sequence_mean", "constant", "dapo", "bnpo")
"""How per-token losses become the batch loss (one batch = every rollout of a step):

- ``sequence_mean``: each sequence's mean over its tokens, then the mean over sequences (GRPO).
- ``constant``: each sequence's token sum over the generation budget, mean over sequences (Dr. GRPO).
- ``dapo``: the sum over every token of the batch over the batch's token count (DAPO, TRL's default).
- ``bnpo``: each micro-batch's token mean, averaged over micro-batches weighted by their sequences.
"""


class RLLoss:
    """Shared bookkeeping: the advantage form, the reduction and the paper."""

    uses_old_log_probs = False
    paper = ""

    def __init__(self, advantage: str = "group_normalized", reduction: str = "sequence_mean") -> None:
        if advantage not in ("group_normalized", "group_centered", "raw"):
            raise ValueError(f"advantage must be group_normalized, group_centered or raw, got {advantage!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
        self.advantage = advantage
        self.reduction = reduction

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__})"


class Reinforce(RLLoss):
    """REINFORCE per token: -A log pi(token) (Williams, 1992)."""

    paper = "Williams 1992, Simple statistical gradient-following algorithms (REINFORCE)"

    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        return -advantages * log_probs, {}


class ClippedSurrogate(RLLoss):
    """PPO's clipped surrogate on group advantages: -min(r A, clip(r, 1-eps, 1+eps_high) A).

    ``epsilon_high`` > ``epsilon`` is DAPO's clip-higher; ``delta`` caps the unclipped ratio from
    above (two-sided / dual clipping, INTELLECT-2); ``level="sequence"`` makes r the geometric mean of
    the token ratios of the sequence (GSPO). The same formula as TRL's ``GRPOTrainer._compute_loss``.
    """

    uses_old_log_probs = True
    paper = "Shao et al. 2024, DeepSeekMath (GRPO), arXiv:2402.03300; Schulman et al. 2017 (PPO)"

    def __init__(
        self,
        epsilon: float = 0.2,
        epsilon_high: float | None = None,
        delta: float | None = None,
        level: str = "token",
        clip: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if level not in ("token", "sequence"):
            raise ValueError(f"level must be token or sequence, got {level!r}")
        if delta is not None and delta <= 1.0:
            raise ValueError(f"delta caps the ratio from above and must exceed 1, got {delta}")
        self.epsilon = epsilon
        self.epsilon_high = epsilon if epsilon_high is None else epsilon_high
        self.delta = delta
        self.level = level
        self.clip = clip

    def __call__(self, log_probs, *, advantages, old_log_probs, response_mask):
        import torch

        log_ratio = log_probs - old_log_probs
        if self.level == "sequence":  # GSPO: length-normalized sequence log-ratio, one per row
            mask = response_mask.to(log_ratio.dtype)
            log_ratio = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
        ratio = torch.exp(log_ratio)
        if not self.clip:
            return -ratio * advantages, {"ratio": ratio.detach()}
        clipped_ratio = torch.clamp(ratio, 1.0 - self.epsilon, 1.0 + self.epsilon_high)
        capped = ratio if self.delta is None else torch.clamp(ratio, max=self.delta)
        unclipped_term, clipped_term = capped * advantages, clipped_ratio * advantages
        per_token = -torch.minimum(unclipped_term, clipped_term)
        per_token = per_token.expand_as(log_probs)
        clipped = (clipped_term < unclipped_term).expand_as(log_probs)
        return per_token, {"clipped": clipped, "ratio": ratio.detach()}


class CISPO(RLLoss):
    """CISPO (MiniMax-M1): -sg(min(r, ratio_cap)) A log pi: the weight is clipped, never the gradient.

    ``ratio_cap`` is TRL's ``epsilon_high`` for ``loss_type="cispo"`` (an absolute cap on r).
    """

    uses_old_log_probs = True
    paper = "MiniMax 2025, MiniMax-M1 (CISPO), arXiv:2506.13585"

    def __init__(self, ratio_cap: float = 5.0, **kwargs) -> None:
        kwargs.setdefault("reduction", "dapo")
        super().__init__(**kwargs)
        self.ratio_cap = ratio_cap

    def __call__(self, log_probs, *, advantages, old_log_probs, response_mask):
        import torch

        ratio = torch.exp(log_probs - old_log_probs)
        weight = torch.clamp(ratio, max=self.ratio_cap).detach()
        clipped = (ratio > self.ratio_cap) & (advantages > 0)
        return -weight * advantages * log_probs, {"clipped": clipped, "ratio": ratio.detach()}


def _preset(cls, description: str, paper: str | None = None, **defaults):
    """A registered factory: ``cls`` with these defaults, any of them overridable by config options."""

    @functools.wraps(cls, updated=())
    def build(**options):
        loss = cls(**{**defaults, **options})
        if paper:
            loss.paper = paper
        return loss

    build.__doc__ = description
    build.paper = paper or cls.paper
    return build


LOSSES = {
    "no_baseline": _preset(Reinforce, "REINFORCE on raw rewards, no baseline", advantage="raw"),
    "reinforce_with_baseline": _preset(
        Reinforce, "REINFORCE on group-normalized advantages (GRPO without the ratio)"
    ),
    "grpo_clip": _preset(
        ClippedSurrogate, "GRPO: clipped ratio on group-normalized advantages, per-sequence mean"
    ),
    "grpo_no_clip": _preset(
        ClippedSurrogate, "GRPO's importance-weighted surrogate without clipping: -r A", clip=False
    ),
    "dr_grpo": _preset(
        ClippedSurrogate,
        "Dr. GRPO: clipped, no std normalization, token sum over the generation budget",
        paper="Liu et al. 2025, Understanding R1-Zero-Like Training (Dr. GRPO), arXiv:2503.20783",
        advantage="group_centered",
        reduction="constant",
    ),
    "dapo": _preset(
        ClippedSurrogate,
        "DAPO: clip-higher (0.2 / 0.28), token mean over the whole batch (TRL's default loss)",
        paper="Yu et al. 2025, DAPO, arXiv:2503.14476",
        epsilon_high=0.28,
        reduction="dapo",
    ),
    "bnpo": _preset(
        ClippedSurrogate,
        "BNPO: clipped, token mean over each micro-batch",
        paper="Xiao et al. 2025, BNPO: Beta Normalization Policy Optimization, arXiv:2506.02864",
        reduction="bnpo",
    ),
    "gspo": _preset(
        ClippedSurrogate,
        "GSPO: sequence-level (length-normalized) importance ratio, clip 3e-4 / 4e-4",
        paper="Zheng et al. 2025, Group Sequence Policy Optimization, arXiv:2507.18071",
        level="sequence",
        epsilon=3e-4,
        epsilon_high=4e-4,
    ),
    "cispo": _preset(CISPO, "CISPO: clipped, detached importance weight times A log pi, token mean"),
}


def check_rl_loss(loss, name: str):
    """Fail before any engine or rollout exists when ``loss`` does not meet the rl_loss contract."""
    from lmforge.core import ConfigError

    problems = []
    if not callable(loss):
        problems.append("it is not callable")
    if not isinstance(getattr(loss, "uses_old_log_probs", None), bool):
        problems.append("it has no boolean attribute uses_old_log_probs")
    advantage = getattr(loss, "advantage", "group_normalized")
    if advantage not in ("group_normalized", "group_centered", "raw"):
        problems.append(f"advantage {advantage!r} is not group_normalized, group_centered or raw")
    if getattr(loss, "reduction", "sequence_mean") not in REDUCTIONS:
        problems.append(f"reduction {loss.reduction!r} is not one of {', '.join(REDUCTIONS)}")
    if problems:
        raise ConfigError(
            f"rl_loss {name!r} built {loss!r}, which breaks the rl_loss contract: {'; '.join(problems)} "
            "(a loss is built as get_part('rl_loss', name)(**options) and called as "
            "loss(log_probs, advantages=..., old_log_probs=..., response_mask=...))"
        )
    return loss
