"""GPU figures for the systems kernels (run through tools/gpu/check.sh); ``--smoke`` runs tiny shapes on CPU.

Sections: 1 parity (Triton vs torch references, on the device), 2 RMSNorm bandwidth (bytes moved:
forward reads x and writes y, backward reads x and dy and writes dx; bf16, 32k rows), 3 FlashAttention-2
vs SDPA's flash backend (FLOPs 4*B*H*S^2*D, halved when causal; backward counted as 2.5x forward),
4 fused linear + cross-entropy vs the unfused head (peak memory above the inputs, time for fwd+bwd),
5 end-to-end training step with the kernels, 6 KV-cache generation tokens/s against recomputation.
On CUDA every timing is ``triton.testing.do_bench``'s median (back-to-back calls with the L2 flushed
between them, so launch overhead from an idle GPU is not counted). Targets (H200) are printed beside
the figures. Imports: only what the GPU image has (tools/gpu/image_packages.txt; checked in CI by the
import guard). Writes gpu_check.json under --out (default $OUT, else .bench/gpu); exits 1 if a section
failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

SMOKE = "--smoke" in sys.argv
if SMOKE or not __import__("torch").cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
    SMOKE = True

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DEV = torch.device("cuda" if torch.cuda.is_available() and not SMOKE else "cpu")


def bench(fn, reps: int = 20, warmup: int = 3) -> float:
    """Median seconds per call (``reps`` and ``warmup`` are call counts off CUDA)."""
    if DEV.type == "cuda":
        from triton.testing import do_bench

        # do_bench sizes its repeats from a time budget (ms) and returns the median in ms
        return do_bench(fn, warmup=25, rep=100, return_mode="median") / 1e3
    if SMOKE:
        reps, warmup = 1, 0
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def table(title: str, rows: list[dict]) -> None:
    from lmforge.systems.bench.timing import format_table

    print(f"\n== {title}")
    if rows:
        print(format_table(rows, list(rows[0])))


def err(a, b) -> float:
    return float((a.detach().float() - b.detach().float()).abs().max())


def parity() -> list[dict]:
    from lmforge.systems.kernels.flash2_triton import flash2_triton
    from lmforge.systems.kernels.fused_linear_ce import fused_linear_cross_entropy
    from lmforge.systems.kernels.rmsnorm_torch import RMSNormFunction
    from lmforge.systems.kernels.rmsnorm_triton import RMSNormTritonFunction

    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        for hidden in (96, 1024) if not SMOKE else (40,):
            x = torch.randn(64, hidden, device=DEV, dtype=dtype, requires_grad=True)
            g = torch.randn(hidden, device=DEV, dtype=dtype, requires_grad=True)
            dy = torch.randn_like(x)
            a = torch.autograd.grad(RMSNormTritonFunction.apply(x, g, 1e-5), (x, g), dy)
            b = torch.autograd.grad(RMSNormFunction.apply(x, g, 1e-5), (x, g), dy)
            rows.append({"check": f"rmsnorm {str(dtype)[6:]} D={hidden}", "max_err_dx": err(a[0], b[0]),
                         "max_err_dg": err(a[1], b[1])})
    for dtype in (torch.float32, torch.bfloat16):
        for causal in (False, True):
            for d in (64, 128) if not SMOKE else (16,):
                s = 300 if not SMOKE else 24
                q, k, v = (torch.randn(2, 3, s, d, device=DEV, dtype=dtype, requires_grad=True)
                           for _ in range(3))
                do = torch.randn_like(q)
                out = flash2_triton(q, k, v, is_causal=causal)
                ga = torch.autograd.grad(out, (q, k, v), do)
                qf, kf, vf = (t.detach().float().requires_grad_() for t in (q, k, v))
                ref = F.scaled_dot_product_attention(qf, kf, vf, is_causal=causal)
                gb = torch.autograd.grad(ref, (qf, kf, vf), do.float())
                rows.append({"check": f"flash2 {str(dtype)[6:]} causal={causal} D={d}",
                             "max_err_dx": max(err(out, ref), *(err(x, y) for x, y in zip(ga, gb))),
                             "max_err_dg": None})
    h = torch.randn(256, 64, device=DEV, requires_grad=True)
    w = torch.randn(1000, 64, device=DEV, requires_grad=True)
    t = torch.randint(0, 1000, (256,), device=DEV)
    ga = torch.autograd.grad(fused_linear_cross_entropy(h, w, t, chunk_size=64), (h, w))
    gb = torch.autograd.grad(F.cross_entropy(h @ w.t(), t), (h, w))
    rows.append({"check": "fused CE fp32", "max_err_dx": err(ga[0], gb[0]), "max_err_dg": err(ga[1], gb[1])})
    for r in rows:  # fp32 close to exact; bf16 within its rounding over these sizes
        tol = 0.125 if "bfloat16" in r["check"] else 1e-3
        r["ok"] = all(e is None or e <= tol for e in (r["max_err_dx"], r["max_err_dg"]))
    bad = [r["check"] for r in rows if not r["ok"]]
    if bad:
        table("parity (failing rows below)", rows)
        raise AssertionError(f"parity off tolerance: {', '.join(bad)}")
    return rows


def rmsnorm_bandwidth() -> list[dict]:
    from lmforge.systems.kernels.rmsnorm_triton import RMSNormTritonFunction

    def eager(x, g):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5) * g.float()).to(x.dtype)

    compiled = torch.compile(eager) if DEV.type == "cuda" else eager
    rows = []
    n = 32768 if not SMOKE else 64
    for hidden in (1024, 2048, 4096, 8192) if not SMOKE else (64,):
        x = torch.randn(n, hidden, device=DEV, dtype=torch.bfloat16, requires_grad=True)
        g = torch.ones(hidden, device=DEV, dtype=torch.bfloat16, requires_grad=True)
        dy = torch.randn_like(x)
        fwd_bytes, bwd_bytes = 2 * x.numel() * 2, 3 * x.numel() * 2
        row = {"hidden": hidden}
        for name, fn in (("eager", eager), ("compile", compiled),
                         ("triton", lambda x, g: RMSNormTritonFunction.apply(x, g, 1e-5))):
            with torch.no_grad():
                f = bench(lambda fn=fn, x=x, g=g: fn(x, g))
            both = bench(lambda fn=fn, x=x, g=g, dy=dy: torch.autograd.grad(fn(x, g), (x, g), dy))
            b = max(both - f, 1e-9)
            row[f"{name}_fwd_TBs"] = fwd_bytes / f / 1e12
            row[f"{name}_bwd_TBs"] = bwd_bytes / b / 1e12
        row["triton/eager_fwd"] = row["triton_fwd_TBs"] / row["eager_fwd_TBs"]
        row["triton/compile_fwd"] = row["triton_fwd_TBs"] / row["compile_fwd_TBs"]
        rows.append(row)
    return rows


def flash_vs_sdpa() -> list[dict]:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from lmforge.systems.kernels.flash2_triton import flash2_triton

    rows = []
    heads = 16 if not SMOKE else 1
    for d in (64, 128) if not SMOKE else (16,):
        for s in (1024, 2048, 4096, 8192, 16384) if not SMOKE else (32,):
            for causal in (False, True):
                q, k, v = (torch.randn(1, heads, s, d, device=DEV, dtype=torch.bfloat16, requires_grad=True)
                           for _ in range(3))
                do = torch.randn_like(q)
                flops = 4 * heads * s * s * d / (2 if causal else 1)
                row = {"D": d, "S": s, "causal": causal}

                def sdpa(q, k, v, is_causal):
                    if DEV.type != "cuda":
                        return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)

                for name, fn in (("sdpa", sdpa), ("triton", flash2_triton)):
                    args = (fn, q, k, v, do, causal)

                    def fwd(fn, q, k, v, do, causal):
                        with torch.no_grad():
                            fn(q, k, v, is_causal=causal)

                    def fwd_bwd(fn, q, k, v, do, causal):
                        torch.autograd.grad(fn(q, k, v, is_causal=causal), (q, k, v), do)

                    f = bench(lambda args=args: fwd(*args), reps=10)
                    both = bench(lambda args=args: fwd_bwd(*args), reps=10)
                    row[f"{name}_fwd_TF"] = flops / f / 1e12
                    row[f"{name}_bwd_TF"] = 2.5 * flops / max(both - f, 1e-9) / 1e12
                row["fwd_ratio"] = row["triton_fwd_TF"] / row["sdpa_fwd_TF"]
                row["bwd_ratio"] = row["triton_bwd_TF"] / row["sdpa_bwd_TF"]
                rows.append(row)
    return rows


def fused_ce() -> list[dict]:
    from lmforge.systems.kernels.fused_linear_ce import fused_linear_cross_entropy

    rows = []
    tokens, d = (8192, 2048) if not SMOKE else (64, 32)
    for vocab in (32768, 131072) if not SMOKE else (256,):
        h = torch.randn(tokens, d, device=DEV, dtype=torch.bfloat16, requires_grad=True)
        w = (torch.randn(vocab, d, device=DEV, dtype=torch.bfloat16) * d ** -0.5).requires_grad_()
        t = torch.randint(0, vocab, (tokens,), device=DEV)
        row = {"vocab": vocab, "tokens": tokens, "d": d}
        losses = {"unfused": lambda h, w, t: F.cross_entropy((h @ w.t()).float(), t),
                  "fused": lambda h, w, t: fused_linear_cross_entropy(h, w, t, chunk_size=4096)}
        for name, fn in losses.items():
            def step(fn=fn, h=h, w=w, t=t):
                return torch.autograd.grad(fn(h, w, t), (h, w))

            row[f"{name}_ms"] = bench(step, reps=10) * 1e3
            if DEV.type == "cuda":
                torch.cuda.synchronize()
                base = torch.cuda.memory_allocated()
                torch.cuda.reset_peak_memory_stats()
                step()
                torch.cuda.synchronize()
                row[f"{name}_peak_MiB"] = (torch.cuda.max_memory_allocated() - base) / 2**20
        if DEV.type == "cuda":
            row["mem_saving_x"] = row["unfused_peak_MiB"] / row["fused_peak_MiB"]
        row["time_ratio"] = row["fused_ms"] / row["unfused_ms"]
        rows.append(row)
    return rows


def end_to_end() -> list[dict]:
    from lmforge.systems.bench.model_bench import run_model_bench

    rows = []
    size, ctx = ("small", 1024) if not SMOKE else ("tiny", 16)
    for attention, norm in (("reference", "rmsnorm"), ("torch_sdpa", "rmsnorm"),
                            ("flash2_triton", "rmsnorm_triton")):
        r = run_model_bench(size, ctx, "step", "bf16", attention=attention, norm=norm, warmup=2, steps=5,
                            device=str(DEV), vocab_size=None if not SMOKE else 128,
                            batch=4 if not SMOKE else 1)
        if r["status"] != "ok":
            raise RuntimeError(f"{attention}/{norm}: {r['status']}")
        rows.append({"attention": attention, "norm": norm, "status": r["status"],
                     "step_ms": r.get("median_s", float("nan")) * 1e3})
    base = rows[0]["step_ms"]
    for r in rows:
        r["speedup_vs_reference"] = base / r["step_ms"]
    return rows


def generation() -> list[dict]:
    """Tokens/s of lmforge's generator with its KV cache against full recomputation, greedy, same prompts."""
    from lmforge.model import ModelConfig, TransformerLM
    from lmforge.model.generation import generate

    if SMOKE:
        cfg = ModelConfig(vocab_size=128, context_length=48, d_model=32, num_layers=2, num_heads=2)
        batch, prompt, new = 2, 8, 8
    else:  # GPT-2 small shape, bf16 weights
        cfg = ModelConfig(vocab_size=50304, context_length=1024, d_model=768, num_layers=12, num_heads=12,
                          attention="torch_sdpa")
        batch, prompt, new = 8, 128, 256
    torch.manual_seed(0)
    model = TransformerLM.from_config(cfg).to(DEV).eval()
    if DEV.type == "cuda":
        model = model.to(torch.bfloat16)
    prompts = torch.randint(0, cfg.vocab_size, (batch, prompt)).tolist()
    row = {"batch": batch, "prompt": prompt, "new_tokens": new}
    for name, use_cache in (("kv_cache", True), ("recompute", False)):
        generate(model, prompts, 4, temperature=0, use_cache=use_cache)  # warm-up
        if DEV.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.no_grad():
            generate(model, prompts, new, temperature=0, use_cache=use_cache)
        if DEV.type == "cuda":
            torch.cuda.synchronize()
        row[f"{name}_tokens_per_s"] = batch * new / (time.perf_counter() - t0)
    row["kv_cache_speedup"] = row["kv_cache_tokens_per_s"] / row["recompute_tokens_per_s"]
    return [row]


