"""Every selectable part of an align config is a core PartRef: a name, or a table with its options beside
the name. Options reach the part (TOML and ``--set``), a config without options saves a plain name, and a
misspelt option is one ConfigError naming its key before a run folder is written."""

import tomllib

import pytest
import torch

from lmforge.align.config import DPOConfig, EIConfig, GRPOConfig, SFTConfig
from lmforge.align.loops.dpo import run_dpo
from lmforge.align.loops.ei import run_ei
from lmforge.align.loops.grpo import run_grpo
from lmforge.align.loops.sft import run_sft
from lmforge.align.tasks.base import Problem, task_problems
from lmforge.core import (
    ConfigError,
    JsonlLogger,
    PartRef,
    config_to_toml,
    get_host,
    hookimpl,
    load_config,
    read_metrics,
)

TINY = [
    "policy.model.d_model=16",
    "policy.model.num_layers=1",
    "policy.model.num_heads=2",
    "train_size=32",
    "eval_size=4",
    "task.max_operand=9",
    "run.progress=false",
    "steps=1",
]


def counting(split: str, size: int, seed: int, start: int = 0) -> list[Problem]:
    """A third-party task: ``start + i`` for the ith problem, so the option is visible in the prompts."""
    offset = 0 if split == "train" else 1000
    return [Problem(f"{start + offset + i}=?", str(start + offset + i), "") for i in range(size)]


def fixed_reward(response: str, ground_truth: str, value: float = 0.0) -> dict:
    return {"reward": value}


class TaggedLogger(JsonlLogger):
    """A metrics logger with an option: every record carries ``tag``."""

    def __init__(self, run_dir, start_time_s: float = 0.0, tag: str = "") -> None:
        super().__init__(run_dir, start_time_s)
        self.tag = tag

    def log(self, step: int, **metrics):
        return super().log(step, tag=self.tag, **metrics)


class TestParts:
    @hookimpl
    def register_tasks(self, register):
        register("counting", counting)

    @hookimpl
    def register_rewards(self, register):
        register("fixed", fixed_reward)

    @hookimpl
    def register_metrics_loggers(self, register):
        register("tagged", TaggedLogger)


@pytest.fixture
def test_parts():
    host = get_host()
    assert host.add_plugin(TestParts(), "align_test_parts", "align-test-parts")
    torch.set_num_threads(1)
    yield
    host.remove_plugin("align_test_parts")


def test_task_options_from_toml_and_set_reach_the_part(tmp_path, test_parts):
    toml = tmp_path / "grpo.toml"
    toml.write_text('train_size = 7\n[task]\nname = "counting"\nstart = 40\n')
    cfg = load_config(GRPOConfig, toml)
    assert cfg.task == PartRef("counting", {"start": 40}) and cfg.train_size == 7
    assert [p.answer for p in task_problems(cfg.task, "train", cfg.train_size, 0)][:2] == ["40", "41"]
    cfg = load_config(GRPOConfig, toml, ["task.start=5"])  # --set one option over the file's table
    assert task_problems(cfg.task, "eval", 1, 0)[0].answer == "1005"
    # a real task's option: arithmetic's operands stay under max_operand
    cfg = load_config(SFTConfig, overrides=["task.max_operand=3"])
    assert cfg.task == PartRef("arithmetic", {"max_operand": 3})
    problems = task_problems(cfg.task, "train", 50, 0)
    assert max(int(n) for p in problems for n in p.prompt.split("=")[0].split("+")) == 3


def test_a_part_without_options_saves_as_a_name_and_one_with_options_as_a_table():
    saved = tomllib.loads(config_to_toml(load_config(GRPOConfig, overrides=["task.max_operand=9"])))
    assert saved["task"] == {"name": "arithmetic", "max_operand": 9}
    assert saved["eval_reward"] == "r1_math" and saved["loss"] == "grpo_clip"
    assert saved["rewards"] == ["r1_math"]
    assert saved["run"]["metrics_logger"] == "jsonl" and saved["optim"]["schedule"] == "constant"
    assert load_config(GRPOConfig, data=saved).task == PartRef("arithmetic", {"max_operand": 9})
    with pytest.raises(ConfigError, match="not under `options`"):  # the old nested spelling
        load_config(SFTConfig, data={"task": {"name": "arithmetic", "options": {"max_operand": 9}}})
    with pytest.raises(ConfigError, match="not under `options`"):
        load_config(SFTConfig, overrides=["task.options={max_operand=9}"])
    # the sizes are lmforge's, not the task's: under task they are an option arithmetic does not take
    with pytest.raises(ConfigError, match="^task: task 'arithmetic' does not take option.s. train_size"):
        task_problems(load_config(SFTConfig, overrides=["task.train_size=5"]).task, "train", 5, 0)
    # code may give a plain name: the config holds a PartRef either way
    assert SFTConfig(task="gsm8k", reward="math").reward == PartRef("math")


def test_reward_and_logger_options_reach_their_parts_in_a_run(tmp_path, test_parts):
    run = run_sft(load_config(SFTConfig, overrides=[
        *TINY, f"run.out={tmp_path}", "batch_size=2", "reward=fixed", "reward.value=0.25",
        "run.metrics_logger=tagged", "run.metrics_logger.tag=hello"]))
    records = read_metrics(run)
    assert records and all(r["tag"] == "hello" for r in records)
    assert [r["eval_reward"] for r in records if "eval_reward" in r] == [0.25, 0.25]
    assert tomllib.loads((run / "config.toml").read_text())["reward"] == {"name": "fixed", "value": 0.25}


@pytest.mark.parametrize("cls, run, key", [
    (SFTConfig, run_sft, "task.max_operandd"),
    (SFTConfig, run_sft, "reward.valuee"),
    (SFTConfig, run_sft, "run.metrics_logger.tagg"),
    (SFTConfig, run_sft, "optim.optimizer.momentumm"),
    (SFTConfig, run_sft, "optim.schedule.periodd"),
    (GRPOConfig, run_grpo, "eval_reward.valuee"),
    (GRPOConfig, run_grpo, "loss.epsilonn"),
    (GRPOConfig, run_grpo, "rollout.engine.batchh"),
    (EIConfig, run_ei, "reward.valuee"),
    (DPOConfig, run_dpo, "loss.label_smoothingg"),
])
def test_a_misspelt_option_is_a_config_error_naming_its_key_before_anything_is_written(
        tmp_path, test_parts, cls, run, key):
    part_key = key.rsplit(".", 1)[0]
    overrides = [*TINY[:-1], f"run.out={tmp_path / 'out'}", "reward=fixed", "eval_reward=fixed",
                 "run.metrics_logger=tagged", f"{key}=1"]
    cfg = load_config(cls, overrides=[o for o in overrides if o.split(".")[0].split("=")[0]
                                      in cls.__dataclass_fields__])
    with pytest.raises(ConfigError, match=f"^{part_key}: .*{key.rsplit('.', 1)[1]}"):
        run(cfg)
    assert not (tmp_path / "out").exists()


def test_the_mix_weight_is_not_a_reward_option(test_parts):
    from lmforge.align.reward_mix import build_rewards

    mix = build_rewards([{"name": "fixed", "value": 2.0, "weight": 0.5}, "r1_format"])
    assert [(r.name, r.weight) for r in mix] == [("fixed", 0.5), ("r1_format", 1.0)]
    assert mix[0].fn("x", "y") == {"reward": 2.0}
    with pytest.raises(ConfigError, match=r"^rewards\[1\]: reward 'fixed' does not take option.s. valu"):
        build_rewards(["r1_format", {"name": "fixed", "valu": 1.0}])
