"""The part registry: ``kind -> name -> Part``.

A part is registered either as the object itself or as an import string ``"package.module:attr"``;
the string is imported on first :meth:`Registry.get` and checked against the kind's contract then
(the one lazy mechanism, so listing parts never imports torch).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .contract_check import ContractError, check_part
from .errors import DuplicatePartError, UnknownPartError

IMPORT_STRING = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class Part:
    """One registered part. ``obj`` is the part, or its import string until first resolved.

    ``reference``: the part of the same kind this one must compute the same thing as (parity-checked).
    ``ablation_of``: the part this one deliberately differs from (never parity-checked).
    """

    kind: str
    name: str
    obj: Any
    package: str
    version: str
    description: str
    reference: str | None = None
    plugin: str = ""
    ablation_of: str | None = None

    @property
    def lazy(self) -> bool:
        """True while ``obj`` is still an unresolved import string."""
        return isinstance(self.obj, str)


def resolve_import_string(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for piece in attr.split("."):
        obj = getattr(obj, piece)
    return obj


def first_doc_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class Registry:
    def __init__(self) -> None:
        self._parts: dict[str, dict[str, Part]] = {}

    def add(self, part: Part) -> None:
        existing = self._parts.setdefault(part.kind, {}).get(part.name)
        if existing is not None:
            raise DuplicatePartError(
                f"{part.kind} {part.name!r} is registered by both {existing.package} and {part.package}"
            )
        self._parts[part.kind][part.name] = part

    def remove_plugin(self, plugin: str) -> None:
        for parts in self._parts.values():
            for name in [n for n, p in parts.items() if p.plugin == plugin]:
                del parts[name]

    def part(self, kind: str, name: str) -> Part:
        parts = self._parts.get(kind)
        if not parts:
            kinds = ", ".join(sorted(k for k, v in self._parts.items() if v)) or "none"
            raise UnknownPartError(f"no parts of kind {kind!r} are registered (kinds: {kinds})")
        if name not in parts:
            raise UnknownPartError(f"unknown {kind} {name!r}; known: {', '.join(sorted(parts))}")
        return parts[name]

    def get(self, kind: str, name: str) -> Any:
        """The part itself, importing (and contract-checking) an import-string part on first use."""
        part = self.part(kind, name)
        if not part.lazy:
            return part.obj
        try:
            obj = resolve_import_string(part.obj)
        except (ImportError, AttributeError) as e:
            raise ContractError(f"{kind} {name!r} from {part.package}: cannot import {part.obj!r}: "
                                f"{type(e).__name__}: {e}") from e
        check_part(kind, name, part.package, obj)
        self._parts[kind][name] = dataclasses.replace(part, obj=obj)
        return obj

    def names(self, kind: str) -> list[str]:
        return sorted(self._parts.get(kind, {}))

    def kinds(self) -> list[str]:
        return sorted(k for k, v in self._parts.items() if v)

    def __iter__(self) -> Iterator[Part]:
        for kind in self.kinds():
            yield from (self._parts[kind][n] for n in sorted(self._parts[kind]))

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, name = key
        return name in self._parts.get(kind, {})
