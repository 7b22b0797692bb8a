"""Render standard-library modules to HTML with ``pydoc``: one page per module plus an index.

Run as ``python -m lmforge.recipe.pydoc_site OUT_DIR COUNT`` in a child process: rendering imports
every module, and some have side effects (warnings, registered codecs, threads) that must not leak
into the recipe's own process. Pages keep pydoc's links (``json.html``, ``json.decoder.html``, the
index ``.``), so a crawler can follow them.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import pydoc
import sys
import warnings
from pathlib import Path

# Modules whose import opens a browser, prints, starts a GUI, or is not documentation at all.
SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "lib2to3", "ensurepip",
        "venv", "pydoc_data", "test", "__main__", "__future__", "__hello__", "__phello__", "msilib",
        "winreg", "winsound", "msvcrt", "nt", "_winapi"}


def candidate_modules() -> list[str]:
    """Public top-level standard-library modules in a fixed (sorted) order."""
    return sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP)


def render(out_dir: Path, count: int) -> dict:
    """Write ``count`` module pages and ``index.html``: top-level modules in sorted order, each
    package followed by its public submodules (the pages its own page links to)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written, failed = [], []
    queue = candidate_modules()
    while queue and len(written) < count:
        name = queue.pop(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(name)
                page = pydoc.html.page(pydoc.describe(module), pydoc.html.document(module, name))
        except Exception as e:  # a module that cannot import on this platform is counted, not fatal
            failed.append(f"{name}: {type(e).__name__}")
            continue
        (out_dir / f"{name}.html").write_text(page, encoding="utf-8")
        written.append(name)
        if hasattr(module, "__path__"):
            subs = sorted(f"{name}.{m.name}" for m in pkgutil.iter_modules(module.__path__)
                          if not m.name.startswith("_") and m.name not in SKIP and m.name != "tests")
            queue[:0] = subs
    links = "".join(f'<li><a href="{n}.html">{n}</a></li>\n' for n in written)
    index = pydoc.html.page("Python standard library", f"<h1>Modules</h1>\n<ul>\n{links}</ul>")
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    return {"modules": written, "failed": failed}


if __name__ == "__main__":
    result = render(Path(sys.argv[1]), int(sys.argv[2]))
    print(json.dumps(result))
