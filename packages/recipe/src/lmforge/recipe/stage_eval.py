"""Stage ``eval``: the report card's numbers.

Validation loss and bits per byte of the pretrained model over the whole held-out tail of the token
file (the split the trainer held out), against the add-one-smoothed unigram baseline of the train
split; held-out task accuracy before SFT, after SFT and after GRPO (the align runs' greedy evals on
the same problems); text samples from the pretrained model and answers of the final policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .plots import plot_accuracy, plot_pretrain_loss
from .stage_sft import evals


@dataclass
class EvalStageConfig:
    prompts: list[str] = field(default_factory=lambda: ["The ", "Return ", "class ", "def "])
    sample_tokens: int = 48
    task_samples: int = 5
    max_val_tokens: int = 200_000  # cap on the held-out tokens scored (the whole split when smaller)


def held_out_loss(run_dir: str, tokens: np.ndarray, split: int, max_tokens: int,
                  device: str) -> tuple[float, int]:
    """(mean next-token cross-entropy in nats, targets scored) over ``tokens[split:]``, in windows."""
    import torch

    from lmforge.model import load_run_model

    model, mcfg = load_run_model(run_dir, device)
    ctx = mcfg.context_length
    val = np.asarray(tokens[split:split + max_tokens + 1], dtype=np.int64)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(val) - 1, ctx * 16):
            chunk = val[start:start + ctx * 16 + 1]
            n = (len(chunk) - 1) // ctx
            if n == 0:
                break
            x = torch.from_numpy(chunk[:n * ctx].reshape(n, ctx)).to(device)
            y = torch.from_numpy(chunk[1:n * ctx + 1].reshape(n, ctx)).to(device)
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum")
            total += float(loss)
            count += y.numel()
    return total / count, count


def run(cfg: EvalStageConfig, results: dict, val_fraction: float, stage_dir: Path, device: str, log) -> dict:
    from lmforge.model import open_tokens
    from lmforge.model.quickstart import unigram_baseline
    from lmforge.tokenize import load_tokenizer

    tok_dir = results["tokenizer"]["outputs"]["tokenizer_dir"]
    tokenizer = load_tokenizer(tok_dir)
    tokens, _ = open_tokens(results["tokenizer"]["outputs"]["tokens"])
    split = int(len(tokens) * (1 - val_fraction))
    pre_run = results["pretrain"]["outputs"]["run_dir"]
    log("scoring the held-out split")
    loss, scored = held_out_loss(pre_run, tokens, split, cfg.max_val_tokens, device)
    scored_ids = np.asarray(tokens[split + 1:split + 1 + scored]).tolist()
    n_bytes = len(tokenizer.decode(scored_ids).encode("utf-8"))
    unigram = unigram_baseline(tokens, val_fraction, tokenizer.vocab_size)
    to_bpb = scored / (n_bytes * math.log(2))
    sft_ev = evals(Path(results["sft"]["outputs"]["run_dir"]))
    grpo_ev = evals(Path(results["grpo"]["outputs"]["run_dir"]))
    acc = {"before SFT": sft_ev[0]["eval_accuracy"], "after SFT": sft_ev[-1]["eval_accuracy"],
           "after GRPO": grpo_ev[-1]["eval_accuracy"]}
    plots = {"pretraining loss": str(plot_pretrain_loss(Path(pre_run), unigram,
                                                        stage_dir / "pretrain_loss.png")),
             "accuracy and reward": str(plot_accuracy(Path(results["sft"]["outputs"]["run_dir"]),
                                                      Path(results["grpo"]["outputs"]["run_dir"]),
                                                      stage_dir / "accuracy_reward.png"))}
    log("sampling")
    samples = {"text": text_samples(pre_run, tokenizer, cfg, device),
               "task": task_samples(results["grpo"]["outputs"]["policy_dir"], results, cfg.task_samples,
                                    device)}
    return {
        "inputs": {"pretrain run": pre_run, "sft run": results["sft"]["outputs"]["run_dir"],
                   "grpo run": results["grpo"]["outputs"]["run_dir"]},
        "outputs": {"plots": list(plots.values())},
        "figures": {
            "held-out tokens scored": scored,
            "val loss (nats/token)": round(loss, 4), "val bits/byte": round(loss * to_bpb, 4),
            "unigram loss (nats/token)": round(unigram, 4), "unigram bits/byte": round(unigram * to_bpb, 4),
            "loss below unigram": f"{100 * (1 - loss / unigram):.1f}%",
            **{f"task accuracy {k}": v for k, v in acc.items()},
        },
        "accuracy": acc,
        "plots": plots,
        "samples": samples,
    }


def text_samples(run_dir: str, tokenizer, cfg: EvalStageConfig, device: str) -> list[str]:
    from lmforge.model import generate, load_run_model

    model, mcfg = load_run_model(run_dir, device)
    prompts = [tokenizer.encode(p) for p in cfg.prompts]
    room = mcfg.context_length - max(map(len, prompts))
    outs = generate(model, prompts, max_new_tokens=min(cfg.sample_tokens, room), temperature=0.8, top_p=0.95,
                    eot_id=tokenizer.eot_id, seed=0)
    eot = tokenizer.eot_id
    return [p + tokenizer.decode([i for i in ids if i != eot]) for p, ids in zip(cfg.prompts, outs)]


def task_samples(policy_dir: str, results: dict, n: int, device: str) -> list[dict]:
    """Greedy answers of the final policy to the first ``n`` held-out problems."""
    from lmforge.align.policy import load_saved_policy
    from lmforge.align.tasks.base import task_problems
    from lmforge.model import generate

    problems = task_problems(results["sft"]["inputs"]["task"], "eval", n, results["_seed"])
    policy = load_saved_policy(policy_dir, device)
    tok = policy.tokenizer
    outs = generate(policy.model, [tok.encode(p.prompt) for p in problems], max_new_tokens=32, temperature=0,
                    eot_id=tok.eot_id)
    return [{"prompt": p.prompt, "answer": p.answer,
             "response": tok.decode([i for i in ids if i != tok.eot_id])} for p, ids in zip(problems, outs)]
