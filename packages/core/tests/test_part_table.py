"""PartTable: a part whose common options are typed fields; every other key of its table is an option of
the part, set by --set and written back flat beside the name."""

import dataclasses
import textwrap
from dataclasses import dataclass, field

import pytest

from lmforge.core import ConfigError, PartRef, PartTable
from lmforge.core.config import config_to_dict, config_to_toml, load_config


@dataclass
class Optim(PartTable):
    name: str = "adamw"
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    decay_steps: int | None = None


@dataclass
class Config:
    optimizer: Optim = field(default_factory=Optim)
    seed: int = 0


def test_typed_fields_and_options_from_toml_round_trip(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent("""
        [optimizer]
        name = "my_sgd"
        lr = 0.05
        momentum = 0.9
        nesterov = true
        groups = {embeddings = 0.1}
    """))
    cfg = load_config(Config, path)
    o = cfg.optimizer
    assert (o.name, o.lr, o.betas, o.decay_steps) == ("my_sgd", 0.05, [0.9, 0.95], None)
    assert o.options == {"momentum": 0.9, "nesterov": True, "groups": {"embeddings": 0.1}}
    assert o.part_ref == PartRef("my_sgd", {"momentum": 0.9, "nesterov": True, "groups": {"embeddings": 0.1}})
    written = config_to_dict(cfg)["optimizer"]  # flat: the options beside the name, no `options` key
    assert written == {"name": "my_sgd", "lr": 0.05, "betas": [0.9, 0.95], "momentum": 0.9, "nesterov": True,
                       "groups": {"embeddings": 0.1}}
    again = tmp_path / "again.toml"
    again.write_text(config_to_toml(cfg))
    assert load_config(Config, again) == cfg


def test_defaults_and_a_bare_name():
    assert load_config(Config).optimizer == Optim()
    cfg = load_config(Config, data={"optimizer": "lion"})  # a name alone: the typed defaults, no options
    assert cfg.optimizer == Optim(name="lion")
    assert config_to_dict(Optim())["name"] == "adamw" and "options" not in config_to_dict(Optim())


def test_set_a_typed_field_an_option_and_the_name():
    cfg = load_config(Config, data={"optimizer": {"name": "my_sgd", "momentum": 0.5, "lr": 0.1}},
                      overrides=["optimizer.lr=3e-4", "optimizer.momentum=0.9", "optimizer.dampening=0",
                                 "optimizer.betas=[0.8, 0.99]", "optimizer.tag=fast"])
    o = cfg.optimizer
    assert o.lr == 3e-4 and isinstance(o.lr, float) and o.betas == [0.8, 0.99]
    # an option is a TOML literal (0 an integer, a bare word a string), like a PartRef's
    assert o.options == {"momentum": 0.9, "dampening": 0, "tag": "fast"}
    renamed = load_config(Config, data={"optimizer": {"name": "my_sgd", "momentum": 0.5, "lr": 0.1}},
                          overrides=["optimizer=other_sgd"])
    assert renamed.optimizer == Optim(name="other_sgd", lr=0.1, options={"momentum": 0.5})  # the name only
    on_default = load_config(Config, overrides=["optimizer.foo=1"])  # the default part, given an option
    assert on_default.optimizer == Optim(options={"foo": 1})
    from_name = load_config(Config, data={"optimizer": "lion"}, overrides=["optimizer.lr=2"])
    assert from_name.optimizer == Optim(name="lion", lr=2.0)


@pytest.mark.parametrize("data, overrides", [
    ({"optimizer": {"name": "my_sgd", "options": {"momentum": 0.9}}}, []),
    ({"optimizer": dataclasses.asdict(Optim(options={"momentum": 0.9}))}, []),
    ({}, ["optimizer.options={momentum = 0.9}"]),
])
def test_nested_options_are_refused_as_for_a_part_ref(data, overrides):
    with pytest.raises(ConfigError, match="options go in the part's table itself.*not under `options`"):
        load_config(Config, data=data, overrides=overrides)
    with pytest.raises(ConfigError, match="options go in the part's table itself.*not under `options`"):
        PartRef.parse({"name": "my_sgd", "options": {"momentum": 0.9}})  # the same words


@pytest.mark.parametrize("data, overrides, message", [
    ({"optimizer": {"lr": "fast"}}, [], "optimizer.lr: expected a number, got 'fast'"),
    ({}, ["optimizer.lr=fast"], "optimizer.lr: expected a number, got 'fast'"),
    ({}, ["optimizer.decay_steps=1.5"], "optimizer.decay_steps: expected int | None, got 1.5"),
    ({"optimizer": {"betas": 0.9}}, [], "optimizer.betas: expected a list, got 0.9"),
    ({"optimizer": {"name": ""}}, [], "optimizer.name: expected a part name, got ''"),
    ({"optimizer": 3}, [], "optimizer: expected a part name or a table"),
])
def test_a_typed_field_of_the_wrong_type_is_a_config_error(data, overrides, message):
    with pytest.raises(ConfigError) as e:
        load_config(Config, data=data, overrides=overrides)
    assert message in str(e.value)


def test_code_cannot_give_a_typed_field_as_an_option():
    with pytest.raises(ConfigError, match="lr are fields of the table"):
        Optim(options={"lr": 1.0})
