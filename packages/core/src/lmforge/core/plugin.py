"""The core plugin: metrics loggers and the ``plugins`` / ``version`` commands."""

from .cli_commands import plugins_command, version_command
from .metrics import JsonlLogger, TensorboardLogger
from .plugins import hookimpl


@hookimpl
def register_metrics_loggers(register):
    register("jsonl", JsonlLogger)
    register("tensorboard", TensorboardLogger)


@hookimpl
def register_commands(cli):
    cli.add_command(plugins_command)
    cli.add_command(version_command)
