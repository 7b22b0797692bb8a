"""lmforge-model plugin: registers this package's parts and commands with the lmforge host.

Parts are registered as lazy wrappers (``lazy_part``) so that loading the plugin, e.g. for
``lmforge plugins``, does not import torch; ``transformer.resolve_part`` unwraps them.
"""

from __future__ import annotations

import importlib

from lmforge.core import hookimpl


def lazy_part(impl: str, doc: str):
    """A callable that imports ``module:attr`` on first use and forwards to it."""
    module, attr = impl.split(":")

    def part(*args, **kwargs):
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    part.__name__ = part.__qualname__ = attr
    part.__doc__ = doc
    part.lmforge_impl = impl
    return part


_M = "lmforge.model"


@hookimpl
def register_attention(register):
    register("reference", lazy_part(f"{_M}.attention:scaled_dot_product_attention",
                                    "softmax(q k^T / sqrt(d)) v from scratch (the reference)."))
    register("torch_sdpa", lazy_part(f"{_M}.attention:torch_sdpa",
                                     "torch.nn.functional.scaled_dot_product_attention (fused kernels)."),
             reference="reference")


@hookimpl
def register_norms(register):
    register("rmsnorm", lazy_part(f"{_M}.layers:RMSNorm", "RMSNorm in float32 (the reference)."))
    register("layernorm", lazy_part(f"{_M}.layers:LayerNorm", "LayerNorm with bias (ablation)."),
             reference="rmsnorm")
    register("none", lazy_part(f"{_M}.layers:NoNorm", "No normalization (ablation)."), reference="rmsnorm")


@hookimpl
def register_ffns(register):
    register("swiglu", lazy_part(f"{_M}.layers:SwiGLU", "w2(silu(w1 x) * w3 x), d_ff ~ 8/3 d_model."))
    register("silu_mlp", lazy_part(f"{_M}.layers:SiLUMLP", "w2(silu(w1 x)), d_ff = 4 d_model (ablation)."),
             reference="swiglu")


@hookimpl
def register_positions(register):
    register("rope", lazy_part(f"{_M}.rope:RotaryEmbedding", "Rotary position embedding on q and k."))
    register("none", lazy_part(f"{_M}.rope:NoPosition", "No position encoding (NoPE ablation)."),
             reference="rope")


@hookimpl
def register_optimizers(register):
    register("adamw", lazy_part(f"{_M}.optim:AdamW", "AdamW from scratch (decoupled weight decay)."))
    register("torch_adamw", lazy_part(f"{_M}.optim:torch_adamw", "torch.optim.AdamW."), reference="adamw")


@hookimpl
def register_lr_schedules(register):
    register("cosine", lazy_part(f"{_M}.schedules:cosine_lr", "Linear warm-up, cosine decay, then flat."))
    register("constant", lazy_part(f"{_M}.schedules:constant_lr", "Linear warm-up, then constant."))
    register("wsd", lazy_part(f"{_M}.schedules:wsd_lr", "Warm-up, stable, then linear decay to min_lr."))


@hookimpl
def register_parallel_backends(register):
    register("single", lazy_part(f"{_M}.parallel:ParallelBackend", "One process, one device (no sync)."))


@hookimpl
def register_rollout_engines(register):
    register("torch", lazy_part(f"{_M}.generation:TorchRolloutEngine",
                                "This package's batched KV-cache generator (CPU default)."))


@hookimpl
def register_commands(cli):
    from .cli import quickstart_command, train_command

    cli.add_command(train_command)
    cli.add_command(quickstart_command)
    from .cli_extras import add_commands  # generate, model accounting, model export-hf

    add_commands(cli)
