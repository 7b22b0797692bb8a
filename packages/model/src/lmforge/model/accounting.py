"""Parameters, FLOPs and memory of a TransformerLM, measured from the module its config builds.

Nothing here looks a part up by name. The model is built on the meta device (shapes only: no memory,
no init time); parameters are counted per module; FLOPs are counted by torch's ``FlopCounterMode``
while a forward runs on meta tensors, attributed to the module that ran them; activation memory is
what autograd saves for backward; optimizer state is what the configured optimizer allocates in one
step. A third-party attention, norm, FFN or optimizer is therefore counted as it really is.

Every block of a ``TransformerLM`` is built from the same arguments, so one block is measured and
multiplied by ``num_layers``: a 128-layer shape costs what a 1-layer one does (scaling searches count
thousands of shapes).

Conventions (stated once so that numbers can be checked by hand):
- FLOPs are ``FlopCounterMode``'s: 2 per multiply-add in matmuls and attention kernels; norms,
  softmax, activations and adds count 0. The reference attention materialises the full T x T score
  matrix, and the fused kernels are counted the same way (the PaLM/nanoGPT MFU convention).
- Backward = 2 x forward (one product for the input's gradient, one for the weight's), so a training
  token costs 3 x forward: the "6N" rule, made exact.
- "embedding" parameters are the token table; an untied LM head is non-embedding ("lm_head"); a tied
  head is counted once, as the embedding.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections import defaultdict

from lmforge.core import PartRef

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "output_proj")
BLOCK_PREFIX = "layers.0"


def _key(cfg) -> tuple:
    """A hashable copy of a ``ModelConfig`` (or any dataclass with its fields), for the caches, with each
    part that declares a ``reference`` replaced by that reference (see ``_measured_part``). A part is
    kept as ``(name, options as sorted JSON)``."""
    from .config import PART_KINDS, ModelConfig

    if not isinstance(cfg, ModelConfig):
        names = {f.name for f in dataclasses.fields(ModelConfig)}
        cfg = ModelConfig(**{k: v for k, v in vars(cfg).items() if k in names})
    out = cfg.to_dict()
    for kind in PART_KINDS:
        ref = _measured_part(kind, getattr(cfg, kind))
        out[kind] = (ref.name, json.dumps(ref.options, sort_keys=True))
    return tuple(out.items())


def _config(key: tuple):
    """The ``ModelConfig`` a cache key stands for."""
    from lmforge.core import PartRef

    from .config import PART_KINDS, ModelConfig

    return ModelConfig(**{k: PartRef(v[0], json.loads(v[1])) if k in PART_KINDS else v for k, v in key})


def _measured_part(kind: str, ref):
    """The part whose module is measured in place of ``ref``: its declared reference, if it has one.

    Measuring runs the model on the meta device, where kernels outside torch (Triton's) cannot run,
    and FlopCounterMode sees only aten ops, so a fused kernel would count as zero FLOPs. A part with a
    ``reference`` computes the same thing (``lmforge parity`` checks it), so its math is the reference's;
    activation memory is the reference's too, an upper bound for a fused kernel (the safe side for a
    memory check). The reference is built without the part's options (a kernel's tile size means
    nothing to it). A part with no reference, such as a third-party FFN, is measured itself, with its
    options."""
    from lmforge.core import PartRef, get_registry

    registry, name = get_registry(), ref.name
    seen = {name}
    while (reference := registry.part(kind, name).reference) is not None and reference not in seen:
        seen.add(reference)
        name = reference
    return ref if name == ref.name else PartRef(name)


def _build(key: tuple, num_layers: int = 1, context_length: int | None = None, dtype=None):
    from .transformer import TransformerLM

    cfg = dataclasses.replace(_config(key), num_layers=num_layers, checkpoint_activations=0)
    if context_length is not None:
        cfg = dataclasses.replace(cfg, context_length=context_length)
    return TransformerLM.from_config(cfg, device="meta", dtype=dtype)


def _component(module_path: str) -> str:
    """Which row of the parameter table a module's own parameters belong to (by its place in the model)."""
    parts = module_path.split(".")
    if parts[0] == "layers":
        sub = parts[2] if len(parts) > 2 else ""
        if sub == "attn":
            return parts[3] if len(parts) > 3 and parts[3] in PROJECTIONS else "attention_other"
        return {"ffn": "ffn", "ln1": "norms", "ln2": "norms"}.get(sub, "block_other")
    return {"token_embeddings": "token_embeddings", "lm_head": "lm_head", "ln_final": "norms"}.get(
        parts[0], "other")


