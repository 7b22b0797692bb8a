"""The core plugin: metrics loggers, the doc_filter parity check, and the ``plugins`` / ``version`` /
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
    register("doc_filter", "lmforge.core.parity_checks:doc_filter_parity",
             description="Same keep/drop decisions and the same kept text on a 200-document corpus.")


@hookimpl
def register_commands(cli):
    cli.add_command(plugins_command)
    cli.add_command(version_command)
    cli.add_command(parity_command)
