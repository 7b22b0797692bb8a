"""Stage ``pretrain``: a compute-optimal TransformerLM for the budget, trained to exactly that budget.

The budget is ``budget_flops``, or ``minutes`` of this machine: a short calibration run of the
configured shape measures training FLOP/s, the budget becomes FLOP/s x seconds, and the shape is
configured again for it. The trained weights are also saved as an align policy folder (weights,
model config, tokenizer), the seam the SFT stage starts from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.core import LmforgeError, PartRef, load_config, read_metrics

from .budget import load_scaling_law, shape_for_budget


@dataclass
class PretrainStageConfig:
    budget_flops: float | None = None  # training FLOPs (forward + backward, exact accounting)
    minutes: float | None = None  # used when budget_flops is unset: this machine's FLOP/s x minutes
    law: str = "chinchilla"  # "chinchilla" (published) or the path of a saved fit
    aspect: float = 64.0  # d_model / num_layers that configure aims for
    context_length: int = 128
    batch_size: int = 16
    lr: float = 3e-3
    warmup_fraction: float = 0.05
    evals: int = 5  # validation points along the run
    eval_batches: int = 16
    val_fraction: float = 0.05
    attention: PartRef = field(default_factory=lambda: PartRef("torch_sdpa"))  # the model's attention part
    dtype: str = "float32"  # compute dtype: float32 | bfloat16 (autocast, for GPUs)
    calibration_steps: int = 12


def train_config(cfg: PretrainStageConfig, model: dict, tokens: str, tok_dir: str, out: Path, name: str,
                 seed: int, device: str, steps_hint: int, **budget):
    from lmforge.model import TrainConfig

    return load_config(TrainConfig, data={
        "model": {**model, "attention": cfg.attention},
        "data": {"train_path": tokens, "tokenizer_dir": tok_dir, "val_fraction": cfg.val_fraction},
        "optimizer": {"lr": cfg.lr, "weight_decay": 0.1},
        "schedule": {"warmup_steps": max(1, int(cfg.warmup_fraction * steps_hint))},
        "train": {"max_steps": None, **budget, "batch_size": cfg.batch_size,
                  "eval_every": max(1, steps_hint // max(cfg.evals, 1)), "eval_batches": cfg.eval_batches,
                  "log_every": max(1, min(10, steps_hint // 4)), "checkpoint_every": max(1, steps_hint // 4)},
        "out": str(out), "name": name, "device": device, "dtype": cfg.dtype, "seed": seed, "progress": True,
    })


def measured_flops_per_s(cfg: PretrainStageConfig, conf, tokens: str, tok_dir: str, stage_dir: Path,
                         seed: int, device: str) -> float:
    """Training FLOP/s of ``conf``'s shape over the second half of a short run."""
    from lmforge.model import flops_per_token, train

    steps = cfg.calibration_steps
    tc = train_config(cfg, conf.model, tokens, tok_dir, stage_dir, f"calibrate-{conf.params}", seed, device,
                      steps, max_steps=steps)
    tc.train.log_every, tc.train.eval_every = max(1, steps // 2), 10 * steps
    run = train(tc)
    rates = [r["tokens_per_s"] for r in read_metrics(run) if "tokens_per_s" in r]
    return rates[-1] * flops_per_token(tc.model)["total_training"]


def run(cfg: PretrainStageConfig, tok: dict, stage_dir: Path, seed: int, device: str, log) -> dict:
    from lmforge.model import flops_per_token, train
    from lmforge.tokenize import load_tokenizer

    tokens, tok_dir = tok["outputs"]["tokens"], tok["outputs"]["tokenizer_dir"]
    vocab = load_tokenizer(tok_dir).vocab_size
    law, law_desc = load_scaling_law(cfg.law)
    shape = lambda c: shape_for_budget(law, c, vocab, cfg.context_length, cfg.aspect)  # noqa: E731
    budget_note = "given (pretrain.budget_flops)"
    if cfg.budget_flops is not None:
        compute = float(cfg.budget_flops)
    elif cfg.minutes is not None:
        compute = 1e12  # a first guess; two calibrations settle the shape for the real budget
        for _ in range(2):
            rate = measured_flops_per_s(cfg, shape(compute), tokens, tok_dir, stage_dir, seed, device)
            compute = rate * cfg.minutes * 60
        budget_note = f"{cfg.minutes} min x measured {rate:.3g} FLOP/s (calibration runs)"
    else:
        raise LmforgeError("set pretrain.budget_flops or pretrain.minutes (--budget / --minutes)")
    conf = shape(compute)
    per_step = flops_per_token(_model_cfg(conf.model))["total_training"] * cfg.batch_size * cfg.context_length
    steps = math.ceil(compute / per_step)
    log(f"budget {compute:.3g} FLOPs -> N_opt {conf.target_params:.3g}: d_model {conf.model['d_model']}, "
        f"{conf.model['num_layers']} layers, {conf.params:,} non-embedding parameters, {steps} steps")
    tc = train_config(cfg, conf.model, tokens, tok_dir, stage_dir, "run", seed, device, steps,
                      max_flops=compute)
    run_dir = train(tc)
    summary = json.loads((run_dir / "summary.json").read_text())
    if summary["status"] != "completed":
        raise LmforgeError(f"pretraining {summary['status']} at step {summary['step']} ({run_dir})")
    spent = summary["tokens"] * flops_per_token(tc.model)["total_training"]
    policy_dir = export_policy(run_dir, tok_dir, stage_dir / "policy")
    n_tokens = int(tok["figures"]["tokens"] * (1 - cfg.val_fraction))
    return {
        "inputs": {"tokens": tokens, "tokenizer_dir": tok_dir, "law": law_desc, "budget": budget_note},
        "outputs": {"run_dir": str(run_dir), "policy_dir": str(policy_dir)},
        "figures": {
            "budget FLOPs": f"{compute:.4g}", "FLOPs spent": f"{spent:.4g}",
            "spent / budget": round(spent / compute, 4),
            "law N_opt (non-embedding)": f"{conf.target_params:.4g}",
            "law D_opt tokens": f"{conf.law_tokens:.4g}",
            "law predicted loss (extrapolated, its own units)": round(conf.predicted_loss, 3),
            "shape": f"d_model {conf.model['d_model']}, layers {conf.model['num_layers']}, heads "
                     f"{conf.model['num_heads']}, d_ff {conf.model['d_ff']}, context {cfg.context_length}",
            "parameters (non-embedding / total)": f"{conf.params:,} / {conf.params_total:,}",
            "steps x batch": f"{summary['step']} x {cfg.batch_size}", "tokens trained": summary["tokens"],
            "epochs over the train split": round(summary["tokens"] / max(n_tokens, 1), 2),
            "final val loss (trainer's batches)": round(summary.get("val_loss", float("nan")), 4),
        },
        "parts": [("scaling_law", law.method), ("attention", tc.model.attention.name),
                  ("optimizer", tc.optimizer.name), ("lr_schedule", tc.schedule.name),
                  ("parallel_backend", tc.parallel.name), ("norm", tc.model.norm.name),
                  ("ffn", tc.model.ffn.name),
                  ("position", tc.model.position.name)],
    }


def _model_cfg(model: dict):
    from lmforge.model import ModelConfig

    return ModelConfig(**model)


def export_policy(run_dir: Path, tok_dir: str, out: Path) -> Path:
    """The run's final weights as an align policy folder (what ``policy.path`` loads)."""
    from lmforge.align.policy import Policy, save_policy
    from lmforge.model import load_run_model
    from lmforge.tokenize import load_tokenizer

    model, mcfg = load_run_model(run_dir)
    return save_policy(Policy(model, load_tokenizer(tok_dir), "lmforge", mcfg), out)
