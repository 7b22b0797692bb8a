import pytest

from lmforge.core import DuplicatePartError, Part, Registry, UnknownPartError


def part(kind, name, package="pkg-a", plugin="a"):
    return Part(kind, name, object(), package, "1.0", "desc", None, plugin)


def test_get_returns_registered_object():
    reg = Registry()
    p = part("norm", "rmsnorm")
    reg.add(p)
    assert reg.get("norm", "rmsnorm") is p.obj
    assert reg.names("norm") == ["rmsnorm"]
    assert ("norm", "rmsnorm") in reg


def test_unknown_name_lists_known_names():
    reg = Registry()
    reg.add(part("norm", "rmsnorm"))
    reg.add(part("norm", "layernorm"))
    with pytest.raises(UnknownPartError) as e:
        reg.get("norm", "rms")
    assert "layernorm, rmsnorm" in str(e.value)
    assert isinstance(e.value, KeyError)


def test_unknown_kind_lists_kinds():
    reg = Registry()
    reg.add(part("norm", "rmsnorm"))
    with pytest.raises(UnknownPartError, match="kinds: norm"):
        reg.get("attention", "x")


def test_duplicate_name_names_both_packages():
    reg = Registry()
    reg.add(part("norm", "rmsnorm", package="lmforge-model"))
    with pytest.raises(DuplicatePartError) as e:
        reg.add(part("norm", "rmsnorm", package="third-party", plugin="b"))
    assert "lmforge-model" in str(e.value) and "third-party" in str(e.value)


def test_remove_plugin_drops_only_its_parts():
    reg = Registry()
    reg.add(part("norm", "a", plugin="x"))
    reg.add(part("norm", "b", plugin="y"))
    reg.remove_plugin("x")
    assert reg.names("norm") == ["b"]
