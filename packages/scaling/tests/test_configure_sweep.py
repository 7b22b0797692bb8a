"""From a fitted law to a model shape; IsoFLOPs sweeps on the surrogate backend; the train backend."""

import pytest

from lmforge.model import ModelConfig
from lmforge.model.accounting import count_parameters
from lmforge.scaling.configure import search_shape
from lmforge.scaling.experiment import Experiment
from lmforge.scaling.isoflops import IsoFlopsLaw
from lmforge.scaling.known_law import KnownLaw
from lmforge.scaling.lab import Lab
from lmforge.scaling.parametric import ParametricLaw
from lmforge.scaling.surrogate import SurrogateBackend
from lmforge.scaling.sweep import plan_sweep, run_sweep


@pytest.mark.parametrize("target", [3e4, 1e6, 5e7])
def test_shape_search_hits_the_target_within_three_percent(target):
    cfg, counts = search_shape(target, vocab_size=512, context_length=128)
    real = count_parameters(ModelConfig(**cfg))
    assert real["non_embedding"] == counts["non_embedding"]
    assert abs(real["non_embedding"] / target - 1) < 0.03
    assert cfg["d_model"] % cfg["num_heads"] == 0 and 2 * cfg["d_model"] <= cfg["d_ff"] <= 4 * cfg["d_model"]


def test_surrogate_sweep_fit_and_configure(tmp_path):
    truth = KnownLaw()
    lab = Lab(SurrogateBackend(law=truth, noise=0.003), tmp_path / "l.sqlite", total_flops=1e20)
    budgets = (1e14, 1e15, 1e16, 1e17)
    plan = plan_sweep(budgets, sizes=7, span=10, vocab_size=256, context_length=64, lr=2e-3,
                      center=lambda c: truth.optimal(c)[0])
    assert {e.flops for e in plan} == set(budgets)
    table = run_sweep(lab, plan, progress=False)
    assert table.height == len(plan) and lab.ledger.spent() == pytest.approx(sum(e.flops for e in plan))
    iso = IsoFlopsLaw.fit(table)
    assert iso.summary()["a"]["value"] == pytest.approx(truth.a, abs=0.05)
    law = ParametricLaw.fit(table, bootstrap=0)
    assert law.summary()["a"]["value"] == pytest.approx(truth.a, abs=0.05)
    conf = law.configure(1e18)
    assert abs(conf.relative_error) < 0.03
    assert conf.model["vocab_size"] == 256 and conf.model["context_length"] == 64
    assert conf.lr == pytest.approx(2e-3) and conf.batch_size == 16
    assert conf.tokens == pytest.approx(law.optimal(1e18).tokens.value, rel=0.35)  # exact FLOPs vs 6ND
    # rerunning the sweep costs nothing: every run is answered from the ledger
    spent = lab.ledger.spent()
    assert run_sweep(lab, plan, progress=False).height == len(plan) and lab.ledger.spent() == spent


def _token_file(tmp_path):
    import json

    import numpy as np

    text = ("def add(a, b):\n    return a + b\n\n" * 400).encode()
    path = tmp_path / "tokens.bin"
    np.frombuffer(text, dtype=np.uint8).astype(np.uint16).tofile(path)
    (tmp_path / "tokens.bin.json").write_text(json.dumps({"dtype": "uint16", "count": len(text),
                                                          "vocab_size": 256, "eot_id": None}))
    return path


def test_train_backend_trains_for_the_budget_and_records_the_run(tmp_path):
    from lmforge.model.accounting import training_flops
    from lmforge.scaling.train_backend import TrainBackend

    backend = TrainBackend(data=_token_file(tmp_path), out=tmp_path / "runs", eval_batches=2)
    lab = Lab(backend, tmp_path / "l.sqlite", total_flops=1e9)
    model = dict(vocab_size=256, context_length=16, d_model=16, num_layers=1, num_heads=2, d_ff=48)
    exp = Experiment(model=model, flops=1e8, batch_size=4, lr=1e-2)
    row = lab.run(exp)
    steps = backend.steps(exp)
    assert row["tokens"] == steps * 4 * 16
    assert row["flops"] == pytest.approx(training_flops(ModelConfig(**model), row["tokens"]))
    assert 1e8 <= row["flops"] < 1e8 + training_flops(ModelConfig(**model), 4 * 16)  # within one step
    assert 0 < row["loss"] < 6 and row["budget"] == 1e8
    assert lab.ledger.spent() == pytest.approx(row["flops"])
    assert lab.run(exp)["cached"]
