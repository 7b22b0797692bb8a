"""The pretrain stage: the shape comes from the scaling law, the run spends exactly the budget, a
``--minutes`` budget is measured on this machine, and the weights load as an align policy."""

import inspect

import pytest

from lmforge.recipe.budget import CHINCHILLA, load_scaling_law, shape_for_budget
from lmforge.recipe.stage_pretrain import PretrainStageConfig, run


@pytest.fixture(scope="module")
def tokenized(tmp_path_factory):
    """Kept text (the docstrings of a few standard-library modules) through the tokenizer stage."""
    import argparse
    import json
    import textwrap

    from lmforge.data import Document, write_jsonl
    from lmforge.recipe.stage_tokenizer import TokenizerStageConfig
    from lmforge.recipe.stage_tokenizer import run as tokenizer_run

    d = tmp_path_factory.mktemp("tok")
    docs = [inspect.getdoc(obj) or "" for m in (argparse, inspect, json, textwrap) for obj in vars(m).values()
            if callable(obj)]
    write_jsonl([Document(text="\n\n".join(docs), id="0")], d / "kept.jsonl")
    return tokenizer_run(TokenizerStageConfig(vocab_size=300), [str(d / "kept.jsonl")], d, log=lambda m: None)


def test_chinchilla_law_gives_the_published_allocation():
    law, desc = load_scaling_law("chinchilla")
    assert "Hoffmann" in desc
    c = 1e21
    a = CHINCHILLA["beta"] / (CHINCHILLA["alpha"] + CHINCHILLA["beta"])
    g = (CHINCHILLA["alpha"] * CHINCHILLA["A"] / (CHINCHILLA["beta"] * CHINCHILLA["B"])) ** (
        1 / (CHINCHILLA["alpha"] + CHINCHILLA["beta"]))
    assert law.optimal(c).params.value == pytest.approx(g * (c / 6) ** a, rel=1e-9)
    conf = shape_for_budget(law, 1e13, vocab_size=2048, context_length=128, aspect=64.0)
    assert conf.params == pytest.approx(conf.target_params, rel=0.03)


def test_budget_run_spends_exactly_the_budget_and_loads_as_a_policy(tokenized, tmp_path):
    from lmforge.align.policy import load_saved_policy

    cfg = PretrainStageConfig(budget_flops=3e9, context_length=32, batch_size=4, evals=1, eval_batches=2)
    res = run(cfg, tokenized, tmp_path, seed=0, device="cpu", log=lambda m: None)
    figures = res["figures"]
    per_step_fraction = 1 / int(figures["steps x batch"].split()[0])
    assert 1.0 <= figures["spent / budget"] <= 1.0 + per_step_fraction + 1e-9
    policy = load_saved_policy(res["outputs"]["policy_dir"])
    prompt = policy.tokenizer.encode("3+4=?<think>")
    assert policy.model(__import__("torch").tensor([prompt])).shape[-1] == policy.tokenizer.vocab_size


def test_minutes_budget_is_measured_throughput_times_minutes(tokenized, tmp_path):
    cfg = PretrainStageConfig(minutes=0.02, context_length=32, batch_size=4, evals=1, eval_batches=2,
                              calibration_steps=6)
    res = run(cfg, tokenized, tmp_path, seed=0, device="cpu", log=lambda m: None)
    assert res["inputs"]["budget"].startswith("0.02 min x measured")
    # both numbers are printed to 3-4 significant digits
    rate = float(res["inputs"]["budget"].split("measured ")[1].split()[0])
    assert float(res["figures"]["budget FLOPs"]) == pytest.approx(rate * 0.02 * 60, rel=1e-2)
    assert len(list(tmp_path.glob("calibrate-*"))) == 2
