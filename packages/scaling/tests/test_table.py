import json

import polars as pl
import pytest

from lmforge.core import JsonlLogger, LmforgeError
from lmforge.scaling.table import check_losses, load_runs, nominal_budget


def test_csv_with_chinchilla_columns_derives_tokens(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("parameters,compute_budget,final_loss\n1e6,6e12,3.1\n2e6,6e12,3.0\n")
    t = load_runs([path])
    assert t.columns[:7] == ["name", "params", "params_total", "tokens", "flops", "budget", "loss"]
    assert t["tokens"].to_list() == pytest.approx([1e6, 5e5])  # D = C / (6N)
    assert t["flops"].to_list() == [6e12, 6e12]
    assert t["params_total"].to_list() == t["params"].to_list()


def test_json_runs_with_tokens_compute_flops_by_6nd(tmp_path):
    path = tmp_path / "runs.json"
    path.write_text(json.dumps({"runs": [{"params": 100, "tokens": 1000, "loss": 4.0, "lr": 0.01}]}))
    t = load_runs([path])
    assert t["flops"][0] == 6e5 and t["budget"][0] == 6e5 and t["lr"][0] == 0.01


def test_bad_values_are_clear_errors(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("parameters,final_loss\n1e6,3.1\n")
    with pytest.raises(LmforgeError, match="tokens or a compute budget"):
        load_runs([path])
    path.write_text("parameters,compute_budget,final_loss\n1e6,1e12,nan\n2e6,1e12,-1\n")
    with pytest.raises(LmforgeError, match="non-positive or NaN loss"):
        check_losses(load_runs([path]))
    with pytest.raises(LmforgeError, match="not found"):
        load_runs([tmp_path / "missing.csv"])


def test_nominal_budget_groups_nearby_compute():
    assert nominal_budget(1.02e14) == pytest.approx(1e14)
    assert nominal_budget(2.96e13) == pytest.approx(3e13)


def test_run_directory_uses_exact_accounting(tmp_path):
    from lmforge.model import ModelConfig
    from lmforge.model.accounting import count_parameters, training_flops

    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "config.toml").write_text(
        "[model]\nvocab_size = 256\ncontext_length = 32\nd_model = 32\nnum_layers = 2\nnum_heads = 2\n"
        "[train]\nbatch_size = 4\nmax_flops = 1e9\n[optimizer]\nlr = 0.003\n")
    log = JsonlLogger(run)
    for step in range(1, 11):
        log.log(step, loss=5.0 - 0.1 * step, tokens=step * 128)
    log.log(10, val_loss=4.2, tokens=1280)
    log.close()
    (run / "summary.json").write_text('{"status": "completed"}')
    unfinished = tmp_path / "runs" / "r2"
    unfinished.mkdir()
    (unfinished / "config.toml").write_text((run / "config.toml").read_text())
    (unfinished / "metrics.jsonl").write_text('{"step": 1, "train_loss": 9.0}\n')
    with pytest.warns(UserWarning, match="skipped 1 run"):
        t = load_runs([tmp_path / "runs"])  # a folder of run directories; r2 is still training
    assert t.height == 1
    cfg = ModelConfig(vocab_size=256, context_length=32, d_model=32, num_layers=2, num_heads=2)
    counts = count_parameters(cfg)
    row = t.row(0, named=True)
    assert row["params"] == counts["non_embedding"] and row["params_total"] == counts["total"]
    assert row["tokens"] == 1280 and row["flops"] == pytest.approx(training_flops(cfg, 1280))
    assert row["loss"] == 4.2 and row["budget"] == 1e9 and row["lr"] == 0.003 and row["batch_size"] == 4
    assert isinstance(t, pl.DataFrame)
