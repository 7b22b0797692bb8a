"""Parts picked in a pipeline config: a name or a table ``{name = "...", <options>}`` (core's PartRef).

The pipeline's config travels to workers as a plain dict, where a part entry is a name or a table;
these helpers build the part from either, and turn an option the part does not take into a
``ConfigError`` naming it (checked in the parent, before anything is written).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from lmforge.core import ConfigError, PartRef, get_part


def as_ref(entry: PartRef | str | dict[str, Any], what: str) -> PartRef:
    if isinstance(entry, PartRef):
        return entry
    if isinstance(entry, str) and entry:
        return PartRef(entry)
    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]:
        return PartRef(entry["name"], {k: v for k, v in entry.items() if k != "name"})
    raise ConfigError(f"{what}: expected a part name or a table {{name = ..., <options>}}, got {entry!r}")


def build(kind: str, entry: PartRef | str | dict[str, Any], what: str) -> Any:
    """A class part built with its options (``part(**options)``)."""
    ref = as_ref(entry, what)
    try:
        return get_part(kind, ref.name)(**ref.options)
    except TypeError as e:  # an option the part does not take
        hint = (
            "; options go in the part's table itself, not under `options`" if "options" in ref.options else ""
        )
        raise ConfigError(f"{what} {ref.name!r}: {e}{hint}") from None


def callable_part(kind: str, entry: PartRef | str | dict[str, Any], what: str) -> Any:
    """A part that is called per document: a class is built with the options, a function gets them
    bound (``functools.partial``), checked against its signature."""
    ref = as_ref(entry, what)
    part = get_part(kind, ref.name)
    if isinstance(part, type):
        return build(kind, ref, what)
    if not ref.options:
        return part
    try:
        inspect.signature(part).bind_partial(**ref.options)
    except TypeError as e:
        raise ConfigError(f"{what} {ref.name!r}: {e}") from None
    return functools.partial(part, **ref.options)