def _one_layer(key: tuple) -> tuple:
    """The cache key of the one-block model that is measured (depth only multiplies)."""
    return tuple((k, 1 if k == "num_layers" else v) for k, v in key)


@functools.lru_cache(maxsize=4096)
def _block_parameters(key: tuple) -> dict:
    model = _build(key)
    out: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))  # (outside the blocks, per block)
    seen: set[int] = set()
    for path, module in model.named_modules():
        for p in module.parameters(recurse=False):
            if id(p) in seen:  # a tied weight is counted once, where it is first owned
                continue
            seen.add(id(p))
            in_block = path.startswith(BLOCK_PREFIX + ".") or path == BLOCK_PREFIX
            outside, block = out[_component(path)]
            out[_component(path)] = (outside, block + p.numel()) if in_block else (outside + p.numel(), block)
    return dict(out)


def count_parameters(cfg) -> dict:
    """Parameter counts: total, embedding, non_embedding, and by component (summed over layers)."""
    key = _key(cfg)
    layers = dict(key)["num_layers"]
    c = _block_parameters(_one_layer(key))
    names = ("token_embeddings", *PROJECTIONS, "attention_other", "ffn", "norms", "block_other", "other",
             "lm_head")
    out = {k: c.get(k, (0, 0))[0] + layers * c.get(k, (0, 0))[1] for k in names}
    out["per_layer"] = sum(block for _, block in c.values())
    out["attention"] = sum(out[k] for k in PROJECTIONS) + out["attention_other"]
    out["embedding"] = out["token_embeddings"]
    out["total"] = sum(v for k, v in out.items() if k not in ("per_layer", "attention", "embedding"))
    out["non_embedding"] = out["total"] - out["embedding"]
    return out


