"""lmforge-recipe plugin: the ``lmforge recipe`` commands."""

from lmforge.core import hookimpl


@hookimpl
def register_commands(cli):
    from .cli import recipe_group

    cli.add_command(recipe_group)
