"""The typed config of ``lmforge scaling sweep`` (``--config sweep.toml``, ``--set key=value``).

Example::

    budgets = [1e10, 3e10, 1e11]
    sizes = [5]                                   # one value under 100: that many sizes per budget
    backend = {name = "surrogate", noise = 0.01}  # an experiment_backend part and its options
    ledger = "scaling_ledger.sqlite"
    out = "runs/scaling"

The command's flags (``--budgets``, ``--backend``, ...) set the same fields and win over the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmforge.core import PartRef

SAVED_NAME = "sweep.toml"  # the resolved config, in the sweep directory; --resume DIR reads it


@dataclass
class SweepConfig:
    budgets: list[float] = field(default_factory=list)  # FLOPs budgets
    sizes: list[float] = field(default_factory=lambda: [5.0])  # a count, or explicit non-embedding N
    span: float = 16.0  # largest / smallest N within a budget
    backend: PartRef = field(default_factory=lambda: PartRef("train"))  # experiment_backend part
    data: str = ""  # token file to train on (train backend)
    ledger: str = "scaling_ledger.sqlite"
    total_flops: float | None = None  # total budget of a new ledger
    out: str = "runs/scaling"  # run directories and runs.csv; locked while the sweep runs
    vocab_size: int = 256
    context_length: int = 64
    batch_size: int = 16
    lr: float = 3e-3
    tokens_per_param: float = 20.0  # centre of each budget's size range: N = sqrt(C / (6 * this))

    def size_spec(self) -> int | list[float]:
        """A single value under 100 is a count of sizes per budget; anything else lists N targets."""
        return int(self.sizes[0]) if len(self.sizes) == 1 and self.sizes[0] < 100 else list(self.sizes)
