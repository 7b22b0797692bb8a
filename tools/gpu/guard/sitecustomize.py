"""Import guard for the GPU scripts' CPU smoke runs (issue 14): refuse what the GPU image lacks.

With this folder on PYTHONPATH and LMFORGE_IMPORT_GUARD naming a package list (one distribution per
line, ``#`` comments), every Python process started in that environment (pytest, torch.compile's
workers too) may import only the standard library, ``lmforge`` and the top-level modules that the
listed distributions provide; anything else raises ModuleNotFoundError exactly as on the GPU machine,
where the package is simply absent. Optional imports (``try: import x except ImportError``) therefore
behave as they would there, and a new top-level import of a missing package fails the smoke run in CI
instead of the first (scarce) GPU run. Refused names are appended to LMFORGE_IMPORT_GUARD_LOG if set.
"""

from __future__ import annotations

import os
import re
import sys


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class ImageImportGuard:
    """A meta-path finder that says "not installed" for modules outside the allowed set."""

    def __init__(self, allowed_dists: set[str], log_path: str | None):
        from importlib.metadata import packages_distributions

        self.allowed = set(sys.stdlib_module_names) | set(sys.builtin_module_names) | {"lmforge", "__main__"}
        for module, dists in packages_distributions().items():
            if any(_normalise(d) in allowed_dists for d in dists):
                self.allowed.add(module)
        self.log_path = log_path

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in self.allowed or top.startswith("_sysconfigdata"):
            return None  # let the normal finders do their work
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(f"{top}\n")
        raise ModuleNotFoundError(f"No module named {fullname!r} (import guard: not in the GPU image's "
                                  f"package list {os.environ.get('LMFORGE_IMPORT_GUARD')})", name=fullname)


def install(list_path: str) -> ImageImportGuard:
    with open(list_path) as f:
        dists = {_normalise(line.strip()) for line in f if line.strip() and not line.startswith("#")}
    guard = ImageImportGuard(dists, os.environ.get("LMFORGE_IMPORT_GUARD_LOG"))
    sys.meta_path.insert(0, guard)
    return guard


if os.environ.get("LMFORGE_IMPORT_GUARD"):
    install(os.environ["LMFORGE_IMPORT_GUARD"])
