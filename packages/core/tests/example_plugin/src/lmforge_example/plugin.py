"""An example third-party plugin: one document filter and one command."""

import click

from lmforge.core import hookimpl


def min_words(doc: str, minimum: int = 3):
    """Keep documents with at least `minimum` words."""
    n = len(doc.split())
    return True if n >= minimum else (False, f"fewer than {minimum} words")


@hookimpl
def register_doc_filters(register):
    register("min_words", min_words)


@click.command("hello")
def hello():
    """Say hello from the example plugin."""
    click.echo("hello from lmforge-example")


@hookimpl
def register_commands(cli):
    cli.add_command(hello)
