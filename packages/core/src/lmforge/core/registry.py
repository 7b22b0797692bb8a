"""The part registry: ``kind -> name -> Part``."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import DuplicatePartError, UnknownPartError


@dataclass(frozen=True)
class Part:
    kind: str
    name: str
    obj: Any
    package: str
    version: str
    description: str
    reference: str | None = None
    plugin: str = ""


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
        return self.part(kind, name).obj

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
