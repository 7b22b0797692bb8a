import json

import pytest
import torch
from click.testing import CliRunner

from lmforge.core.cli import build_cli
from lmforge.systems.bench.attention_bench import run_attention_grid
from lmforge.systems.bench.model_bench import run_model_bench


def test_model_bench_step_with_profile_and_dtype_report(tmp_path):
    r = run_model_bench("tiny", context=16, mode="step", dtype="bf16", warmup=1, steps=2, device="cpu",
                        batch=2, profile=True, out_dir=tmp_path, vocab_size=128)
    assert r["status"] == "ok"
    assert r["median_s"] > 0 and r["n"] == 2 and r["std_s"] >= 0
    assert set(r["peak_bytes"]) == {"forward", "backward", "optimizer_step"}
    assert all(v > 0 for v in r["peak_bytes"].values())
    ops = {(x["op"], x["dtype"]) for x in r["dtype_report"]}
    assert ("bmm", "bfloat16") in ops or ("mm", "bfloat16") in ops or ("matmul", "bfloat16") in ops
    assert any(d == "float32" for _, d in ops)  # the optimizer step stays in fp32
    trace = json.loads((tmp_path / "trace.json").read_text())
    names = {e.get("name") for e in trace["traceEvents"]}
    assert "optimizer_step" in names and any(str(n).startswith("attention:") for n in names)
    assert (tmp_path / "profile_table.txt").read_text().strip()


def test_sizes_that_do_not_fit_are_reported():
    r = run_model_bench("2.7b", context=16384, mode="step", device="cpu")
    assert r["status"].startswith("does not fit")
    assert r["estimate_bytes"]["needed_for_mode"] > 2**30


def test_activation_checkpointing_option_runs():
    r = run_model_bench("tiny", context=16, mode="fwdbwd", warmup=0, steps=1, device="cpu", batch=1,
                        checkpoint_activations=1, vocab_size=64)
    assert r["status"] == "ok" and r["checkpoint_activations"] == 1


def test_cli_bench_writes_json(tmp_path):
    out = tmp_path / "b.json"
    args = ["systems", "bench", "--size", "tiny", "--context", "8", "--mode", "fwd", "--steps", "1",
            "--warmup", "0", "--batch", "1", "--device", "cpu", "--norm", "rmsnorm_torch", "--out", str(out)]
    res = CliRunner().invoke(build_cli(), args)
    assert res.exit_code == 0, res.output
    assert "median_ms" in res.output and json.loads(out.read_text())["status"] == "ok"


def test_attention_grid_rows_and_unsupported_parts():
    rows = run_attention_grid(["flash2_torch", "torch_sdpa"], head_dims=(16,), seq_lens=(32,), batch=1,
                              device="cpu", warmup=0, steps=1)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(r["fwd_ms"] > 0 and r["peak_mb"] > 0 for r in rows)


@pytest.mark.distributed
def test_collective_bench_gloo(tmp_path):
    from lmforge.systems.bench.collective_bench import run_collective_bench

    rows = run_collective_bench((2,), "gloo", sizes_mb=(0.25,), warmup=1, steps=2, workdir=str(tmp_path))
    assert rows[0]["status"] == "ok" and rows[0]["busbw_gbps"] > 0 and rows[0]["world"] == 2


def test_fused_head_is_importable_from_package():
    import lmforge.systems as systems

    h = torch.randn(4, 8)
    w = torch.randn(10, 8)
    t = torch.randint(0, 10, (4,))
    assert torch.isfinite(systems.fused_linear_cross_entropy(h, w, t))


@pytest.mark.distributed
def test_cli_bench_scaleout_tiny(tmp_path):
    """``lmforge systems bench --scaleout`` at tiny sizes: three before/after tables and their JSON."""
    out = tmp_path / "scaleout.json"
    result = CliRunner().invoke(build_cli(), ["systems", "bench", "--scaleout", "--d-model", "16", "--layers",
                                              "1", "--accum", "2", "--steps", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(1) checkpoint memory" in result.output and "(3) our FSDP" in result.output
    r = json.loads(out.read_text())
    gathered = [x for x in r["checkpoint"] if x["figure"] == "MiB gathered per rank"]
    assert {x["backend"] for x in gathered} == {"fsdp", "zero1", "torch_fsdp2"}
    assert all(x["before (full)"] > 0 and x["after (DCP)"] == 0 for x in gathered)  # DCP moves nothing
    comm = {x["backend"]: x for x in r["comm"]}
    assert comm["ddp_overlap"]["ratio"] == pytest.approx(2.0)  # two micro-steps, one sync with no_sync
    assert [x["figure"] for x in r["prefetch"]] == ["step ms (median)", "sync share"]
    assert all(x["before (no prefetch)"] > 0 and x["after (prefetch)"] > 0 for x in r["prefetch"])