@functools.lru_cache(maxsize=4096)
def _forward_flops(key: tuple, context: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = _build(key, context_length=context)
    x = torch.zeros((1, context), dtype=torch.long, device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    # FlopCounterMode keys are "<ModelClass>.<module path>", inclusive of sub-modules
    flops = {name.partition(".")[2]: sum(ops.values()) for name, ops in counter.get_flop_counts().items()
             if "." in name}
    block = f"{BLOCK_PREFIX}."
    get = lambda path: flops.get(path, 0)  # noqa: E731 - a module that ran no counted op is absent
    attn = get(block + "attn")
    out = {k: get(block + "attn." + k) for k in PROJECTIONS}
    out["attention_context"] = attn - sum(out.values())  # the attention kernel itself: Q K^T and P V
    out["ffn"] = get(block + "ffn")
    out["norms"] = get(block + "ln1") + get(block + "ln2")
    out["block_other"] = get(BLOCK_PREFIX) - attn - out["ffn"] - out["norms"]
    out["lm_head"] = get("lm_head")
    out["other"] = counter.get_total_flops() - get(BLOCK_PREFIX) - out["lm_head"]
    return {k: v / context for k, v in out.items()}


def flops_per_token(cfg, context_length: int | None = None) -> dict:
    """Forward FLOPs per token by component (summed over layers), plus totals; see the module doc."""
    key = _key(cfg)
    T = int(context_length or dict(key)["context_length"])
    per_block = _forward_flops(_one_layer(key), T)
    layers = dict(key)["num_layers"]
    once = ("lm_head", "other")  # outside the blocks: the head is computed even when its weights are tied
    out = {k: v if k in once else layers * v for k, v in per_block.items()}
    out["total_forward"] = sum(out.values())
    out["backward"] = 2 * out["total_forward"]
    out["total_training"] = 3 * out["total_forward"]
    return out


def flop_shares(cfg, context_length: int | None = None) -> dict:
    """Fractions of forward FLOPs: attention projections, attention over the context, FFN, LM head."""
    f = flops_per_token(cfg, context_length)
    total = f["total_forward"]
    return {
        "attention_projections": sum(f[k] for k in PROJECTIONS) / total,
        "attention_context": f["attention_context"] / total,
        "ffn": f["ffn"] / total,
        "lm_head": f["lm_head"] / total,
    }


def training_flops(cfg, tokens: int, context_length: int | None = None) -> float:
    """FLOPs to train on ``tokens`` tokens: 3 x forward per token (forward + 2 x forward backward)."""
    return float(tokens) * flops_per_token(cfg, context_length)["total_training"]


def _saved_bytes(model, batch: int, context: int) -> int:
    """Bytes autograd keeps for backward through the model and the loss (each storage once)."""
    import torch

    from .losses import cross_entropy

    storages: dict[int, int] = {}
    params = {p.untyped_storage()._cdata for p in model.parameters()}

    def pack(t):
        storage = t.untyped_storage()
        if storage._cdata not in params:  # weights are not activations
            storages[storage._cdata] = storage.nbytes()
        return t

    x = torch.zeros((batch, context), dtype=torch.long, device="meta")
    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = cross_entropy(model(x), x)
    del loss  # the graph (and with it every saved storage) was alive while the hook counted
    return sum(storages.values())


@functools.lru_cache(maxsize=256)
def _activations(key: tuple, batch: int, context: int, dtype_name: str) -> tuple[int, int]:
    """(bytes outside the blocks, bytes per block): one- and two-block models, the difference is a block."""
    import torch

    dtype = getattr(torch, dtype_name)
    one = _saved_bytes(_build(key, 1, context, dtype), batch, context)
    two = _saved_bytes(_build(key, 2, context, dtype), batch, context)
    return one - (two - one), two - one


@functools.lru_cache(maxsize=64)
def _optimizer_bytes_per_parameter(key: tuple, optimizer: str, options_json: str = "{}") -> float:
    """The state the optimizer allocates in its first step, per parameter element (AdamW: 8), built with
    its options (an SGD's momentum buffer exists only with momentum)."""
    import torch

    from lmforge.core import build_part

    model = _build(key)
    params = list(model.parameters())
    for p in params:
        p.grad = torch.zeros_like(p)
    try:
        opt = build_part("optimizer", PartRef(optimizer, json.loads(options_json)), params, lr=1e-3)
        opt.step()
    except Exception as e:  # e.g. an optimizer that reads a value (.item()) off its state
        from lmforge.core import LmforgeError

        raise LmforgeError(f"cannot measure the state of optimizer {optimizer!r} on the meta device "
                           f"({type(e).__name__}: {e}); `lmforge train --force` skips the memory "
                           "check") from e
    state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values()
                if isinstance(t, torch.Tensor))
    return state / sum(p.numel() for p in params)


def memory_bytes(cfg, batch_size: int = 1, context_length: int | None = None, param_dtype: str = "float32",
                 activation_dtype: str | None = None, optimizer: str | PartRef = "adamw") -> dict:
    """Training memory in bytes: weights, gradients, optimizer state and activations at this batch
    and context (activation checkpointing keeps each segment's input plus one segment's activations).
    ``optimizer``: a part name, or a PartRef with the keywords it is built with besides ``lr``."""

    import torch

    key = _key(cfg)
    opt = PartRef.parse(optimizer, "optimizer")
    T = int(context_length or dict(key)["context_length"])
    n = count_parameters(cfg)["total"]
    pb = getattr(torch, param_dtype).itemsize
    act_dtype = activation_dtype or param_dtype
    outside, per_block = _activations(_one_layer(key), batch_size, T, act_dtype)
    m = dict(key)
    layers, segment = m["num_layers"], m["checkpoint_activations"]
    if segment:
        boundary = batch_size * T * m["d_model"] * getattr(torch, act_dtype).itemsize
        blocks = math.ceil(layers / segment) * boundary + min(segment, layers) * per_block
    else:
        blocks = layers * per_block
    out = {"weights": n * pb, "gradients": n * pb,
           "optimizer_state": round(n * _optimizer_bytes_per_parameter(
               _one_layer(key), opt.name, json.dumps(opt.options, sort_keys=True))),
           "activations": outside + blocks}
    out["total"] = sum(out.values())
    return out


def vary(cfg, **changes):
    """A copy of ``cfg`` with fields changed; a new ``d_model`` keeps head_dim and the d_ff ratio."""
    m = _config(_key(cfg))
    if "d_model" in changes and "num_heads" not in changes:
        scale = changes["d_model"] / m.d_model
        changes["num_heads"] = max(1, round(m.num_heads * scale))
        if m.num_kv_heads:
            changes.setdefault("num_kv_heads", max(1, round(m.num_kv_heads * scale)))
        if m.d_ff:
            changes.setdefault("d_ff", max(1, round(m.d_ff * scale)))
    return dataclasses.replace(m, **changes)


def width_sweep(cfg, widths=(256, 512, 1024, 2048, 4096, 8192), context_length: int | None = None) -> list:
    """FLOP shares as d_model grows at a fixed context: the FFN (~d^2) overtakes attention (~d T)."""
    return [{"d_model": w, **flop_shares(vary(cfg, d_model=w), context_length)} for w in widths]


def context_sweep(cfg, contexts=(256, 1024, 4096, 16384, 65536)) -> list:
    """FLOP shares as the context grows for a fixed model: attention over the context takes over."""
    return [{"context_length": t, **flop_shares(cfg, t)} for t in contexts]
