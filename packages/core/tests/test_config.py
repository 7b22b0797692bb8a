from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from lmforge.core import ConfigError, config_to_toml, load_config, save_config


@dataclass
class Model:
    d_model: int = 64
    attention: str = "reference"
    dropout: float = 0.0
    tie: bool = False
    placement: Literal["pre", "post"] = "pre"
    num_kv_heads: int | None = None


@dataclass
class Train:
    lr: float = 1e-3
    steps: int = 10
    tags: list[str] = field(default_factory=list)
    out: Path = Path("runs")


@dataclass
class Config:
    model: Model = field(default_factory=Model)
    train: Train = field(default_factory=Train)
    seed: int = 0


def test_toml_and_overrides_are_parsed_by_field_type(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('seed = 3\n[model]\nd_model = 128\n[train]\nlr = 0.1\n')
    cfg = load_config(Config, path, [
        "train.lr=3e-4", "model.attention=torch_sdpa", "model.tie=true", "train.steps=1e3",
        'train.tags=["a", "b"]', "model.placement=post", "model.num_kv_heads=2", "train.out=/tmp/x",
    ])
    assert cfg.seed == 3 and cfg.model.d_model == 128
    assert cfg.train.lr == 3e-4 and isinstance(cfg.train.lr, float)
    assert cfg.model.attention == "torch_sdpa" and cfg.model.tie is True
    assert cfg.train.steps == 1000 and cfg.train.tags == ["a", "b"] and cfg.train.out == Path("/tmp/x")
    assert cfg.model.placement == "post" and cfg.model.num_kv_heads == 2


def test_int_field_accepts_integer_valued_float_only():
    assert load_config(Config, overrides=["seed=2.0"]).seed == 2
    with pytest.raises(ConfigError, match="seed: expected an integer"):
        load_config(Config, overrides=["seed=2.5"])


@pytest.mark.parametrize("override, message", [
    ("model.d_modle=3", "unknown config key 'model.d_modle'"),
    ("model.d_model=abc", "model.d_model: expected an integer"),
    ("model.tie=maybe", "model.tie: expected true or false"),
    ("model.placement=middle", "model.placement: expected one of 'pre', 'post'"),
    ("train", "must look like key=value"),
    ("seed.x=1", "is not a table"),
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Config, overrides=[override])


def test_unknown_key_in_file_is_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nlearning_rate = 1\n")
    with pytest.raises(ConfigError, match="unknown config key 'train.learning_rate'.*lr, steps"):
        load_config(Config, path)


def test_wrong_type_in_file_is_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\ndropout = "high"\n')
    with pytest.raises(ConfigError, match="model.dropout: expected a number"):
        load_config(Config, path)


def test_missing_and_invalid_files_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Config, tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(Config, bad)


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(Config, overrides=["model.d_model=32", "train.tags=['x']", "model.num_kv_heads=4"])
    path = save_config(cfg, tmp_path)
    assert load_config(Config, path) == cfg
    assert "d_model = 32" in config_to_toml(cfg)
