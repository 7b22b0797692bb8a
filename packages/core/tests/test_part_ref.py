"""PartRef: a part picked in a config as a name or a table, set by --set, built by build_part."""

import dataclasses
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field

import pytest

from lmforge.core import ConfigError, get_host
from lmforge.core.config import (
    PartRef,
    bind_part,
    build_part,
    check_part_options,
    config_to_dict,
    config_to_toml,
    load_config,
)

from .test_plugins import make_plugin


@dataclass
class Pipeline:
    executor: PartRef = field(default_factory=lambda: PartRef("local", {"workers": 2}))
    extractor: PartRef = field(default_factory=lambda: PartRef("resiliparse"))
    classifier: PartRef | None = None
    steps: list[PartRef] = field(default_factory=list)


@dataclass
class Config:
    pipeline: Pipeline = field(default_factory=Pipeline)


def test_name_or_table_in_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent("""
        [pipeline]
        extractor = "trafilatura"
        executor = {name = "ray", num_cpus = 4}
        steps = ["length", {name = "gopher", min_words = 10}]
    """))
    p = load_config(Config, path).pipeline
    assert p.extractor == PartRef("trafilatura")
    assert p.executor == PartRef("ray", {"num_cpus": 4})
    assert p.steps == [PartRef("length"), PartRef("gopher", {"min_words": 10})]
    assert p.classifier is None


@pytest.mark.parametrize("value, message", [
    ({"num_cpus": 4}, "needs a name"), (3, "expected a part name or a table"), ("", "expected a part name")])
def test_bad_part_refs_name_the_key(value, message):
    with pytest.raises(ConfigError, match=f"^pipeline.executor: .*{message}.*got {value!r}"):
        load_config(Config, data={"pipeline": {"executor": value}})


def test_set_name_and_options():
    cfg = load_config(Config, overrides=["pipeline.extractor=trafilatura", "pipeline.extractor.favor=recall",
                                         "pipeline.executor.workers=8", "pipeline.classifier=nsfw"])
    p = cfg.pipeline
    assert p.extractor == PartRef("trafilatura", {"favor": "recall"})
    assert p.executor == PartRef("local", {"workers": 8})  # the default part, its option changed
    assert p.classifier == PartRef("nsfw")
    cfg = load_config(Config, data={"pipeline": {"executor": {"name": "ray", "num_cpus": 2}}},
                      overrides=["pipeline.executor=local"])
    assert cfg.pipeline.executor == PartRef("local", {"num_cpus": 2})  # the name only
    with pytest.raises(ConfigError, match="set the part's name first"):
        load_config(Config, overrides=["pipeline.classifier.threshold=0.5"])


def test_written_back_as_string_without_options(tmp_path):
    cfg = load_config(Config, overrides=["pipeline.executor.workers=8"])
    d = config_to_dict(cfg)["pipeline"]
    assert d["extractor"] == "resiliparse" and d["executor"] == {"name": "local", "workers": 8}
    path = tmp_path / "c.toml"
    path.write_text(config_to_toml(cfg))
    assert load_config(Config, path) == cfg


def test_build_part_passes_options_and_refuses_clashes(fresh_host):
    def reward(response, ground_truth, scale=1.0):
        return {"reward": scale * (response == ground_truth)}

    assert get_host().add_plugin(make_plugin(register_rewards=lambda register: register("eq", reward)), "p")
    assert build_part("reward", "eq", "a", "a") == {"reward": 1.0}
    assert build_part("reward", PartRef("eq", {"scale": 2.0}), "a", "a") == {"reward": 2.0}
    with pytest.raises(ConfigError, match="scale"):
        build_part("reward", PartRef("eq", {"scale": 2.0}), "a", "a", scale=3.0)


def test_config_module_imports_without_tomli_w():
    code = ("import sys\nsys.modules['tomli_w'] = None  # any import of it now fails\n"
            "import lmforge.core.config as c\nprint(c.load_config.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "load_config"


def test_parse_reads_every_written_form():
    assert PartRef.parse("local") == PartRef("local")
    assert PartRef.parse({"name": "local", "workers": 2}) == PartRef("local", {"workers": 2})
    assert PartRef.parse(config_to_dict(PartRef("local", {"workers": 2}))) == PartRef("local", {"workers": 2})
    nested = dataclasses.asdict(PartRef("local", {"workers": 2}))  # {"name": ..., "options": {...}}
    with pytest.raises(ConfigError, match="options go in the part's table itself"):
        PartRef.parse(nested, "pipeline.executor")
    with pytest.raises(ConfigError, match="pipeline.executor: a part table needs a name"):
        PartRef.parse({"workers": 2}, "pipeline.executor")


def test_check_part_options_names_the_key_and_the_option(fresh_host):
    def reward(response, ground_truth, scale=1.0):
        return {"reward": scale * (response == ground_truth)}

    assert get_host().add_plugin(make_plugin(register_rewards=lambda register: register("eq", reward)), "p")
    check_part_options("reward", PartRef("eq", {"scale": 2.0}), "task.reward")  # fits: no error
    with pytest.raises(ConfigError, match=r"task.reward: reward 'eq' does not take option\(s\) scal\b"):
        check_part_options("reward", PartRef("eq", {"scal": 2.0}), "task.reward")
    with pytest.raises(ConfigError, match=r"task.reward: option\(s\) response .* set by lmforge"):
        check_part_options("reward", PartRef("eq", {"response": "x"}), "task.reward")


def test_bind_part_builds_a_class_once_and_binds_a_function(fresh_host):
    class MinWords:  # a doc_filter: built once with its options
        def __init__(self, n=1):
            self.n = n

        def filter(self, doc):
            return len(doc.split()) >= self.n

    def scaled(response, ground_truth, scale=1.0):  # a reward: called with its options bound
        return {"reward": scale * (response == ground_truth)}

    plugin = make_plugin(register_doc_filters=lambda register: register("min_words", MinWords),
                         register_rewards=lambda register: register("scaled", scaled))
    assert get_host().add_plugin(plugin, "p")
    assert bind_part("reward", "scaled") is scaled  # no options: the function itself
    assert bind_part("reward", {"name": "scaled", "scale": 2.0})("a", "a") == {"reward": 2.0}
    built = bind_part("doc_filter", PartRef("min_words", {"n": 3}))
    assert isinstance(built, MinWords) and not built.filter("two words") and built.filter("now three words")
    with pytest.raises(ConfigError, match=r"task.reward: reward 'scaled' does not take option\(s\) scal\b"):
        bind_part("reward", {"name": "scaled", "scal": 1}, "task.reward")
