"""The parity harness, on toy kinds registered by a throwaway plugin (core ships no torch checks)."""

import pytest
from click.testing import CliRunner

from lmforge.core import get_host
from lmforge.core.cli import build_cli
from lmforge.core.contracts import DocFilter, ParityResult
from lmforge.core.parity import run_parity
from lmforge.core.parity_checks import corpus, doc_filter_parity, executor_parity, reward_parity
from lmforge.core.testing import assert_parity, parity_params

from .test_plugins import make_plugin


def square(x):
    return x * x


def square_by_mult(x):
    return x ** 2


def square_off_by_one(x):
    return x * x + 1


def compare_on_ints(candidate, reference):
    """Toy check: the largest difference over 0..9 must be zero."""
    err = max(abs(candidate(x) - reference(x)) for x in range(10))
    return ParityResult(float(err), 0.0, err == 0, "" if err == 0 else f"differs by {err}")


def crashing_check(candidate, reference):
    raise RuntimeError("the check itself is broken")


@pytest.fixture
def toys(fresh_host, monkeypatch):
    """A plugin with toy numeric parts under three real kind names (their contracts lifted), so the
    CLI path is the real one: ``classifier`` has a check, ``deduper`` none, ``language_identifier`` a
    check that crashes."""
    from lmforge.core import contracts

    for kind in ("classifier", "deduper", "language_identifier"):
        monkeypatch.delitem(contracts.CONTRACTS, kind)
    host = get_host()

    def classifiers(register):
        register("square", square)
        register("square_mult", square_by_mult, reference="square")
        register("square_plus", square_off_by_one, reference="square")
        register("cube", lambda x: x ** 3, ablation_of="square")

    def dedupers(register):
        register("a", square)
        register("b", square_by_mult, reference="a")

    def languages(register):
        register("a", square)
        register("b", square_by_mult, reference="a")

    def checks(register):
        register("classifier", compare_on_ints)
        register("language_identifier", crashing_check)

    assert host.add_plugin(make_plugin(register_classifiers=classifiers, register_dedupers=dedupers,
                                       register_language_identifiers=languages,
                                       register_parity_checks=checks), "toys", "toys-pkg")
    return host


def test_rows_say_pass_fail_no_check_and_error(toys):
    rows = {(r.kind, r.part): r for r in run_parity(toys.registry)}
    assert set(rows) == {("classifier", "square_mult"), ("classifier", "square_plus"), ("deduper", "b"),
                         ("language_identifier", "b")}  # ablations are never checked
    ok = rows["classifier", "square_mult"]
    assert (ok.reference, ok.max_error, ok.tolerance, ok.verdict) == ("square", 0.0, 0.0, "pass")
    assert ok.seconds >= 0
    bad = rows["classifier", "square_plus"]
    assert (bad.max_error, bad.verdict, bad.detail) == (1.0, "FAIL", "differs by 1")
    assert rows["deduper", "b"].verdict == "no check"
    crashed = rows["language_identifier", "b"]
    assert crashed.verdict == "error" and "the check itself is broken" in crashed.detail


def test_kind_and_name_select(toys):
    assert [r.part for r in run_parity(toys.registry, "classifier")] == ["square_mult", "square_plus"]
    assert [r.part for r in run_parity(toys.registry, "classifier", "square_mult")] == ["square_mult"]
    with pytest.raises(Exception, match="ablation of 'square'"):
        run_parity(toys.registry, "classifier", "cube")


def test_cli_prints_the_table_and_exits_nonzero_on_failure(toys):
    result = CliRunner().invoke(build_cli(), ["parity", "classifier", "square_mult"])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0].split()
    assert header == ["kind", "part", "reference", "max", "error", "tolerance", "time", "verdict"]
    assert "1 of 1 passed" in result.output
    result = CliRunner().invoke(build_cli(), ["parity"])
    assert result.exit_code == 1
    assert "FAIL: differs by 1" in result.output and "no check" in result.output
    assert "1 of 4 passed" in result.output
    result = CliRunner().invoke(build_cli(), ["parity", "deduper"])
    assert result.exit_code == 1 and "no parity_check registered for kind 'deduper'" in result.output


def test_pytest_helpers(toys):
    params = parity_params("classifier")
    assert [p.id for p in params] == ["classifier:square_mult", "classifier:square_plus"]
    assert_parity("classifier", "square_mult")
    with pytest.raises(AssertionError, match="FAIL"):
        assert_parity("classifier", "square_plus")


class MinChars(DocFilter):
    def __init__(self, minimum: int = 10):
        self.minimum = minimum

    def filter(self, doc):
        return len(doc.text) >= self.minimum or (False, "short")


class MinCharsStripped(MinChars):
    def filter(self, doc):
        return len(doc.text.strip()) >= self.minimum or (False, "short")


class MinCharsMasking(MinChars):
    def filter(self, doc):
        doc.text = doc.text.replace("@", "[at]")
        return super().filter(doc)


def test_doc_filter_check_compares_decisions_and_text():
    same = doc_filter_parity(MinChars, MinChars, minimum=5)
    assert same == ParityResult(0.0, 0.0, True, "")
    stripped = doc_filter_parity(MinCharsStripped, MinChars, minimum=5)
    assert not stripped.passed and 0 < stripped.max_error < 0.1 and "differ" in stripped.detail
    assert not doc_filter_parity(MinCharsMasking, MinChars, minimum=0).passed  # same decisions, other text
    assert len(corpus()) == 200 and corpus() == corpus()


def test_core_registers_its_pure_python_checks(fresh_host):
    registry = get_host().registry
    assert registry.get("parity_check", "doc_filter") is doc_filter_parity
    assert registry.get("parity_check", "reward") is reward_parity
    assert registry.get("parity_check", "executor") is executor_parity


def test_doc_filter_parts_are_checked_end_to_end_through_the_cli(fresh_host):
    def filters(register):
        register("min_chars", MinChars)
        register("min_chars_again", MinChars, reference="min_chars")
        register("min_chars_stripped", MinCharsStripped, reference="min_chars")

    assert get_host().add_plugin(make_plugin(register_doc_filters=filters), "filters", "filters-pkg")
    result = CliRunner().invoke(build_cli(), ["parity", "doc_filter"])
    assert result.exit_code == 1
    rows = {line.split()[1]: line for line in result.output.splitlines()[2:] if line.startswith("doc_filter")}
    assert rows["min_chars_again"].split()[-1] == "pass"
    assert "FAIL" in rows["min_chars_stripped"] and "documents differ" in rows["min_chars_stripped"]


def exact(response, ground_truth):
    return {"reward": float(response == ground_truth)}


def stripped(response, ground_truth):
    return {"reward": float(response.strip() == ground_truth.strip())}


def test_reward_check():
    assert reward_parity(exact, exact) == ParityResult(0.0, 0.0, True, "")
    result = reward_parity(stripped, exact)
    assert (result.max_error, result.passed) == (1.0, False) and "' 42 '" in result.detail


class InOrder:
    def __init__(self, **options):
        pass

    def map(self, fn, items, desc=""):
        return [fn(x) for x in items]


class Reversed(InOrder):
    def map(self, fn, items, desc=""):
        return [fn(x) for x in items][::-1]


def test_executor_check():
    assert executor_parity(InOrder, InOrder).passed
    result = executor_parity(Reversed, InOrder, items=10)
    assert not result.passed and 0 < result.max_error <= 1 and "differ" in result.detail
