"""lmforge-align plugin: RL losses, rewards, rollout engines and the ``lmforge align`` commands.

Kept cheap to import: the parts are small pure-Python objects or factories that import torch,
transformers or vLLM only when called.
"""

from lmforge.core import hookimpl


@hookimpl
def register_rl_losses(register):
    from .rl_losses import LOSSES

    for name, factory in LOSSES.items():
        register(name, factory, description=f"{factory.__doc__} [{factory.paper}]")


@hookimpl
def register_preference_losses(register):
    from .dpo import PREFERENCE_LOSSES

    for name, cls in PREFERENCE_LOSSES.items():
        register(name, cls, description=f"{cls.__doc__.split(chr(10))[0]} [{cls.paper}]")


@hookimpl
def register_rewards(register):
    from .rewards import exact_match_reward, math_reward, r1_format_reward, r1_math_reward

    register("r1_math", r1_math_reward)
    register("r1_format", r1_format_reward)
    register("math", math_reward)
    register("exact_match", exact_match_reward)


@hookimpl
def register_rollout_engines(register):
    from .engines.factory import hf_engine, vllm_engine

    register("hf", hf_engine, reference="torch")
    register("vllm", vllm_engine, reference="torch")


@hookimpl
def register_commands(cli):
    from .cli import align_group

    cli.add_command(align_group)
