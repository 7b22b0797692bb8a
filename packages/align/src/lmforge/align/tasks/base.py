"""A task is a list of problems: a prompt, the ground-truth answer, and a worked response for SFT.

Tasks are parts of kind ``task`` (``fn(split, size, seed, **options) -> list[Problem]``), registered
by this package's plugin (``arithmetic``, ``gsm8k``); a plugin adds its own the same way.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from lmforge.core import ConfigError, UnknownPartError, get_part


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


def make_problems(name: str, split: str, size: int, seed: int, **options) -> list[Problem]:
    """``split`` is "train" or "eval"; the two never share a problem."""
    fn = task_fn(name)
    try:
        inspect.signature(fn).bind(split, size, seed, **options)
    except TypeError as e:
        raise ConfigError(f"task {name!r} does not take options {sorted(options)}: {e}") from e
    return fn(split, size, seed, **options)


def task_problems(task_cfg, split: str, seed: int, size: int | None = None) -> list[Problem]:
    """Problems of the configured task (``task.name`` with ``task.options``)."""
    if size is None:
        size = task_cfg.train_size if split == "train" else task_cfg.eval_size
    return make_problems(task_cfg.name, split, size, seed, **task_cfg.options)