TARGETS = {
    "rmsnorm_bandwidth": "targets (H200, hidden 4096-8192): triton fwd >= 3.4 TB/s, bwd >= 2.6 TB/s "
                         "(peak ~4.3)",
    "flash_vs_sdpa": "targets: fwd_ratio >= 1.0, bwd_ratio >= 0.7",
    "fused_ce": "targets (vocab >= 32k): mem_saving_x >= 4, time_ratio <= 1.1",
    "end_to_end_step": "no target (speed-up of the Triton kernels in a training step)",
    "generation": "no target (KV cache against recomputation; > 1 expected)",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", default=os.environ.get("OUT") or ".bench/gpu")
    args = ap.parse_args()
    print(f"device={DEV} smoke={SMOKE} torch={torch.__version__}"
          + (f" gpu={torch.cuda.get_device_name()}" if DEV.type == "cuda" else ""))
    results = {}
    sections = (("parity", parity), ("rmsnorm_bandwidth", rmsnorm_bandwidth),
                ("flash_vs_sdpa", flash_vs_sdpa), ("fused_ce", fused_ce), ("end_to_end_step", end_to_end),
                ("generation", generation))
    for name, fn in sections:
        t0 = time.time()
        try:
            results[name] = fn()
            table(f"{name} ({time.time() - t0:.0f} s)", results[name])
            if name in TARGETS:
                print(TARGETS[name])
        except Exception as e:  # one failing section must not hide the others' figures
            results[name] = {"error": f"{type(e).__name__}: {e}"}
            print(f"\n== {name}: FAILED {type(e).__name__}: {e}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\nsaved {out / 'gpu_check.json'}")
    failed = [name for name, r in results.items() if isinstance(r, dict) and "error" in r]
    if failed:
        print(f"FAILED sections: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
