"""lmforge-model plugin: registers this package's parts and commands with the lmforge host.

Parts are registered by import string, so loading the plugin (e.g. for ``lmforge plugins``) does not
import torch; core imports each part on first use.
"""

from __future__ import annotations

from lmforge.core import hookimpl

_M = "lmforge.model"


@hookimpl
def register_attention(register):
    register("reference", f"{_M}.attention:scaled_dot_product_attention",
             description="softmax(q k^T / sqrt(d)) v from scratch (the reference).")
    register("torch_sdpa", f"{_M}.attention:torch_sdpa",
             description="torch.nn.functional.scaled_dot_product_attention (fused kernels).",
             reference="reference")


@hookimpl
def register_norms(register):
    register("rmsnorm", f"{_M}.layers:RMSNorm", description="RMSNorm in float32 (the reference).")
    register("layernorm", f"{_M}.layers:LayerNorm", description="LayerNorm with bias (ablation).",
             ablation_of="rmsnorm")
    register("none", f"{_M}.layers:NoNorm", description="No normalization (ablation).", ablation_of="rmsnorm")


@hookimpl
def register_ffns(register):
    register("swiglu", f"{_M}.layers:SwiGLU", description="w2(silu(w1 x) * w3 x), d_ff ~ 8/3 d_model.")
    register("silu_mlp", f"{_M}.layers:SiLUMLP", description="w2(silu(w1 x)), d_ff = 4 d_model (ablation).",
             ablation_of="swiglu")


@hookimpl
def register_positions(register):
    register("rope", f"{_M}.rope:RotaryEmbedding", description="Rotary position embedding on q and k.")
    register("none", f"{_M}.rope:NoPosition", description="No position encoding (NoPE ablation).",
             ablation_of="rope")


@hookimpl
def register_optimizers(register):
    register("adamw", f"{_M}.optim:AdamW", description="AdamW from scratch (decoupled weight decay).")
    register("torch_adamw", f"{_M}.optim:torch_adamw", description="torch.optim.AdamW.", reference="adamw")


@hookimpl
def register_lr_schedules(register):
    register("cosine", f"{_M}.schedules:cosine_lr", description="Linear warm-up, cosine decay, then flat.")
    register("constant", f"{_M}.schedules:constant_lr", description="Linear warm-up, then constant.")
    register("wsd", f"{_M}.schedules:wsd_lr", description="Warm-up, stable, then linear decay to min_lr.")


@hookimpl
def register_parallel_backends(register):
    register("single", f"{_M}.parallel:ParallelBackend", description="One process, one device (no sync).")


@hookimpl
def register_rollout_engines(register):
    register("torch", f"{_M}.generation:TorchRolloutEngine",
             description="This package's batched KV-cache generator (CPU default).")


@hookimpl
def register_commands(cli):
    from .cli import quickstart_command, train_command

    cli.add_command(train_command)
    cli.add_command(quickstart_command)
    from .cli_extras import add_commands  # generate, model accounting, model export-hf

    add_commands(cli)
