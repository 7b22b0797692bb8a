"""lmforge-scaling plugin: the ``scaling_law`` and ``experiment_backend`` parts and ``lmforge scaling``.

Kept cheap to import: polars, statsmodels, scipy and torch load only when a part is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from lmforge.core import hookimpl


class LazyClass:
    """Stands in for a class in a heavy module until first use (``.fit``, ``.from_state``, calling)."""

    def __init__(self, module: str, name: str) -> None:
        self._where = (module, name)

    def load(self) -> Any:
        module, name = self._where
        return getattr(importlib.import_module(module), name)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<lazy {'.'.join(self._where)}>"


def surrogate_backend(**options: Any):
    """Known scaling law plus log-normal noise: instant 'runs' for tests and teaching."""
    from .surrogate import SurrogateBackend

    return SurrogateBackend(**options)


def train_backend(**options: Any):
    """Really trains lmforge models with the model package's trainer for exactly a FLOPs budget."""
    from .train_backend import TrainBackend

    return TrainBackend(**options)


@hookimpl
def register_scaling_laws(register):
    register("isoflops", LazyClass("lmforge.scaling.isoflops", "IsoFlopsLaw"),
             description="IsoFLOPs profiles, then OLS power laws N_opt, D_opt ~ C^a (Chinchilla approach 2)")
    register("parametric", LazyClass("lmforge.scaling.parametric", "ParametricLaw"),
             description="L = E + A/N^alpha + B/D^beta by Huber + L-BFGS, bootstrap CIs (approach 3)")


@hookimpl
def register_experiment_backends(register):
    register("surrogate", surrogate_backend)
    register("train", train_backend)


@hookimpl
def register_commands(cli):
    from .cli import scaling_group

    cli.add_command(scaling_group)
