"""A task is a list of problems: a prompt, the ground-truth answer, and a worked response for SFT."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    prompt: str
    answer: str
    sft_response: str  # a response in the target format, used for SFT and expert-iteration seeds


def make_problems(name: str, split: str, size: int, seed: int, **options) -> list[Problem]:
    """``split`` is "train" or "eval"; the two never share a problem."""
    if name == "arithmetic":
        from .arithmetic import arithmetic_problems

        return arithmetic_problems(split, size, seed, **options)
    if name == "gsm8k":
        from .gsm8k import gsm8k_problems

        return gsm8k_problems(split, size, seed, **options)
    from lmforge.core import ConfigError

    raise ConfigError(f"unknown task {name!r}; known: arithmetic, gsm8k")
