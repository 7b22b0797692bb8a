"""Generation throughput on CPU: our generator with and without the KV cache, and HF ``generate``.

The same random weights run through ``lmforge.model.generate`` (KV cache, and full recomputation each
step) and, exported with ``export_hf_llama``, through ``transformers.LlamaForCausalLM.generate``
(its own KV cache), greedy, same prompts, no early stop. Prints tokens/s and the ratios; saves JSON.

    nice -n 10 uv run python tools/model/bench_generation.py [--quick] [--out .bench/model/generation.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from lmforge.model import ModelConfig, TransformerLM
from lmforge.model.generation import generate
from lmforge.model.hf_llama import export_hf_llama


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations and lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="tiny shapes, one repeat (a smoke run)")
    ap.add_argument("--out", default=".bench/model/generation.json")
    args = ap.parse_args()
    if args.quick:
        args.d_model, args.layers, args.heads, args.vocab = 64, 2, 4, 512
        args.prompt_len, args.new_tokens, args.repeats = 16, 16, 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    context = args.prompt_len + args.new_tokens
    cfg = ModelConfig(vocab_size=args.vocab, context_length=context, d_model=args.d_model,
                      num_layers=args.layers, num_heads=args.heads)
    model = TransformerLM.from_config(cfg).eval()
    prompts = torch.randint(0, args.vocab, (args.batch, args.prompt_len)).tolist()
    new_tokens = args.batch * args.new_tokens

    rows = {}
    for name, use_cache in (("lmforge (KV cache)", True), ("lmforge (recompute)", False)):
        t = best_time(lambda uc=use_cache: generate(model, prompts, args.new_tokens, temperature=0,
                                                     use_cache=uc), args.repeats)
        rows[name] = new_tokens / t

    ours = generate(model, prompts, args.new_tokens, temperature=0)
    try:
        import transformers

        with tempfile.TemporaryDirectory() as tmp:
            export_hf_llama(model, tmp)
            hf = transformers.LlamaForCausalLM.from_pretrained(tmp, attn_implementation="sdpa").eval()
        x = torch.tensor(prompts)
        kw = dict(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, do_sample=False,
                  use_cache=True, pad_token_id=0, attention_mask=torch.ones_like(x))
        with torch.no_grad():
            t = best_time(lambda: hf.generate(x, **kw), args.repeats)
            hf_ids = hf.generate(x, **kw)[:, args.prompt_len:].tolist()
        rows["transformers generate (KV cache)"] = new_tokens / t
        same = sum(a == b for a, b in zip(ours, hf_ids))
    except ImportError:
        same = None

    ref = rows.get("transformers generate (KV cache)")
    print(f"generation, CPU ({args.threads} thread), batch {args.batch}, prompt {args.prompt_len}, "
          f"{args.new_tokens} new tokens, d_model {args.d_model}, {args.layers} layers, vocab {args.vocab}")
    print(f"{'engine':36s} {'tokens/s':>10s} {'vs recompute':>13s} {'vs HF':>8s}")
    for name, tps in rows.items():
        vs_hf = f"{tps / ref:.2f}x" if ref else "-"
        print(f"{name:36s} {tps:10.1f} {tps / rows['lmforge (recompute)']:12.2f}x {vs_hf:>8s}")
    if same is not None:
        print(f"greedy sequences identical to HF's: {same}/{args.batch}")
    result = {"config": vars(args), "tokens_per_s": rows, "greedy_identical_to_hf": same,
              "kv_cache_speedup": rows["lmforge (KV cache)"] / rows["lmforge (recompute)"],
              "torch": torch.__version__, "machine": platform.processor() or platform.machine()}
    if ref:
        result["ratio_vs_hf"] = rows["lmforge (KV cache)"] / ref
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
