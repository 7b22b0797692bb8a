"""lmforge-align plugin: RL losses, rewards, rollout engines and the ``lmforge align`` commands.

Kept cheap to import: parts are registered by import string (core imports them on first use); the
RL losses are small pure-Python objects.
"""

from lmforge.core import hookimpl


@hookimpl
def register_rl_losses(register):
    from .rl_losses import LOSSES

    for name, loss in LOSSES.items():
        register(name, loss, description=loss.description)


@hookimpl
def register_rewards(register):
    rewards = "lmforge.align.rewards:"
    register("r1_math", rewards + "r1_math_reward",
             description="R1-Zero style: reward 1 only for the right format and the right answer "
                         "inside <answer>.")
    register("math", rewards + "math_reward",
             description="Answer only, format ignored: the <answer> block if present, else the last number.")
    register("exact_match", rewards + "exact_match_reward",
             description="1 when the stripped response equals the stripped ground truth.")


@hookimpl
def register_rollout_engines(register):
    engines = "lmforge.align.engines.factory:"
    register("hf", engines + "hf_engine", reference="torch",
             description="transformers `generate` on an HF causal LM (lmforge models go through HF Llama).")
    register("vllm", engines + "vllm_engine", reference="torch",
             description="vLLM in-process (GPU): sleep mode, in-memory weight reload, processed log-probs.")


@hookimpl
def register_parity_checks(register):
    checks = "lmforge.align.parity_checks:"
    register("rl_loss", checks + "rl_loss_parity",
             description="Same per-token loss and gradient on random log-probs, advantages and masks.")
    register("rollout_engine", checks + "rollout_engine_parity",
             description="Same greedy tokens and log-probs within 1e-4 from a tiny random policy.")


@hookimpl
def register_commands(cli):
    from .cli import align_group

    cli.add_command(align_group)
