"""Parts that import their module on first use, so ``lmforge plugins`` does not pay for regex/numpy."""

from __future__ import annotations

import importlib


class _LazyClass(type):
    def _real(cls):
        return getattr(importlib.import_module(cls._module), cls._attr)

    def __call__(cls, *args, **kwargs):
        return cls._real()(*args, **kwargs)

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, cls._real())

    def __subclasscheck__(cls, subclass) -> bool:
        return issubclass(subclass, cls._real())

    def __getattr__(cls, name):  # classmethods such as load / from_files / train
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(cls._real(), name)


def lazy_class(module: str, attr: str, doc: str) -> type:
    return _LazyClass(attr, (), {"_module": module, "_attr": attr, "__doc__": doc})
