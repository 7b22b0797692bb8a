"""Several reward parts with weights: each scored and logged, summed into one reward per response.

A reward part returns ``{"reward": float | None, ...components}``. ``None`` (or NaN) means the part
cannot score that response (for example a code reward on a math answer): as in TRL, the weighted sum
skips it (``nansum``), and a response no part can score has a NaN reward, is left out of its group's
baseline and gets advantage 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lmforge.core import ConfigError, PartRef, bind_part


@dataclass(frozen=True)
class WeightedReward:
    name: str
    fn: Callable[[str, str], dict]
    weight: float = 1.0


def build_rewards(refs: list) -> list[WeightedReward]:
    """From config entries: a part name, or ``{name = "...", weight = 0.5, <options of the part>}``."""
    if not refs:
        raise ConfigError("rewards: at least one reward part is needed")
    out = []
    for i, entry in enumerate(refs):
        key = f"rewards[{i}]"
        ref = PartRef.parse(entry, key)
        options = dict(ref.options)
        weight = options.pop("weight", 1.0)  # the mix's, not the part's
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ConfigError(f"{key}: weight must be a number, got {weight!r}")
        fn = bind_part("reward", PartRef(ref.name, options), key)
        out.append(WeightedReward(ref.name, fn, float(weight)))
    if len({r.name for r in out}) != len(out):
        raise ConfigError("rewards: a reward part is listed twice")
    return out


def _value(scored, name: str) -> float:
    if not isinstance(scored, dict) or "reward" not in scored:
        raise TypeError(f"reward part {name!r} must return a dict with a 'reward' key, got {scored!r}")
    value = scored["reward"]
    return math.nan if value is None else float(value)


def score_rollouts(
    rewards: list[WeightedReward], responses: list[str], truths: list[str]
) -> tuple[torch.Tensor, dict[str, float]]:
    """(weighted reward per response, NaN where no part scored it; metrics).

    Metrics: ``reward_mean/std/min/max`` of the weighted reward over scorable responses,
    ``reward_<part>`` the mean of each part over the responses it scored, ``reward_<component>`` the
    mean of every component a part reports (``format``, ``answer``, ...), ``reward_unscorable`` the
    fraction of responses no part could score.
    """
    if len(responses) != len(truths):
        raise ValueError("one ground truth per response is needed")
    per_part = torch.full((len(responses), len(rewards)), math.nan)
    components: dict[str, list[float]] = {}
    for i, (response, truth) in enumerate(zip(responses, truths)):
        for k, r in enumerate(rewards):
            scored = r.fn(response, truth)
            per_part[i, k] = _value(scored, r.name)
            for key, v in scored.items():
                if key != "reward" and v is not None:
                    components.setdefault(f"reward_{key.removesuffix('_reward')}", []).append(float(v))
    weights = torch.tensor([r.weight for r in rewards])
    total = (per_part * weights).nansum(dim=1)
    unscorable = torch.isnan(per_part).all(dim=1)
    total[unscorable] = math.nan
    valid = total[~unscorable]
    metrics: dict[str, float] = {
        "reward_mean": valid.mean().item() if valid.numel() else math.nan,
        "reward_std": valid.std().item() if valid.numel() > 1 else 0.0,
        "reward_max": valid.max().item() if valid.numel() else math.nan,
        "reward_min": valid.min().item() if valid.numel() else math.nan,
        "reward_unscorable": unscorable.float().mean().item(),
    }
    if len(rewards) > 1:
        for k, r in enumerate(rewards):
            metrics[f"reward_{r.name}"] = torch.nanmean(per_part[:, k]).item()
    for key, values in components.items():
        metrics.setdefault(key, sum(values) / len(values))
    return total, metrics
