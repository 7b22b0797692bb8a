"""An example third-party lmforge plugin: copy this package to start your own.

Every part is registered by import string ("module:attr"): lmforge imports it the first time it is
used, so ``lmforge plugins`` stays fast and never imports torch. Pass ``description=`` (the module is
not imported to read a docstring). Declare ``reference=`` when your part must compute the same thing
as an existing one (``lmforge parity`` then checks it), or ``ablation_of=`` when it deliberately
computes something else.
"""

import click

from lmforge.core import hookimpl


@hookimpl
def register_doc_filters(register):
    # a doc_filter is a class: MinWords(**options).filter(doc) -> True | (False, reason)
    register("min_words", "lmforge_example.filters:MinWords", ablation_of="length",
             description="Keep documents with at least `minimum` words.")


@hookimpl
def register_attention(register):
    # attention is a function: fn(q, k, v, mask=None, is_causal=False) -> out
    register("plain_softmax", "lmforge_example.attention:plain_softmax_attention", reference="reference",
             description="softmax(q k^T / sqrt(d)) v in a few lines of torch (same as the reference).")


@hookimpl
def register_rl_losses(register):
    # an rl_loss is a factory: Reinforce(**options) -> callable loss with uses_old_log_probs
    register("reinforce_example", "lmforge_example.losses:Reinforce", reference="reinforce_with_baseline",
             description="REINFORCE on group-normalized advantages: -A log pi per token.")


@click.command("hello")
def hello():
    """Say hello from the example plugin."""
    click.echo("hello from lmforge-example")


@hookimpl
def register_commands(cli):
    cli.add_command(hello)
