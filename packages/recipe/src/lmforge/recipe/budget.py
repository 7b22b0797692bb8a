"""Which scaling law sizes the pretraining run, and the FLOPs budget for ``--minutes``.

The default law is Chinchilla's published parametric fit (Hoffmann et al. 2022, approach 3:
E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), loaded into the scaling package's ``parametric``
law part. A path instead names a law saved by ``lmforge scaling fit --out`` (e.g. a fit to this
project's own CPU sweep, ``tools/scaling/cpu_sweep.py``); the scaling package ships no measured fit.
"""

from __future__ import annotations

import math
from pathlib import Path

from lmforge.core import ConfigError, get_part

CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def load_scaling_law(name: str):
    """``(law, description)`` for ``"chinchilla"`` or the path of a saved fit."""
    if name == "chinchilla":
        c = CHINCHILLA
        theta = [math.log(c["E"]), math.log(c["A"]), math.log(c["B"]), c["alpha"], c["beta"]]
        law = get_part("scaling_law", "parametric").from_state({"theta": theta})
        desc = ("Chinchilla parametric law L = E + A/N^alpha + B/D^beta, Hoffmann et al. 2022 approach 3 "
                "(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), published constants")
        return law, desc
    path = Path(name)
    if not path.is_file():
        raise ConfigError(f"pretrain.law must be 'chinchilla' or a saved fit (JSON), got {name!r}")
    from lmforge.scaling.law import load_law

    law = load_law(path)
    return law, f"{law.method} law fitted to the runs saved in {path}"


def shape_for_budget(law, compute: float, vocab_size: int, context_length: int, aspect: float):
    """The scaling package's ``configure``: N_opt from the law, a concrete shape, tokens for ``compute``."""
    from lmforge.scaling.configure import configure

    if not compute > 0:
        raise ConfigError(f"the pretraining budget must be positive, got {compute} FLOPs")
    return configure(law, compute, vocab_size=vocab_size, context_length=context_length, aspect=aspect)
