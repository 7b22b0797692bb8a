"""lmforge-systems plugin: registers this package's parts with the lmforge host.

Parts are registered by import string, so Triton and DeepSpeed stay out of the import path until a
part is used.
"""

from lmforge.core import hookimpl

_K = "lmforge.systems.kernels."
_P = "lmforge.systems.parallel."


@hookimpl
def register_norms(register):
    register("rmsnorm_torch", _K + "rmsnorm_torch:RMSNormTorch", reference="rmsnorm",
             description="RMSNorm as an autograd Function with a hand-derived backward (PyTorch).")
    register("rmsnorm_triton", _K + "rmsnorm_triton:RMSNormTriton", reference="rmsnorm",
             description="RMSNorm with fused Triton forward and backward kernels.")


@hookimpl
def register_attention(register):
    # `lmforge parity` found the kernels' causal alignment differing from the reference's when there
    # are fewer queries than keys; attention_layout now sends those calls to SDPA, so they are equal.
    register("flash2_torch", _K + "flash2_torch:flash2_torch", reference="reference",
             description="FlashAttention-2, tiled in PyTorch (saves only O and logsumexp).")
    register("flash2_triton", _K + "flash2_triton:flash2_triton", reference="reference",
             description="FlashAttention-2 with Triton forward and backward kernels.")


PARALLEL_BACKENDS = {  # name -> (import string, description)
    "ddp_naive": ("backends:NaiveDDPBackend", "DDP: all-reduce each gradient after backward."),
    "ddp_flat": ("backends:FlatDDPBackend", "DDP: one all-reduce of all gradients, flattened."),
    "ddp_overlap": ("backends:OverlapDDPBackend",
                    "DDP: async per-gradient all-reduce from post-accumulate-grad hooks."),
    "ddp_bucketed": ("backends:BucketedDDPBackend",
                     "DDP: async all-reduce of reverse-order buckets (bucket_size_mb)."),
    "zero1": ("backends:Zero1Backend", "ZeRO-1: optimizer state sharded across ranks."),
    "fsdp": ("backends:FSDPBackend", "Our FSDP: sharded Linear/Embedding weights, all-gather + "
        "reduce-scatter."),
    "torch_ddp": ("torch_backends:TorchDDPBackend", "torch DistributedDataParallel."),
    "torch_fsdp2": ("torch_backends:TorchFSDP2Backend", "torch FSDP2 (fully_shard)."),
    "deepspeed": ("deepspeed_backend:DeepSpeedBackend", "DeepSpeed ZeRO stage 1/2/3 (option "
        "stage) with our optimizer."),
}


@hookimpl
def register_parallel_backends(register):
    for name, (where, description) in PARALLEL_BACKENDS.items():
        register(name, _P + where, description=description, reference="single")


@hookimpl
def register_parity_checks(register):
    register("parallel_backend", "lmforge.systems.parity_checks:parallel_backend_parity",
             description="Same parameters after 3 steps on 2 gloo ranks as the reference on one.")


@hookimpl
def register_commands(cli):
    from .cli import systems_group

    cli.add_command(systems_group)
