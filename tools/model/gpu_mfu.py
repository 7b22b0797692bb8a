"""Benchmark 4: training tokens/s and MFU of a GPT-2-small-sized TransformerLM in bf16, eager and compiled.

Runs from a bare checkout on the GPU image (torch, pluggy and click, no lmforge install): it puts the
repo's ``packages/*/src`` on ``sys.path``, so the plugin host resolves the model's parts as usual.

MFU = tokens/s x training FLOPs per token / peak, with FLOPs per token from
``lmforge.model.accounting`` (3 x forward matmul FLOPs, attention counted over the full context as in
the PaLM/nanoGPT formula) and peak = 989 TFLOP/s (H200 bf16 dense) unless ``--peak-tflops`` says
otherwise. A step is forward + backward + fused AdamW under bf16 autocast with fp32 weights.

    python tools/model/gpu_mfu.py                       # on the GPU box: eager and compiled
    python tools/model/gpu_mfu.py --device cpu --tiny   # smoke run

The JSON goes to --out, else $OUT/gpu_mfu.json where $OUT is set (the device machine), else .bench/model/.
Imports: only what the GPU image has (tools/gpu/image_packages.txt; checked in CI by the import guard).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for src in sorted(ROOT.glob("packages/*/src")):
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))

import torch  # noqa: E402

H200_BF16_DENSE_TFLOPS = 989.0

def build_model(cfg, device, dtype=None):
    from lmforge.model import TransformerLM

    return TransformerLM.from_config(cfg, device=device, dtype=dtype)


def run(cfg, args, compiled: bool) -> dict:
    from lmforge.model.accounting import count_parameters, flops_per_token
    from lmforge.model.losses import cross_entropy

    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model(cfg, device)
    fused = device.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1, fused=fused)
    step_model = torch.compile(model) if compiled else model
    amp_dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    x = torch.randint(0, cfg.vocab_size, (args.batch, cfg.context_length + 1), device=device)
    inputs, targets = x[:, :-1], x[:, 1:]

    def step() -> torch.Tensor:
        with torch.autocast(device.type, dtype=amp_dtype, enabled=args.dtype == "bf16"):
            logits = step_model(inputs)
        loss = cross_entropy(logits.float(), targets)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    for _ in range(args.warmup):
        step()
    sync()
    warmup_s = time.perf_counter() - t0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    sync()
    seconds = (time.perf_counter() - t0) / args.steps
    tokens_per_s = args.batch * cfg.context_length / seconds
    flops = flops_per_token(cfg)["total_training"]
    peak = args.peak_tflops * 1e12 if args.peak_tflops else None
    return {
        "compiled": compiled, "step_s": seconds, "tokens_per_s": tokens_per_s,
        "model_tflops": tokens_per_s * flops / 1e12, "mfu": tokens_per_s * flops / peak if peak else None,
        "warmup_s": warmup_s, "final_loss": float(loss.detach()), "params": count_parameters(cfg)["total"],
        "peak_mem_gb": torch.cuda.max_memory_allocated() / 1e9 if device.type == "cuda" else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--attention", default="torch_sdpa", choices=["torch_sdpa", "reference"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", default="both", choices=["both", "on", "off"])
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help=f"default: {H200_BF16_DENSE_TFLOPS} on CUDA (H200 bf16 dense), none on CPU")
    ap.add_argument("--tiny", action="store_true", help="tiny model and batch: a smoke run")
    ap.add_argument("--out", default=None,
                    help="JSON path (default $OUT/gpu_mfu.json, else .bench/model/gpu_mfu[_tiny].json)")
    args = ap.parse_args()
    if args.peak_tflops is None and args.device.startswith("cuda"):
        args.peak_tflops = H200_BF16_DENSE_TFLOPS
    from lmforge.model.config import ModelConfig

    if args.tiny:
        cfg = ModelConfig(vocab_size=512, context_length=64, d_model=64, num_layers=2, num_heads=4,
                          attention=args.attention, tie_embeddings=True)
        args.batch, args.steps, args.warmup = 2, 2, 1
    else:  # GPT-2 small: 12 x 768, 12 heads, tied head, vocabulary padded to a multiple of 64
        cfg = ModelConfig(vocab_size=50304, context_length=args.context, d_model=768, num_layers=12,
                          num_heads=12, attention=args.attention, tie_embeddings=True)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    modes = {"both": [False, True], "on": [True], "off": [False]}[args.compile]
    results = []
    for compiled in modes:
        try:
            results.append(run(cfg, args, compiled))
        except Exception as e:  # a compile failure should not hide the eager figure
            print(f"{'compiled' if compiled else 'eager'} run failed: {type(e).__name__}: {str(e)[:300]}")
            results.append({"compiled": compiled, "error": f"{type(e).__name__}: {str(e)[:300]}"})
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"TransformerLM {cfg.num_layers}x{cfg.d_model}, context {cfg.context_length}, batch {args.batch}, "
          f"{args.dtype}, attention {args.attention}, on {name} (torch {torch.__version__})")
    print(f"{'mode':9s} {'tokens/s':>12s} {'step ms':>9s} {'TFLOP/s':>9s} {'MFU':>7s} {'peak GB':>8s} "
          f"{'loss':>7s}")
    for r in results:
        if "error" in r:
            print(f"{'compiled' if r['compiled'] else 'eager':9s} failed: {r['error']}")
            continue
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
        mem = f"{r['peak_mem_gb']:.1f}" if r["peak_mem_gb"] is not None else "-"
        mode = "compiled" if r["compiled"] else "eager"
        print(f"{mode:9s} {r['tokens_per_s']:12.0f} {r['step_s'] * 1e3:9.1f} {r['model_tflops']:9.2f} "
              f"{mfu:>7s} {mem:>8s} {r['final_loss']:7.3f}")
    ok = [r for r in results if "error" not in r]
    if len(ok) == 2:
        print(f"compiled / eager tokens/s: {ok[1]['tokens_per_s'] / ok[0]['tokens_per_s']:.2f}x")
    print("target: MFU >= 45% (bf16, H200)")
    name_json = "gpu_mfu_tiny.json" if args.tiny else "gpu_mfu.json"
    default_dir = Path(os.environ["OUT"]) if os.environ.get("OUT") else ROOT / ".bench" / "model"
    out = Path(args.out) if args.out else default_dir / name_json
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": name, "torch": torch.__version__, "args": vars(args),
                               "config": cfg.to_dict(), "results": results}, indent=2))
    print(f"saved {out}")
    if len(ok) < len(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
