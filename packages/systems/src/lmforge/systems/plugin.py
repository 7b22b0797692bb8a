"""lmforge-systems plugin: registers this package's parts with the lmforge host.

Imports here stay cheap: every part is a thin function that loads its module on first use.
"""

from lmforge.core import hookimpl

from . import parts


@hookimpl
def register_norms(register):
    register("rmsnorm_torch", parts.rmsnorm_torch, reference="rmsnorm")
    register("rmsnorm_triton", parts.rmsnorm_triton, reference="rmsnorm")


@hookimpl
def register_attention(register):
    register("flash2_torch", parts.flash2_torch, reference="reference")
    register("flash2_triton", parts.flash2_triton, reference="reference")


@hookimpl
def register_parallel_backends(register):
    for name, factory in parts.PARALLEL_BACKENDS.items():
        register(name, factory, reference="single")


@hookimpl
def register_commands(cli):
    from .cli import systems_group

    cli.add_command(systems_group)
