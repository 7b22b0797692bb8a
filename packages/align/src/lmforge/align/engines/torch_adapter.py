"""Adapting the model package's ``torch`` rollout engine to this package's interface."""

from __future__ import annotations


def adapt_torch_engine(engine, model):
    return engine
