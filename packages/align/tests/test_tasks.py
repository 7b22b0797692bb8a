"""Tasks: splits are disjoint and every worked response earns the full reward."""

import pytest

from lmforge.align.preferences import preference_pairs
from lmforge.align.rewards import r1_math_reward
from lmforge.align.tasks.arithmetic import CharTokenizer
from lmforge.align.tasks.base import task_problems
from lmforge.core import PartRef


def test_arithmetic_splits_format_and_tokenizer(tmp_path):
    train = task_problems(PartRef("arithmetic", {"max_operand": 29}), "train", 500, seed=0)
    held = task_problems({"name": "arithmetic", "max_operand": 29}, "eval", 100, seed=1)
    assert not {p.prompt for p in train} & {p.prompt for p in held}
    for p in train[:50]:
        assert r1_math_reward(p.sft_response, p.answer)["reward"] == 1.0
        a, b = p.prompt.removesuffix("=?<think>").split("+")
        assert int(p.answer) == int(a) + int(b)
    tok = CharTokenizer()
    text = train[0].prompt + train[0].sft_response + "<|endoftext|>"
    assert tok.decode(tok.encode(text)) == text and tok.encode("<|endoftext|>") == [tok.eot_id]
    tok.save(tmp_path)
    assert CharTokenizer.load(tmp_path).encode("12+3") == tok.encode("12+3")


def test_gsm8k_problems_from_reasoning_gym():
    train = task_problems("gsm8k", "train", 5, seed=0)
    held = task_problems("gsm8k", "eval", 5, seed=0)
    assert len(train) == 5 and not {p.prompt for p in train} & {p.prompt for p in held}
    for p in train:
        assert p.prompt.endswith("<think>") and "User:" in p.prompt
        assert r1_math_reward(p.sft_response, p.answer)["reward"] == 1.0


def test_preference_pairs_differ_only_in_the_answer():
    problems = task_problems(PartRef("arithmetic", {"max_operand": 29}), "train", 20, seed=0)
    for pair, p in zip(preference_pairs(problems, seed=0), problems):
        assert pair["chosen"] == p.sft_response and pair["rejected"] != pair["chosen"]
        assert r1_math_reward(pair["rejected"], p.answer) == {
            "reward": 0.0,
            "format_reward": 1.0,
            "answer_reward": 0.0,
        }


def test_tasks_are_registry_parts_and_options_are_checked():
    from lmforge.align.tasks.base import task_fn
    from lmforge.core import ConfigError, part_names

    assert {"arithmetic", "gsm8k"} <= set(part_names("task")) and callable(task_fn("arithmetic"))
    with pytest.raises(ConfigError, match="known: arithmetic, gsm8k"):
        task_problems("sudoku", "train", 5, seed=0)
    with pytest.raises(ConfigError, match="^task: task 'arithmetic' does not take option.s. max_operandd"):
        task_problems(PartRef("arithmetic", {"max_operandd": 9}), "train", 5, seed=0)
    with pytest.raises(ConfigError, match="size of task 'arithmetic' .*set by lmforge"):
        task_problems(PartRef("arithmetic", {"size": 9}), "train", 5, seed=0)
