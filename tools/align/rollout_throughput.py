"""Rollout throughput (sampled tokens per second): the ``torch`` engine against HF ``generate``.

Same TransformerLM (the HF engine serves its HF Llama export), same prompts, same sampling settings
(temperature 1, top-p 1, no stop token so every engine emits exactly the same number of tokens).

    nice -n 10 uv run python tools/align/rollout_throughput.py --out .bench/align/throughput.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from lmforge.align.engines.factory import make_rollout_engine
from lmforge.align.rollout import SamplingSettings
from lmforge.model import ModelConfig, TransformerLM


def tokens_per_second(engine, prompts, settings, repeats: int) -> float:
    engine.generate(prompts, SamplingSettings(**{**settings.__dict__, "max_new_tokens": 2}))  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        rollouts = engine.generate(prompts, settings)
        best = min(best, time.perf_counter() - t0)
    return sum(len(r.token_ids) for r in rollouts) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--engines", default="torch,hf")
    ap.add_argument("--out", default=".bench/align/throughput.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ModelConfig(
        vocab_size=args.vocab,
        context_length=args.prompt_len + args.new_tokens,
        d_model=args.d_model,
        num_layers=args.layers,
        num_heads=args.heads,
        num_kv_heads=args.kv_heads,
        attention="torch_sdpa",
    )
    model = TransformerLM.from_config(cfg).to(args.device).eval()
    g = torch.Generator().manual_seed(1)
    prompts = [
        torch.randint(1, args.vocab, (args.prompt_len,), generator=g).tolist() for _ in range(args.prompts)
    ]
    settings = SamplingSettings(
        n=args.n, max_new_tokens=args.new_tokens, temperature=1.0, top_p=1.0, stop_id=None, seed=0
    )
    results = {}
    for name in args.engines.split(","):
        engine = make_rollout_engine(name, model)
        results[name] = tokens_per_second(engine, prompts, settings, args.repeats)
        engine.close()
    ref = results.get("hf")
    print(
        f"{'engine':8} {'tokens/s':>10} {'vs hf':>7}   ({args.device}, {args.prompts}x{args.n} rollouts of "
        f"{args.new_tokens} tokens, d_model={args.d_model}, layers={args.layers})"
    )
    for name, tps in results.items():
        print(f"{name:8} {tps:10.1f} {tps / ref if ref else float('nan'):7.2f}")
    out = {
        "device": args.device,
        "settings": vars(args),
        "tokens_per_s": results,
        "ratio_vs_hf": {k: v / ref for k, v in results.items()} if ref else {},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
