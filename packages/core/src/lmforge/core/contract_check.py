"""Checking a part against its kind's contract, by inspection only (nothing is called)."""

from __future__ import annotations

import inspect
from typing import Any

from .contracts import CONTRACTS, Call, Contract
from .errors import LmforgeError


class ContractError(LmforgeError):
    """A part that does not satisfy its kind's contract (message: kind, name, package, what is wrong)."""


def _binds(fn: Any, call: Call, self_arg: bool = False) -> str | None:
    """None if ``fn`` accepts ``call``; else what is wrong. Unintrospectable callables pass."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    args = [object()] * (len(call.args) + self_arg)
    try:
        sig.bind(*args, **{k: object() for k in call.kwargs})
    except TypeError as e:
        return f"signature {sig} does not accept {call} ({e})"
    return None


def _method_problem(owner: Any, name: str, call: Call | None) -> str | None:
    # on a class, only what the class itself defines counts (not ``type.__call__`` and friends)
    defined = any(name in vars(k) for k in owner.__mro__) if inspect.isclass(owner) else hasattr(owner, name)
    if not defined:
        return f"missing {'attribute' if call is None else 'method'} {name!r}"
    if call is None:
        return None
    value = getattr(owner, name)
    if not callable(value):
        return f"{name!r} is not callable"
    # a plain function looked up on a class still wants ``self``
    unbound = inspect.isclass(owner) and isinstance(inspect.getattr_static(owner, name), type(_binds))
    bad = _binds(value, call, self_arg=unbound)
    return f"{name}: {bad}" if bad else None


def problems(contract: Contract, part: Any) -> list[str]:
    """Everything about ``part`` that breaks ``contract`` (empty when it satisfies it)."""
    found: list[str] = []
    is_class = inspect.isclass(part)
    if contract.shape == "class" and not is_class:
        return [f"must be a class, got a {type(part).__name__}"]
    if contract.shape == "callable" and not callable(part):
        return [f"must be callable, got a {type(part).__name__} instance"]
    if contract.call is not None:
        bad = _binds(part, contract.call)
        if bad:
            found.append(f"call {bad}")
    product = part if is_class else _product_class(part)
    if product is None:  # a plain factory function: what it builds is checked where it is used
        return found
    for name, call in contract.methods.items():
        bad = _method_problem(product, name, call)
        if bad:
            found.append(bad)
    for name, tp in contract.attributes.items():
        if not hasattr(product, name):
            found.append(f"missing attribute {name!r} ({tp.__name__})")
        elif isinstance(inspect.getattr_static(product, name), property):
            continue  # computed per instance
        elif not isinstance(getattr(product, name), tp):
            found.append(f"attribute {name!r} must be {tp.__name__}, got {getattr(product, name)!r}")
    return found


def _product_class(part: Any) -> type | None:
    """The class a callable part builds, when that can be seen without calling it."""
    for candidate in (part, getattr(part, "__wrapped__", None), getattr(part, "func", None)):
        if inspect.isclass(candidate):
            return candidate
    return None


def check_part(kind: str, name: str, package: str, part: Any) -> None:
    """Raise :class:`ContractError` naming kind, name, package and every problem; kinds without a
    contract (only test-made kinds) pass."""
    contract = CONTRACTS.get(kind)
    if contract is None:
        return
    found = problems(contract, part)
    if found:
        raise ContractError(f"{kind} {name!r} from {package} breaks the {kind} contract "
                            f"({contract.protocol.__name__}): " + "; ".join(found))
