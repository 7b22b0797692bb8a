"""The budget ledger: charges, free repeats, refusals, and safety across processes."""

import pytest

from lmforge.core import LmforgeError
from lmforge.scaling.experiment import Experiment
from lmforge.scaling.lab import Lab
from lmforge.scaling.ledger import BudgetExceededError, Ledger
from lmforge.scaling.surrogate import SurrogateBackend

SHAPE = dict(vocab_size=256, context_length=32, d_model=32, num_layers=2, num_heads=2)


def test_charge_repeat_and_refuse(tmp_path):
    lab = Lab(SurrogateBackend(noise=0.01), tmp_path / "ledger.sqlite", total_flops=2.5e12)
    exp = Experiment(model=SHAPE, flops=1e12)
    first = lab.run(exp)
    assert not first["cached"] and lab.ledger.spent() == pytest.approx(1e12)
    again = lab.run(exp)
    assert again["cached"] and again["loss"] == first["loss"]
    assert lab.ledger.spent() == pytest.approx(1e12)  # the repeat cost nothing
    lab.run(Experiment(model=SHAPE, flops=1e12, seed=1))  # a different config is a new experiment
    with pytest.raises(BudgetExceededError, match="only 5e\\+11 of the 2.5e\\+12 FLOPs budget remain"):
        lab.run(Experiment(model=SHAPE, flops=1e12, seed=2))
    assert lab.ledger.remaining() == pytest.approx(5e11)
    assert len(lab.results()) == 2


def test_out_of_range_hyperparameters_are_refused_before_charging(tmp_path):
    lab = Lab("surrogate", tmp_path / "l.sqlite", total_flops=1e15)
    for exp, msg in (
        (Experiment(model=SHAPE, flops=1e12, lr=5.0), "lr=5.0 is outside"),
        (Experiment(model=SHAPE, flops=1e12, batch_size=0), "batch_size=0 is outside"),
        (Experiment(model={**SHAPE, "num_heads": 3}, flops=1e12), "not divisible"),
        (Experiment(model={"d_model": 32}, flops=1e12), "lacks"),
        (Experiment(model=SHAPE, flops=1e7), "less than one optimizer step"),
    ):
        with pytest.raises(LmforgeError, match=msg):
            lab.run(exp)
    assert lab.ledger.spent() == 0


def test_failed_run_is_refunded(tmp_path):
    class Broken(SurrogateBackend):
        def run(self, exp):
            raise RuntimeError("boom")

    lab = Lab(Broken(), tmp_path / "l.sqlite", total_flops=1e13)
    with pytest.raises(RuntimeError):
        lab.run(Experiment(model=SHAPE, flops=1e12))
    assert lab.ledger.spent() == 0


def test_ledger_total_is_fixed_once_created(tmp_path):
    Ledger(tmp_path / "l.sqlite", 1e12)
    with pytest.raises(LmforgeError, match="already has a total"):
        Ledger(tmp_path / "l.sqlite", 2e12)
    with pytest.raises(LmforgeError, match="needs a total"):
        Ledger(tmp_path / "new.sqlite")


WORKER = """
import json, sys
from lmforge.scaling.experiment import Experiment
from lmforge.scaling.lab import Lab
from lmforge.scaling.ledger import BudgetExceededError
from lmforge.scaling.surrogate import SurrogateBackend
lab = Lab(SurrogateBackend(), sys.argv[1])
out = []
for s in range(8):
    try:
        out.append(["ok", lab.run(Experiment(model=json.loads(sys.argv[2]), flops=1e12, seed=s))["cached"]])
    except BudgetExceededError:
        out.append(["refused", None])
print(json.dumps(out))
"""


def test_processes_share_the_budget_without_overspending(tmp_path):
    import json
    import subprocess
    import sys

    path = tmp_path / "shared.sqlite"
    Ledger(path, total_flops=5e12)  # room for exactly five distinct experiments
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), json.dumps(SHAPE)],
                              stdout=subprocess.PIPE, text=True) for _ in range(3)]
    results = [r for p in procs for r in json.loads(p.communicate(timeout=300)[0])]
    ledger = Ledger(path)
    assert ledger.spent() <= 5e12 * (1 + 1e-12)
    assert len(ledger.results()) == 5
    assert sum(1 for status, cached in results if status == "ok" and not cached) == 5
    assert sum(1 for status, _ in results if status == "refused") == 3 * 8 - 5 - sum(
        1 for status, cached in results if status == "ok" and cached)
