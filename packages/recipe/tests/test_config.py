"""Recipe config: size presets, file and --set layering, budget flags, stage fingerprints."""

import pytest

from lmforge.align.tasks.base import task_problems
from lmforge.core import ConfigError
from lmforge.recipe.config import deep_merge, load_recipe
from lmforge.recipe.runner import STAGES, fingerprint


def test_preset_then_file_then_set(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('dir = "x"\n[tokenizer]\nvocab_size = 500\n[sft]\nsteps = 7\n[sft.optim]\nlr = 0.01\n')
    cfg = load_recipe("tiny", recipe, ("sft.steps=9",))
    assert cfg.dir == "x"
    assert cfg.tokenizer.vocab_size == 500  # the file over the preset (tiny says 320)
    assert cfg.sft.steps == 9  # --set over the file
    assert cfg.sft.optim.lr == 0.01
    assert cfg.sft.batch_size == 16  # the preset's value survives a file that sets a sibling key
    assert cfg.pretrain.context_length == 64


def test_every_size_loads_with_the_default_pipeline():
    for size in ("tiny", "laptop", "small", "gpu"):
        cfg = load_recipe(size)
        assert cfg.dir == f"runs/recipe-{size}"
        assert [d.name for d in cfg.data.dedup] == ["exact_line", "minhash"]
        assert "gopher" in [f.name for f in cfg.data.filters]
        # the preset's task options are ones the task part takes
        problems = task_problems(cfg.task, "eval", 2, 0)
        assert len(problems) == 2 and all(p.prompt and p.answer for p in problems)
    assert "classifier" in [f.name for f in load_recipe("laptop").data.filters]


def test_the_task_is_a_part_shared_by_sft_and_grpo(tmp_path):
    from lmforge.core import PartRef
    from lmforge.recipe.runner import shared_task

    cfg = load_recipe("tiny", overrides=("task.max_operand=5", "eval_size=3"))
    assert cfg.task == PartRef("arithmetic", {"max_operand": 5})
    assert (cfg.train_size, cfg.eval_size) == (80, 3)
    problems = task_problems(cfg.task, "train", 40, 0)
    assert max(int(n) for p in problems for n in p.prompt.split("=")[0].split("+")) == 5
    assert shared_task(cfg) == {"task": cfg.task, "train_size": 80, "eval_size": 3}
    # a file naming another task replaces the preset's table whole (arithmetic's options are not gsm8k's)
    recipe = tmp_path / "r.toml"
    recipe.write_text('[task]\nname = "gsm8k"\n')
    assert load_recipe("tiny", recipe).task == PartRef("gsm8k")
    recipe.write_text('[task]\nops = "+-"\n')  # the same task: options merge
    assert load_recipe("tiny", recipe).task == PartRef("arithmetic", {"max_operand": 9, "ops": "+-"})
    # the stages' own task fields would be overwritten by the recipe's: refused, not dropped
    with pytest.raises(ConfigError, match="^sft.task: set it at the top of the recipe"):
        load_recipe("tiny", overrides=("sft.task=gsm8k",))
    with pytest.raises(ConfigError, match="^grpo.train_size"):
        load_recipe("tiny", overrides=("grpo.train_size=5",))


def test_budget_and_minutes():
    assert load_recipe("tiny", budget=3e9).pretrain.budget_flops == 3e9
    cfg = load_recipe("tiny", minutes=2.5)
    assert cfg.pretrain.budget_flops is None and cfg.pretrain.minutes == 2.5
    with pytest.raises(ConfigError, match="not both"):
        load_recipe("tiny", budget=1e9, minutes=1)
    with pytest.raises(ConfigError, match="unknown size"):
        load_recipe("huge")


def test_deep_merge_replaces_lists_and_merges_tables():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 0}
    assert deep_merge(base, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}, "d": 0}
    assert base["a"]["c"] == [1, 2]


def test_fingerprint_changes_with_the_stage_and_everything_before_it():
    a, b = load_recipe("tiny"), load_recipe("tiny", overrides=("tokenizer.vocab_size=400",))

    def chain(cfg):
        out, prev = {}, ""
        for stage in STAGES:
            prev = out[stage] = fingerprint(cfg, stage, prev)
        return out

    fa, fb = chain(a), chain(b)
    assert fa["web"] == fb["web"] and fa["data"] == fb["data"]
    assert all(fa[s] != fb[s] for s in STAGES[STAGES.index("tokenizer"):])
    quiet = load_recipe("tiny", overrides=("sft.run.progress=true",))
    assert chain(quiet) == fa  # a progress bar never invalidates a finished stage
