"""A task is a list of problems: a prompt, the ground-truth answer, and a worked response for SFT.

Tasks are parts of kind ``task`` (``fn(split, size, seed, **options) -> list[Problem]``), registered
by this package's plugin (``arithmetic``, ``gsm8k``); a plugin adds its own the same way. A config
picks one like any part, its options beside its name (``task = {name = "arithmetic", max_operand =
29}``); the split, size and seed are lmforge's to give.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmforge.core import ConfigError, PartRef, UnknownPartError, build_part, check_part_options, get_part


@dataclass(frozen=True)
class Problem:
    prompt: str
    answer: str
    sft_response: str  # a response in the target format, used for SFT and expert-iteration seeds


def task_fn(name: str):
    try:
        return get_part("task", name)
    except UnknownPartError as e:
        raise ConfigError(str(e)) from e


def check_task(task: PartRef | str | dict, key: str = "task") -> PartRef:
    """The task's name and options checked (a ConfigError naming ``key``), before anything runs."""
    ref = PartRef.parse(task, key)
    task_fn(ref.name)
    check_part_options("task", ref, key)
    return ref


def task_problems(task: PartRef | str | dict, split: str, size: int, seed: int,
                  key: str = "task") -> list[Problem]:
    """``size`` problems of ``split`` ("train" or "eval"; the two never share a problem) from the task
    part ``task`` built with its options."""
    return build_part("task", check_task(task, key), split, size, seed)
