"""Benchmark 1: training-step throughput of TransformerLM against HF LlamaForCausalLM.

Same configuration (Llama: RMSNorm, SwiGLU, RoPE, no biases, untied head), same batch, float32, the
same attention kernel (torch SDPA on both sides), CPU. A step is forward + backward + optimizer
step. Ours uses its own cross-entropy and AdamW (what `lmforge train` runs); HF gets
torch.nn.functional.cross_entropy on its logits and torch.optim.AdamW (foreach). The two models are
timed alternately, so machine load hits both alike; medians reported.

    nice -n 10 uv run python tools/model/bench_train_step.py [--threads 2] [--repeats 7] [--out FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_common import save_json, table  # noqa: E402

SIZES = {
    "small": dict(vocab_size=8192, d_model=256, num_layers=4, num_heads=4, d_ff=704, context_length=256,
                  batch=8),
    "medium": dict(vocab_size=8192, d_model=512, num_layers=6, num_heads=8, d_ff=1408, context_length=256,
                   batch=4),
}


def ours(spec):
    from lmforge.model import AdamW, ModelConfig, TransformerLM, cross_entropy

    torch.manual_seed(0)
    model = TransformerLM.from_config(ModelConfig(
        vocab_size=spec["vocab_size"], context_length=spec["context_length"], d_model=spec["d_model"],
        num_layers=spec["num_layers"], num_heads=spec["num_heads"], d_ff=spec["d_ff"],
        attention="torch_sdpa"))
    opt = AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)

    def step(x, y):
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return model, step


def hf(spec):
    import transformers

    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(
        vocab_size=spec["vocab_size"], hidden_size=spec["d_model"], intermediate_size=spec["d_ff"],
        num_hidden_layers=spec["num_layers"], num_attention_heads=spec["num_heads"],
        num_key_value_heads=spec["num_heads"], max_position_embeddings=spec["context_length"],
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, attention_bias=False,
        mlp_bias=False, attn_implementation="sdpa", use_cache=False)
    model = transformers.LlamaForCausalLM(cfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)

    def step(x, y):
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return model, step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sizes", default="small,medium")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results, rows = [], []
    for name in args.sizes.split(","):
        spec = SIZES[name]
        x = torch.randint(0, spec["vocab_size"], (spec["batch"], spec["context_length"] + 1))
        inputs, targets = x[:, :-1].contiguous(), x[:, 1:].contiguous()
        (m_ours, s_ours), (m_hf, s_hf) = ours(spec), hf(spec)
        n_ours = sum(p.numel() for p in m_ours.parameters())
        n_hf = sum(p.numel() for p in m_hf.parameters())
        assert n_ours == n_hf, (n_ours, n_hf)  # identical architecture
        for s in (s_ours, s_hf):  # warm-up (allocator, optimizer state)
            s(inputs, targets)
            s(inputs, targets)
        t_ours, t_hf, c_ours, c_hf = [], [], [], []
        for _ in range(args.repeats):  # alternate so load changes hit both
            for s, wall, cpu in ((s_ours, t_ours, c_ours), (s_hf, t_hf, c_hf)):
                t, c = time.perf_counter(), time.process_time()
                s(inputs, targets)
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
        tokens = spec["batch"] * spec["context_length"]
        tps_ours, tps_hf = tokens / statistics.median(t_ours), tokens / statistics.median(t_hf)
        # CPU seconds per step: on a shared machine this is steadier than wall time (time slices
        # lost to other processes do not count), and equal to it on an idle one with --threads 1
        cpu_ratio = statistics.median(c_hf) / statistics.median(c_ours)
        results.append({"size": name, **spec, "params": n_ours, "tokens_per_step": tokens,
                        "ours_tokens_per_s": tps_ours, "hf_tokens_per_s": tps_hf, "ratio": tps_ours / tps_hf,
                        "cpu_time_ratio": cpu_ratio, "ours_step_s": t_ours, "hf_step_s": t_hf,
                        "ours_cpu_s": c_ours, "hf_cpu_s": c_hf})
        rows.append([name, f"{n_ours / 1e6:.1f}M", tokens, f"{tps_ours:,.0f}", f"{tps_hf:,.0f}",
                     f"{tps_ours / tps_hf:.2f}x", f"{cpu_ratio:.2f}x"])
    print(f"training step (fwd+bwd+AdamW), float32, SDPA attention, CPU, {args.threads} threads, "
          f"median of {args.repeats}")
    print(table(rows, ["size", "params", "tokens/step", "ours tok/s", "HF Llama tok/s", "ours/HF (wall)",
                       "ours/HF (CPU time)"]))
    path = save_json({"threads": args.threads, "torch": torch.__version__, "results": results},
                     args.out, "model_train_step.json")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
