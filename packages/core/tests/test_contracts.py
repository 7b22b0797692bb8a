"""Each kind's contract is checked at registration (eager parts) or first use (import strings)."""

import inspect
import os
import subprocess
import sys

import pytest

from lmforge.core import get_host, get_part
from lmforge.core import hookspecs as hookspecs_module
from lmforge.core.contract_check import ContractError, check_part, problems
from lmforge.core.contracts import CONTRACTS, DocFilter
from lmforge.core.plugins import REGISTRATION_HOOKS, load_host

from .test_plugins import make_plugin


def test_every_kind_has_a_contract_named_by_its_hookspec():
    assert set(CONTRACTS) == set(REGISTRATION_HOOKS.values())
    assert {"task", "parity_check"} <= set(CONTRACTS)
    for hook, kind in REGISTRATION_HOOKS.items():
        assert CONTRACTS[kind].protocol.__name__ in getattr(hookspecs_module, hook).__doc__


class KeepAll(DocFilter):
    def filter(self, doc):
        return True


class NoFilterMethod:
    def __init__(self, **options):
        pass


def test_doc_filter_must_be_a_class_with_filter():
    assert problems(CONTRACTS["doc_filter"], KeepAll) == []
    assert problems(CONTRACTS["doc_filter"], lambda doc: True) == ["must be a class, got a function"]
    assert problems(CONTRACTS["doc_filter"], NoFilterMethod) == ["missing method 'filter'"]


def test_call_signature_is_checked():
    def attention(q, k, v, mask=None, is_causal=False):
        return q

    def two_args(q, k):
        return q

    assert problems(CONTRACTS["attention"], attention) == []
    [problem] = problems(CONTRACTS["attention"], two_args)
    assert problem.startswith("call signature (q, k) does not accept (q, k, v, mask=..., is_causal=...)")


class Loss:
    uses_old_log_probs = False

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        return -advantages * log_probs, {}


class LossWithoutFlag:
    def __call__(self, log_probs, *, advantages, old_log_probs=None, response_mask=None):
        return log_probs, {}


class NotCallableLoss:
    uses_old_log_probs = "no"


def test_rl_loss_factory_builds_a_callable_with_a_bool_flag():
    assert problems(CONTRACTS["rl_loss"], Loss) == []
    assert problems(CONTRACTS["rl_loss"], LossWithoutFlag) == [
        "missing attribute 'uses_old_log_probs' (bool)"]
    found = problems(CONTRACTS["rl_loss"], NotCallableLoss)
    assert "missing method '__call__'" in found and any("must be bool" in p for p in found)


def test_violating_plugin_is_quarantined_with_one_error_naming_everything(fresh_host, capsys):
    def register(register):
        register("fine", KeepAll)
        register("bad", NoFilterMethod)

    host = get_host()
    assert not host.add_plugin(make_plugin(register_doc_filters=register), "violator", "violator-pkg", "0.1")
    error = host.plugins["violator"].error
    assert error.startswith(
        "ContractError: doc_filter 'bad' from violator-pkg breaks the doc_filter contract")
    assert "missing method 'filter'" in error
    assert "fine" not in host.registry.names("doc_filter")  # nothing half-registered
    assert capsys.readouterr().err.count("skipped") == 1


