"""The model's parts as ``PartRef``s: a name or a table with options, set by TOML or ``--set``, passed to
the part when the model is built, saved and read back (older saved configs with plain names too)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

from lmforge.core import ConfigError, PartRef, config_to_toml, get_host, hookimpl, load_config
from lmforge.model import ModelConfig, TransformerLM
from lmforge.model.accounting import count_parameters, flops_per_token
from lmforge.model.attention import scaled_dot_product_attention, torch_sdpa
from lmforge.model.layers import RMSNorm, SiLUMLP, SwiGLU
from lmforge.model.rope import RotaryEmbedding
from lmforge.model.train_config import TrainConfig

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import tiny_config  # noqa: E402

BUILT: list[tuple[str, object]] = []  # (kind, option) for every part the model built or called


def scaled_attention(q, k, v, mask=None, is_causal=False, q_scale=1.0):
    BUILT.append(("attention", q_scale))
    return scaled_dot_product_attention(q * q_scale, k, v, mask=mask, is_causal=is_causal)


class TaggedNorm(RMSNorm):
    def __init__(self, d_model, eps=1e-5, device=None, dtype=None, tag="none"):
        BUILT.append(("norm", tag))
        super().__init__(d_model, eps, device=device, dtype=dtype)


class TaggedFFN(SwiGLU):
    def __init__(self, d_model, d_ff=None, device=None, dtype=None, tag="none"):
        BUILT.append(("ffn", tag))
        super().__init__(d_model, d_ff, device=device, dtype=dtype)


class TaggedRope(RotaryEmbedding):
    def __init__(self, theta, d_k, max_seq_len, device=None, tag="none"):
        BUILT.append(("position", tag))
        super().__init__(theta, d_k, max_seq_len, device=device)


class WideMLP(SiLUMLP):
    """An FFN whose width is an option: d_ff = mult x d_model."""

    def __init__(self, d_model, d_ff=None, device=None, dtype=None, mult=4):
        super().__init__(d_model, mult * d_model, device=device, dtype=dtype)


class _TestParts:
    @hookimpl
    def register_attention(self, register):
        register("scaled_test", scaled_attention)

    @hookimpl
    def register_norms(self, register):
        register("tagged_test", TaggedNorm)

    @hookimpl
    def register_ffns(self, register):
        register("tagged_test", TaggedFFN)
        register("wide_test", WideMLP)

    @hookimpl
    def register_positions(self, register):
        register("tagged_test", TaggedRope)


@pytest.fixture
def test_parts():
    host = get_host()
    assert host.add_plugin(_TestParts(), "model_parts_test", "parts-test-pkg", "1.0")
    BUILT.clear()
    yield
    host.remove_plugin("model_parts_test")


SHAPE = dict(vocab_size=61, context_length=16, d_model=32, num_layers=2, num_heads=4)
TABLES = """
[model]
vocab_size = 61
context_length = 16
d_model = 32
num_layers = 2
num_heads = 4
attention = {name = "scaled_test", q_scale = 0.5}
norm = {name = "tagged_test", tag = "n"}
ffn = {name = "tagged_test", tag = "f"}
position = {name = "tagged_test", tag = "p"}
"""


def test_set_picks_a_part_by_name():
    cfg = load_config(TrainConfig, overrides=["model.attention=torch_sdpa"])
    assert cfg.model.attention == PartRef("torch_sdpa")
    model = TransformerLM.from_config(dataclasses.replace(cfg.model, **SHAPE))
    assert model.layers[0].attn.attention is torch_sdpa


def test_toml_tables_reach_every_part(test_parts, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(TABLES)
    cfg = load_config(TrainConfig, path)
    assert cfg.model.norm == PartRef("tagged_test", {"tag": "n"})
    model = TransformerLM.from_config(cfg.model)
    # position once (shared by the blocks), two norms and an FFN per block, the final norm
    assert BUILT == [("position", "p"), *[("norm", "n"), ("norm", "n"), ("ffn", "f")] * 2, ("norm", "n")]
    BUILT.clear()
    x = torch.randint(0, 61, (2, 16))
    with torch.no_grad():
        out = model(x)
    assert BUILT == [("attention", 0.5)] * 2
    # the option changes the computation: the same weights with q_scale = 1 give other logits
    plain = TransformerLM.from_config(dataclasses.replace(cfg.model, attention=PartRef("scaled_test")))
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(plain(x), out)


def test_set_changes_one_option_and_keeps_the_rest(test_parts, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(TABLES)
    cfg = load_config(TrainConfig, path, ["model.norm.tag=m", "model.attention=reference"])
    assert cfg.model.norm == PartRef("tagged_test", {"tag": "m"})
    assert cfg.model.attention == PartRef("reference", {"q_scale": 0.5})  # the name only, as in core
    with pytest.raises(ConfigError, match=r"model\.attention: attention 'reference' does not take.*q_scale"):
        cfg.model.validate()
    cfg = load_config(TrainConfig, overrides=["model.norm.eps=1e-3"])  # an option of the default part
    assert cfg.model.norm == PartRef("rmsnorm", {"eps": 1e-3})


def test_saved_config_round_trips(test_parts, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(TABLES)
    cfg = load_config(TrainConfig, path)
    saved = tmp_path / "saved.toml"
    saved.write_text(config_to_toml(cfg))
    assert load_config(TrainConfig, saved) == cfg
    d = cfg.model.to_dict()
    assert d["norm"] == {"name": "tagged_test", "tag": "n"} and d["d_ff"] is None
    assert ModelConfig(**json.loads(json.dumps(d))) == cfg.model


def test_older_plain_names_still_load_and_nested_options_are_refused():
    old = {**SHAPE, "num_kv_heads": None, "d_ff": None, "rope_theta": 10000.0, "attention": "torch_sdpa",
           "norm": "layernorm", "ffn": "swiglu", "position": "rope", "norm_placement": "pre",
           "tie_embeddings": False, "checkpoint_activations": 0}  # a trainer_state.json before PartRef
    cfg = ModelConfig(**old)
    assert cfg.norm == PartRef("layernorm") and cfg.to_dict() == old  # written back the same way
    with_options = ModelConfig(**SHAPE, norm=PartRef("rmsnorm", {"eps": 1e-4}))
    assert ModelConfig(**with_options.to_dict()) == with_options
    with pytest.raises(ConfigError, match="options go in the part's table itself"):
        ModelConfig(**dataclasses.asdict(with_options))  # one spelling of a part, not two


def test_bad_options_are_one_config_error_before_anything_is_built():
    with pytest.raises(ConfigError, match=r"model\.norm: norm 'rmsnorm' does not take option\(s\) epsilon"):
        ModelConfig(**SHAPE, norm={"name": "rmsnorm", "epsilon": 1e-6}).validate()
    with pytest.raises(ConfigError, match=r"model\.attention: option\(s\) is_causal .* set by lmforge"):
        ModelConfig(**SHAPE, attention={"name": "reference", "is_causal": False}).validate()
    with pytest.raises(ConfigError, match=r"model\.ffn: option\(s\) device .* set by lmforge"):
        TransformerLM.from_config(ModelConfig(**SHAPE, ffn={"name": "swiglu", "device": "cpu"}))
    with pytest.raises(ConfigError, match=r"model\.norm: a part table needs a name"):
        ModelConfig(**SHAPE, norm={"eps": 1e-6})


def test_accounting_measures_a_part_with_its_options(test_parts):
    narrow = ModelConfig(**SHAPE, ffn=PartRef("wide_test", {"mult": 2}))
    wide = ModelConfig(**SHAPE, ffn=PartRef("wide_test", {"mult": 6}))
    for cfg in (narrow, wide):
        model = TransformerLM.from_config(cfg)
        assert count_parameters(cfg)["total"] == sum(p.numel() for p in model.parameters())
    d, L = SHAPE["d_model"], SHAPE["num_layers"]
    assert count_parameters(wide)["ffn"] - count_parameters(narrow)["ffn"] == L * 2 * (4 * d) * d
    assert flops_per_token(wide)["ffn"] == 3 * flops_per_token(narrow)["ffn"]


def test_trainer_saves_and_resumes_a_part_with_options(tmp_path):
    from lmforge.model import train
    from lmforge.model.generation import load_run_model
    from lmforge.model.run_checkpoint import latest_checkpoint, read_trainer_state

    sets = ("model.norm.eps=1e-3", "train.max_steps=4", "train.checkpoint_every=2", "train.eval_every=4")
    run = train(tiny_config(tmp_path, *sets))
    saved = load_config(TrainConfig, run / "config.toml")
    assert saved.model.norm == PartRef("rmsnorm", {"eps": 1e-3})
    assert read_trainer_state(latest_checkpoint(run))["model"]["norm"] == {"name": "rmsnorm", "eps": 1e-3}
    model, cfg = load_run_model(run)
    assert cfg.norm == saved.model.norm and model.ln_final.eps == 1e-3
    more = train(tiny_config(tmp_path, *sets[:1], "train.max_steps=6", "train.checkpoint_every=2",
                             "train.eval_every=4"), resume=run)
    assert read_trainer_state(latest_checkpoint(more))["step"] == 6
