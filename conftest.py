"""Workspace-wide pytest setup: Triton's CPU interpreter where CUDA is absent, and the ``gpu`` marker
skips cleanly there."""

import os

import pytest


def _set_triton_interpreter() -> None:
    """``triton.jit`` reads TRITON_INTERPRET when it decorates, and triton's own language helpers are
    decorated when triton is first imported, which any test module may cause (``torch.utils.flop_counter``
    imports it). So the interpreter is chosen here, before any test module is collected."""
    try:
        import torch
    except ImportError:  # a torch-free environment (lmforge-tokenize alone) runs no kernels
        return
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")


_set_triton_interpreter()


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if any("gpu" in item.keywords for item in items) and not _cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU (none on this machine)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
