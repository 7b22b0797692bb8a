"""Import guard for the GPU scripts' CPU smoke runs (issue 14): refuse what the GPU image lacks.

With this folder on PYTHONPATH and LMFORGE_IMPORT_GUARD naming a package list (one distribution per
line, ``#`` comments), every Python process started in that environment (pytest, torch.compile's
workers too) may import only the standard library, ``lmforge`` and the top-level modules that the
listed distributions provide; anything else is not found (ModuleNotFoundError on import, None from
``importlib.util.find_spec``), exactly as on the GPU machine, where the package is simply absent.
Optional imports (``try: import x except ImportError``) therefore behave as they would there, and a
new top-level import of a missing package fails the smoke run in CI instead of the first GPU run.
Refused names are appended to LMFORGE_IMPORT_GUARD_LOG if set.
"""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class GuardedFinder:
    """Wraps one meta-path finder: modules outside the allowed set are simply not found by it, so
    ``import x`` raises ModuleNotFoundError and ``importlib.util.find_spec("x")`` returns None, exactly
    as where the package is absent."""

    def __init__(self, finder, allowed: set[str], log_path: str | None):
        self.finder, self.allowed, self.log_path = finder, allowed, log_path

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top not in self.allowed and not top.startswith("_sysconfigdata"):  # stdlib, named per platform
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(f"{top}\n")
            return None
        return self.finder.find_spec(fullname, path, target)

    def __getattr__(self, name):  # invalidate_caches and friends
        return getattr(self.finder, name)


def allowed_modules(allowed_dists: set[str]) -> set[str]:
    from importlib.metadata import packages_distributions

    allowed = set(sys.stdlib_module_names) | set(sys.builtin_module_names) | {"lmforge", "__main__"}
    for module, dists in packages_distributions().items():
        if any(_normalise(d) in allowed_dists for d in dists):
            allowed.add(module)
    return allowed


def install(list_path: str) -> None:
    with open(list_path) as f:
        dists = {_normalise(line.strip()) for line in f if line.strip() and not line.startswith("#")}
    allowed = allowed_modules(dists)
    log = os.environ.get("LMFORGE_IMPORT_GUARD_LOG")
    # builtin and frozen modules are stdlib; every other finder (site-packages, editable installs) is wrapped
    sys.meta_path[:] = [f if f in (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter)
                        else GuardedFinder(f, allowed, log) for f in sys.meta_path]


if os.environ.get("LMFORGE_IMPORT_GUARD"):
    install(os.environ["LMFORGE_IMPORT_GUARD"])
