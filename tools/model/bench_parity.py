"""Benchmark 2: training-result parity of our trainer against a minimal torch loop.

Same token data (the quickstart's ``small`` corpus), seed, model init, batches, learning-rate
schedule, clipping and validation batches. Ours: ``lmforge.model.train`` (our AdamW, our
cross-entropy). Reference: a 30-line loop with ``torch.optim.AdamW`` and
``torch.nn.functional.cross_entropy``. Target: final validation loss within 1%.

    nice -n 10 uv run python tools/model/bench_parity.py [--steps 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from bench_common import save_json, table  # noqa: E402


def reference_loop(cfg) -> list[tuple[int, float]]:
    from lmforge.model import TransformerLM, cosine_lr, get_batch
    from lmforge.model.train_setup import load_data

    train, val, _ = load_data(cfg)
    ctx, bs, steps = cfg.model.context_length, cfg.train.batch_size, cfg.train.max_steps
    torch.manual_seed(cfg.seed)
    model = TransformerLM.from_config(cfg.model)
    o = cfg.optimizer
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, betas=tuple(o.betas), eps=o.eps,
                            weight_decay=o.weight_decay)
    data_rng = np.random.default_rng([cfg.seed, 0])
    val_rng = np.random.default_rng([cfg.seed, 1_000_003])
    val_batches = [get_batch(val, bs, ctx, "cpu", generator=val_rng) for _ in range(cfg.train.eval_batches)]
    curve = []
    for step in range(steps):
        lr = cosine_lr(step, o.lr, o.lr * cfg.schedule.min_lr_ratio, cfg.schedule.warmup_steps, steps)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = get_batch(train, bs, ctx, "cpu", generator=data_rng)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if (step + 1) % cfg.train.eval_every == 0 or step + 1 == steps:
            model.eval()
            with torch.no_grad():
                total = sum(F.cross_entropy(model(vx).flatten(0, 1), vy.flatten(), reduction="sum").item()
                            for vx, vy in val_batches)
            model.train()
            curve.append((step + 1, total / (len(val_batches) * bs * ctx)))
    return curve


def main() -> None:
    from lmforge.core import load_config, read_metrics
    from lmforge.model import train
    from lmforge.model.quickstart import prepare_data
    from lmforge.model.train_config import TrainConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=".bench/parity")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok_dir, tokens = prepare_data("small", Path(args.work) / "data")
    from lmforge.tokenize import load_tokenizer

    vocab = load_tokenizer(tok_dir).vocab_size
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(TrainConfig, data={
            "model": {"vocab_size": vocab, "context_length": 64, "d_model": 64, "num_layers": 2,
                      "num_heads": 4},
            "data": {"train_path": str(tokens)},
            "optimizer": {"lr": 3e-3},
            "schedule": {"warmup_steps": args.steps // 10},
            "train": {"max_steps": args.steps, "batch_size": 16, "eval_every": args.steps // 3,
                      "eval_batches": 8, "log_every": 50, "checkpoint_every": args.steps},
            "run_dir": str(Path(tmp) / "run"), "device": "cpu", "progress": False})
        run = train(cfg)
        ours = [(r["step"], r["val_loss"]) for r in read_metrics(run) if "val_loss" in r]
    ref = reference_loop(cfg)
    rows = [[s, f"{a:.4f}", f"{b:.4f}", f"{100 * (a - b) / b:+.3f}%"] for (s, a), (_, b) in zip(ours, ref)]
    rel = abs(ours[-1][1] - ref[-1][1]) / ref[-1][1]
    print(f"validation loss, our trainer vs torch.optim.AdamW + F.cross_entropy loop ({args.steps} steps)")
    print(table(rows, ["step", "ours", "torch loop", "difference"]))
    print(f"final relative difference {100 * rel:.3f}% (target < 1%): {'met' if rel < 0.01 else 'NOT met'}")
    assert math.isfinite(rel)
    path = save_json({"steps": args.steps, "ours": ours, "torch": ref, "final_rel_diff": rel}, args.out,
                     "model_parity.json")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
