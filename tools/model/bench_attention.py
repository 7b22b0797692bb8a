"""Benchmark 3: the ``reference`` attention part against ``torch_sdpa``, across context lengths.

For each context length: forward time, forward+backward time (median), and the bytes autograd keeps
for backward (counted exactly with saved-tensor hooks: the reference keeps the seq x seq score and
probability matrices, the fused kernel does not). On CUDA the peak allocated memory is reported too.

    nice -n 10 uv run python tools/model/bench_attention.py [--contexts 128,256,512,1024,2048] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_common import median_time, save_json, table  # noqa: E402


def saved_bytes(fn, *inputs) -> int:
    seen: dict[int, int] = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*inputs)
    input_ptrs = {t.untyped_storage().data_ptr() for t in inputs}
    return sum(b for p, b in seen.items() if p not in input_ptrs)  # q, k, v exist anyway


def main() -> None:
    from lmforge.model.attention import scaled_dot_product_attention, torch_sdpa

    ap = argparse.ArgumentParser()
    ap.add_argument("--contexts", default="128,256,512,1024,2048")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    impls = {"reference": scaled_dot_product_attention, "torch_sdpa": torch_sdpa}
    results, rows = [], []
    for ctx in map(int, args.contexts.split(",")):
        shape = (args.batch, args.heads, ctx, args.head_dim)
        q, k, v = (torch.randn(shape, device=args.device, requires_grad=True) for _ in range(3))
        entry = {"context": ctx}
        for name, fn in impls.items():
            def fwd(fn=fn, q=q, k=k, v=v):
                with torch.no_grad():
                    fn(q, k, v, is_causal=True)
                if args.device == "cuda":
                    torch.cuda.synchronize()

            def fwd_bwd(fn=fn, q=q, k=k, v=v):
                fn(q, k, v, is_causal=True).sum().backward()
                if args.device == "cuda":
                    torch.cuda.synchronize()

            entry[f"{name}_fwd_ms"] = 1e3 * median_time(fwd, args.repeats)
            entry[f"{name}_fwd_bwd_ms"] = 1e3 * median_time(fwd_bwd, args.repeats)
            causal = lambda a, b, c, fn=fn: fn(a, b, c, is_causal=True)
            entry[f"{name}_saved_mb"] = saved_bytes(causal, q, k, v) / 2**20
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
                fwd_bwd()
                entry[f"{name}_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        results.append(entry)
        rows.append([ctx, f"{entry['reference_fwd_bwd_ms']:.1f}", f"{entry['torch_sdpa_fwd_bwd_ms']:.1f}",
                     f"{entry['reference_fwd_bwd_ms'] / entry['torch_sdpa_fwd_bwd_ms']:.2f}x",
                     f"{entry['reference_saved_mb']:.1f}", f"{entry['torch_sdpa_saved_mb']:.1f}"])
    print(f"causal attention fwd+bwd, batch {args.batch}, {args.heads} heads x {args.head_dim}, float32, "
          f"{args.device}, median of {args.repeats}")
    print(table(rows, ["context", "reference ms", "torch_sdpa ms", "sdpa speed-up", "reference saved MB",
                       "sdpa saved MB"]))
    path = save_json({"device": args.device, "args": vars(args), "results": results}, args.out,
                     "model_attention.json")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
