"""Parts picked in a pipeline config: a name or a table ``{name = "...", <options>}`` (core's PartRef).

The pipeline's config travels to workers as a plain dict, where a part entry is a name or a table;
``build`` makes a part from either, and turns an option the part does not take into a ``ConfigError``
naming it (checked in the parent, before anything is written). A part called per document is bound
with core's ``bind_part``.
"""

from __future__ import annotations

from typing import Any

from lmforge.core import ConfigError, PartRef, get_part


def build(kind: str, entry: PartRef | str | dict[str, Any], what: str) -> Any:
    """A class or factory part built with its options (``part(**options)``)."""
    ref = PartRef.parse(entry, what)
    try:
        return get_part(kind, ref.name)(**ref.options)
    except TypeError as e:  # an option the part does not take
        raise ConfigError(f"{what} {ref.name!r}: {e}") from None
