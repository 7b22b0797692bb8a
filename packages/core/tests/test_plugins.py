import types

import pytest

from lmforge.core import UnknownPartError, get_host, get_part, hookimpl, part_names
from lmforge.core.plugins import REGISTRATION_HOOKS, load_host


def make_plugin(**hooks):
    """A plugin object (modules are what pluggy usually gets) with the given hook implementations."""
    plugin = types.ModuleType("throwaway_plugin")
    for name, fn in hooks.items():
        fn.__name__ = name
        setattr(plugin, name, hookimpl(fn))
    return plugin


def test_every_registration_hook_names_a_kind():
    assert REGISTRATION_HOOKS["register_tokenizers"] == "tokenizer"
    assert REGISTRATION_HOOKS["register_parallel_backends"] == "parallel_backend"
    assert len(set(REGISTRATION_HOOKS.values())) == len(REGISTRATION_HOOKS)


def test_core_parts_are_registered(fresh_host):
    assert {"jsonl", "tensorboard"} <= set(part_names("metrics_logger"))
    part = get_host().registry.part("metrics_logger", "jsonl")
    assert part.package == "lmforge-core" and part.version == "0.1.0"
    assert part.description.startswith("Appends one JSON object")


def test_throwaway_plugin_is_usable_by_name(fresh_host):
    def shout(html, charset=None):
        """Upper-case everything."""
        return html.upper()

    plugin = make_plugin(register_html_extractors=lambda register: register("shout", shout, reference="x"))
    host = get_host()
    assert host.add_plugin(plugin, "throwaway", "throwaway-pkg", "9.9")
    try:
        assert get_part("html_extractor", "shout")("hi") == "HI"
        p = host.registry.part("html_extractor", "shout")
        assert (p.package, p.version, p.description, p.reference) == ("throwaway-pkg", "9.9",
                                                                      "Upper-case everything.", "x")
    finally:
        host.remove_plugin("throwaway")
    with pytest.raises(UnknownPartError):
        get_part("html_extractor", "shout")


def test_misspelled_hook_is_quarantined(fresh_host, capsys):
    plugin = make_plugin(register_tokenizer=lambda register: None)
    host = get_host()
    assert not host.add_plugin(plugin, "typo", "typo-pkg")
    assert "register_tokenizers" in host.plugins["typo"].error
    assert "typo" in capsys.readouterr().err
    host.pm.check_pending()  # the host is left clean


def test_plugin_that_raises_while_registering_is_quarantined(fresh_host):
    def bad(register):
        register("ok_part", object())
        raise RuntimeError("boom")

    host = get_host()
    assert not host.add_plugin(make_plugin(register_norms=bad), "bad", "bad-pkg")
    assert "boom" in host.plugins["bad"].error
    assert "ok_part" not in host.registry.names("norm")  # nothing half-registered
    assert "jsonl" in part_names("metrics_logger")  # everything else still works


def test_duplicate_from_second_plugin_names_both_and_keeps_first(fresh_host):
    host = get_host()
    def one(response, ground_truth):
        return {"reward": 1.0}

    def two(response, ground_truth):
        return {"reward": 2.0}

    first = make_plugin(register_rewards=lambda register: register("r", one))
    second = make_plugin(register_rewards=lambda register: register("r", two))
    assert host.add_plugin(first, "first", "pkg-1")
    assert not host.add_plugin(second, "second", "pkg-2")
    assert "pkg-1" in host.plugins["second"].error and "pkg-2" in host.plugins["second"].error
    assert get_part("reward", "r") is one


def test_lmforge_plugins_env_restricts_loading(monkeypatch):
    monkeypatch.setenv("LMFORGE_PLUGINS", "core")
    host = load_host()
    assert set(host.plugins) == {"core"}


def test_trace_env_prints_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("LMFORGE_TRACE", "1")
    monkeypatch.setenv("LMFORGE_PLUGINS", "core")
    load_host()
    assert "register_metrics_loggers" in capsys.readouterr().err


def test_lazy_exports_import_on_first_use_and_cache(tmp_path, monkeypatch):
    import sys

    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from lmforge.core import lazy_exports\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'heavy_value': 'heavy'})\n")
    (pkg / "heavy.py").write_text("heavy_value = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import lazypkg

    assert "lazypkg.heavy" not in sys.modules
    assert lazypkg.heavy_value == 42 and "lazypkg.heavy" in sys.modules
    assert "heavy_value" in vars(lazypkg) and "heavy_value" in dir(lazypkg)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = lazypkg.nope
