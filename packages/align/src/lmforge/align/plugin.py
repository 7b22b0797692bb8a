"""lmforge-align plugin: RL losses, rewards, rollout engines and the ``lmforge align`` commands.

Kept cheap to import: parts are registered by import string (core imports them on first use); the
RL losses are small pure-Python objects.
"""

from lmforge.core import hookimpl


@hookimpl
def register_rl_losses(register):
    from .rl_losses import LOSSES

    for name, factory in LOSSES.items():
        register(name, factory, description=f"{factory.__doc__} [{factory.paper}]")


@hookimpl
def register_preference_losses(register):
    losses = "lmforge.align.dpo:"
    register(
        "sigmoid",
        losses + "SigmoidDPO",
        description="DPO -log sigmoid(beta z); label_smoothing: cDPO [arXiv:2305.18290]",
    )
    register(
        "robust",
        losses + "RobustDPO",
        description="Robust DPO, unbiased under label noise [Chowdhury et al. 2024, arXiv:2403.00409]",
    )
    register(
        "hinge",
        losses + "HingeDPO",
        description="relu(1 - beta z), SLiC's hinge [Zhao et al. 2023, arXiv:2305.10425]",
    )
    register(
        "ipo",
        losses + "IPO",
        description="(z_avg - 1/(2 beta))^2, per-token log-ratios [Azar et al. 2023, arXiv:2310.12036]",
    )


@hookimpl
def register_rewards(register):
    rewards = "lmforge.align.rewards:"
    register(
        "r1_math",
        rewards + "r1_math_reward",
        description="R1-Zero style: reward 1 only for the right format and the right answer inside <answer>.",
    )
    register(
        "r1_format",
        rewards + "r1_format_reward",
        description="1 for the </think> <answer> ... </answer> format, whatever the answer (shaping).",
    )
    register(
        "math",
        rewards + "math_reward",
        description="Answer only, format ignored: the <answer> block if present, else the last number.",
    )
    register(
        "exact_match",
        rewards + "exact_match_reward",
        description="1 when the stripped response equals the stripped ground truth.",
    )


@hookimpl
def register_tasks(register):
    register(
        "arithmetic",
        "lmforge.align.tasks.arithmetic:arithmetic_problems",
        description="Two-operand arithmetic in the R1 format (options: max_operand, ops).",
    )
    register(
        "gsm8k",
        "lmforge.align.tasks.gsm8k:gsm8k_problems",
        description="GSM8K-style word problems from reasoning-gym's gsm_symbolic (option: template).",
    )


@hookimpl
def register_rollout_engines(register):
    engines = "lmforge.align.engines.factory:"
    register(
        "hf",
        engines + "hf_engine",
        reference="torch",
        description="transformers `generate` on an HF causal LM (lmforge models go through HF Llama).",
    )
    register(
        "vllm",
        engines + "vllm_engine",
        reference="torch",
        description="vLLM in-process (GPU): sleep mode, in-memory weight reload, processed log-probs.",
    )


@hookimpl
def register_parity_checks(register):
    checks = "lmforge.align.parity_checks:"
    register("rl_loss", checks + "rl_loss_parity",
             description="Same per-token loss and gradient on random log-probs, advantages and masks.")
    register("rollout_engine", "lmforge.align.engines.parity:rollout_engine_parity",
             description="Same greedy tokens as the reference engine; sampled log-probs match the trainer's.")


@hookimpl
def register_commands(cli):
    from .cli import align_group

    cli.add_command(align_group)
