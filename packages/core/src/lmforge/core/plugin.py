"""The core plugin: metrics loggers, the pure-Python parity checks, and the ``plugins`` / ``version`` /
``parity`` commands."""

from .cli_commands import parity_command, plugins_command, version_command
from .metrics import JsonlLogger, TensorboardLogger
from .plugins import hookimpl


@hookimpl
def register_metrics_loggers(register):
    register("jsonl", JsonlLogger)
    register("tensorboard", TensorboardLogger)


@hookimpl
def register_parity_checks(register):
    checks = "lmforge.core.parity_checks:"
    register("doc_filter", checks + "doc_filter_parity",
             description="Same keep/drop decisions and the same kept text on a 200-document corpus.")
    register("reward", checks + "reward_parity",
             description="Same reward on fixed (response, ground truth) pairs, tolerance zero.")
    register("executor", checks + "executor_parity",
             description="Same results, in order, for one function mapped over 64 items.")


@hookimpl
def register_commands(cli):
    cli.add_command(plugins_command)
    cli.add_command(version_command)
    cli.add_command(parity_command)
