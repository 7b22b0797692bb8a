"""Attention grid: every registered attention part over head dim x sequence length, forward and
backward time and peak memory, batch 8 and one head by default (as in the assignment). Out-of-memory
and unsupported cases (a Triton part without CUDA) are rows with a status, not crashes."""

from __future__ import annotations

import torch

from .memory import peak_bytes, reset_peak
from .model_bench import is_oom, resolve_device
from .tensor_memory import LiveTensorBytes
from .timing import summarize, synchronize, time_calls

HEAD_DIMS = (16, 32, 64, 128)
SEQ_LENS = (256, 1024, 4096, 8192, 16384)


def attention_flops(batch: int, heads: int, seq: int, head_dim: int, causal: bool) -> float:
    """Forward FLOPs: 4 * B * H * S^2 * D (QK^T and PV), halved when causal."""
    f = 4.0 * batch * heads * seq * seq * head_dim
    return f / 2 if causal else f


def bench_case(fn, batch, heads, seq, head_dim, dtype, device, causal, warmup, steps) -> dict:
    q, k, v = (torch.randn(batch, heads, seq, head_dim, device=device, dtype=dtype, requires_grad=True)
               for _ in range(3))
    row = {}
    fwd = time_calls(lambda: fn(q, k, v, is_causal=causal), device, warmup, steps)
    row["fwd_ms"] = summarize(fwd)["median_s"] * 1e3
    out = fn(q, k, v, is_causal=causal)
    d_out = torch.randn_like(out)
    del out

    def fwd_bwd():
        o = fn(q, k, v, is_causal=causal)
        o.backward(d_out)
        q.grad = k.grad = v.grad = None

    # backward alone = (forward + backward) - forward, as the retained graph can be used only once
    both = time_calls(fwd_bwd, device, warmup, steps)
    row["fwd_bwd_ms"] = summarize(both)["median_s"] * 1e3
    row["bwd_ms"] = max(row["fwd_bwd_ms"] - row["fwd_ms"], 0.0)
    if device.type == "cuda":
        reset_peak(device)
        fwd_bwd()
        synchronize(device)
        row["peak_mb"] = (peak_bytes(device) or 0) / 2**20
    else:  # tensor bytes the call allocates on top of q, k, v and dO
        with LiveTensorBytes() as tracker:
            fwd_bwd()
        row["peak_mb"] = tracker.peak / 2**20
    flops = attention_flops(batch, heads, seq, head_dim, causal)
    row["fwd_tflops"] = flops / (row["fwd_ms"] * 1e-3) / 1e12
    # backward ~2.5x the forward's FLOPs; a difference lost in timing noise gives no figure
    row["bwd_tflops"] = 2.5 * flops / (row["bwd_ms"] * 1e-3) / 1e12 if row["bwd_ms"] > 0.05 * row["fwd_ms"] \
        else None
    return row


def run_attention_grid(parts: list[str] | None = None, head_dims=HEAD_DIMS, seq_lens=SEQ_LENS, batch: int = 8,
                       heads: int = 1, dtype: str = "fp32", causal: bool = True, device: str = "auto",
                       warmup: int = 2, steps: int = 5) -> list[dict]:
    from lmforge.core import get_part, part_names

    dev = resolve_device(device)
    tdtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    rows = []
    for name in parts or sorted(part_names("attention")):
        fn = get_part("attention", name)
        for d in head_dims:
            for s in seq_lens:
                row = {"attention": name, "head_dim": d, "seq": s, "dtype": dtype, "causal": causal}
                try:
                    row.update(bench_case(fn, batch, heads, s, d, tdtype, dev, causal, warmup, steps))
                    row["status"] = "ok"
                except Exception as e:
                    if is_oom(e):
                        row["status"] = "OOM"
                    elif "CUDA" in str(e) or "Triton" in str(e):
                        row["status"] = "unsupported here (needs CUDA or TRITON_INTERPRET=1)"
                    else:
                        raise
                finally:
                    if dev.type == "cuda":
                        torch.cuda.empty_cache()
                rows.append(row)
    return rows
