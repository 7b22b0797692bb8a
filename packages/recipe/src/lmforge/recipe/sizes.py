"""Size presets: the recipe config each ``--size`` starts from (a user file and ``--set`` go on top).

tiny    the end-to-end test (a few minutes on a busy 2-core machine); its numbers prove plumbing only
laptop  <= 20 minutes on 2 CPU cores, every stage visibly doing its job
small   the same on more of the standard library and ~4x the pretraining compute (CPU, ~1 hour)
gpu     one GPU: the whole standard library, a real pretraining budget (see the README for times)
"""

from __future__ import annotations

_CHEAP_FILTERS = [  # the default filters without the quality classifier (it trains on first use)
    {"name": "length", "min_chars": 200},
    {"name": "language", "languages": ["en"], "min_score": 0.65},
    {"name": "gopher"},
    {"name": "pii_mask"},
]

SIZES: dict[str, dict] = {
    "tiny": {
        "device": "cpu",
        "web": {"modules": 10},
        "data": {"filters": _CHEAP_FILTERS, "executor": {"name": "local", "workers": 1}},
        "tokenizer": {"vocab_size": 320},
        "pretrain": {"budget_flops": 2e10, "context_length": 64, "batch_size": 8, "evals": 2,
                     "eval_batches": 4, "lr": 3e-3},
        "task": {"name": "arithmetic", "max_operand": 9}, "train_size": 80, "eval_size": 20,
        "sft": {"steps": 20, "batch_size": 16, "eval_max_new_tokens": 24, "optim": {"lr": 3e-3},
                "run": {"eval_every": 10, "checkpoint_every": 20, "progress": False}},
        "grpo": {"steps": 3, "microbatch_size": 16,
                 "rollout": {"group_size": 4, "prompts_per_step": 4, "max_new_tokens": 24},
                 "run": {"eval_every": 3, "checkpoint_every": 3, "progress": False}},
        "eval": {"sample_tokens": 16, "task_samples": 3, "max_val_tokens": 20_000},
    },
    "laptop": {
        "web": {"modules": 10_000},
        "data": {"executor": {"name": "local", "workers": 2}},
        "tokenizer": {"vocab_size": 2048},
        # aspect 24, not 64: at 0.3M parameters aspect 64 gives one wide layer, and a one-layer model
        # has no room to compose attention for the arithmetic task (d_model 64 x 3 layers here)
        "pretrain": {"budget_flops": 4e12, "context_length": 128, "batch_size": 16, "lr": 3e-3, "aspect": 24},
        "task": {"name": "arithmetic", "max_operand": 29}, "train_size": 4000, "eval_size": 200,
        "sft": {"steps": 600, "optim": {"lr": 3e-3, "warmup_steps": 20},
                "run": {"eval_every": 150, "checkpoint_every": 600}},
        # 5e-4: at the align demo's 2e-4, held-out accuracy of a BPE policy barely moved in 60 steps
        "grpo": {"steps": 80, "optim": {"lr": 5e-4}, "rollout": {"group_size": 8, "prompts_per_step": 16},
                 "run": {"eval_every": 20, "checkpoint_every": 80}},
    },
    "small": {
        "web": {"modules": 10_000},
        "data": {"executor": {"name": "local", "workers": 2}},
        "tokenizer": {"vocab_size": 4096},
        "pretrain": {"budget_flops": 4e13, "context_length": 128, "batch_size": 32, "lr": 3e-3, "aspect": 32},
        "task": {"name": "arithmetic", "max_operand": 29}, "train_size": 4000, "eval_size": 200,
        "sft": {"steps": 500, "optim": {"lr": 2e-3, "warmup_steps": 30},
                "run": {"eval_every": 100, "checkpoint_every": 500}},
        "grpo": {"steps": 100, "optim": {"lr": 2e-4}, "rollout": {"group_size": 8, "prompts_per_step": 16},
                 "run": {"eval_every": 20, "checkpoint_every": 100}},
    },
    "gpu": {
        "device": "cuda",
        "web": {"modules": 1000},
        "data": {"executor": {"name": "local", "workers": 0}},
        "tokenizer": {"vocab_size": 8192, "workers": 8},
        "pretrain": {"budget_flops": 3e16, "context_length": 512, "batch_size": 64, "lr": 1e-3,
                     "dtype": "bfloat16"},
        "task": {"name": "arithmetic", "max_operand": 99}, "train_size": 8000, "eval_size": 500,
        "sft": {"steps": 1000, "batch_size": 64, "optim": {"lr": 5e-4, "warmup_steps": 50},
                "run": {"eval_every": 200, "checkpoint_every": 1000}},
        "grpo": {"steps": 200, "optim": {"lr": 5e-5},
                 "rollout": {"group_size": 16, "prompts_per_step": 32, "max_new_tokens": 48},
                 "run": {"eval_every": 25, "checkpoint_every": 200}},
    },
}