def test_import_string_part_is_resolved_and_checked_on_first_use(fresh_host, tmp_path, monkeypatch):
    (tmp_path / "lazy_parts.py").write_text(
        "import sys\nsys.modules['lazy_parts_imported'] = sys\n"
        "def extract(html, charset=None):\n    return html.upper()\n"
        "def wrong(html):\n    return html\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def register(register):
        register("upper", "lazy_parts:extract", description="Upper case.")
        register("wrong", "lazy_parts:wrong")
        register("missing", "lazy_parts:nothing_here")

    host = get_host()
    assert host.add_plugin(make_plugin(register_html_extractors=register), "lazy", "lazy-pkg")
    assert "lazy_parts_imported" not in sys.modules  # registering imported nothing
    assert host.registry.part("html_extractor", "upper").description == "Upper case."
    assert get_part("html_extractor", "upper")("<b>") == "<B>"
    assert host.registry.part("html_extractor", "upper").obj.__name__ == "extract"  # cached
    with pytest.raises(ContractError, match=r"html_extractor 'wrong' from lazy-pkg breaks .*call signature"):
        get_part("html_extractor", "wrong")
    with pytest.raises(ContractError, match=r"html_extractor 'missing' from lazy-pkg: cannot import"):
        get_part("html_extractor", "missing")


def test_malformed_import_string_and_reference_with_ablation_are_rejected(fresh_host):
    host = get_host()
    assert not host.add_plugin(make_plugin(register_rewards=lambda register: register("r", "no colon")),
                               "p1", "p1-pkg")
    assert "not an import string" in host.plugins["p1"].error

    def both(register):
        register("r", "m:f", reference="a", ablation_of="b")

    assert not host.add_plugin(make_plugin(register_rewards=both), "p2", "p2-pkg")
    assert "either" in host.plugins["p2"].error


def test_reference_and_ablation_of_are_recorded(fresh_host):
    def register(register):
        register("base", "m:base")
        register("same", "m:same", reference="base")
        register("variant", "m:variant", ablation_of="base")

    host = get_host()
    assert host.add_plugin(make_plugin(register_rewards=register), "p", "p-pkg")
    parts = {p.name: p for p in host.registry if p.kind == "reward"}
    assert (parts["same"].reference, parts["same"].ablation_of) == ("base", None)
    assert (parts["variant"].reference, parts["variant"].ablation_of) == (None, "base")


def test_model_ablations_are_not_references():
    registry = load_host().registry
    if "norm" not in registry.kinds():
        pytest.skip("lmforge-model is not installed")
    for kind, name, of in [("norm", "layernorm", "rmsnorm"), ("norm", "none", "rmsnorm"),
                           ("ffn", "silu_mlp", "swiglu"), ("position", "none", "rope")]:
        part = registry.part(kind, name)
        assert (part.reference, part.ablation_of) == (None, of)


def test_every_installed_first_party_part_meets_its_contract():
    """Resolves every part of every loaded plugin (this imports torch and friends)."""
    host = load_host()
    failures = []
    for part in list(host.registry):
        try:
            obj = host.registry.get(part.kind, part.name)
            check_part(part.kind, part.name, part.package, obj)
        except ContractError as e:
            failures.append(str(e))
    assert not failures, "\n".join(failures)
    assert all(not inspect.isclass(p.obj) or p.obj.__module__ for p in host.registry)


def test_listing_plugins_never_imports_torch():
    code = ("import sys\nfrom lmforge.core.cli import main\n"
            "try:\n    main(['plugins'])\nexcept SystemExit as e:\n    assert not e.code\n"
            "heavy = [m for m in ('torch', 'triton', 'deepspeed', 'polars') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    env = {k: v for k, v in os.environ.items() if k != "LMFORGE_PLUGINS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert "rmsnorm" in out or "jsonl" in out
    assert out.strip().splitlines()[-1] == "HEAVY []"


def test_plugins_check_resolves_and_checks_every_part(fresh_host, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from lmforge.core.cli import build_cli

    (tmp_path / "checked_parts.py").write_text("def wrong(html):\n    return html\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(build_cli(), ["plugins", "--check"])
    assert result.exit_code == 0 and "contracts: " in result.output and "parts pass" in result.output

    def register(register):
        register("wrong", "checked_parts:wrong")
        register("gone", "checked_parts:gone")

    assert get_host().add_plugin(make_plugin(register_html_extractors=register), "checked", "checked-pkg")
    result = CliRunner().invoke(build_cli(), ["plugins", "--check", "--kind", "html_extractor"])
    assert result.exit_code == 1
    assert "contracts: 0 of 2 parts pass" in result.output
    assert "html_extractor 'wrong' from checked-pkg breaks" in result.output
    assert "html_extractor 'gone' from checked-pkg: cannot import" in result.output
