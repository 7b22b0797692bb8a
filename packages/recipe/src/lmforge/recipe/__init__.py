"""lmforge.recipe: one command from raw web pages to an aligned model, with a report card.

Names are imported lazily so that loading the plugin never imports torch.
"""

from __future__ import annotations

from lmforge.core import lazy_exports

_EXPORTS = {
    "RecipeConfig": "config",
    "load_recipe": "config",
    "run_recipe": "runner",
    "STAGES": "runner",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
