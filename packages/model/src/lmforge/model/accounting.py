"""Parameters, FLOPs and memory of a Transformer, computed from its config alone.

Everything here is arithmetic on a config object: a ``ModelConfig`` or any object with its field
names (``vocab_size, context_length, d_model, num_layers, num_heads, num_kv_heads, d_ff, ffn, norm,
position, tie_embeddings``). Two extra knobs, absent from ``ModelConfig``, let the same code describe
GPT-2: ``bias`` (biases on every attention and FFN projection) and ``position = "learned"`` (a learned
position table of ``context_length`` rows); ``ffn = "gelu_mlp"`` counts like ``silu_mlp``.

Conventions (stated once so that numbers can be checked by hand):
- A matrix multiply of an (in -> out) projection costs 2 * in * out FLOPs per token. Only matmuls
  are counted; norms, softmax, RoPE, activations and bias adds are O(d) per token and left out.
- Attention scores (Q K^T) and the weighted sum (P V) each cost 2 * num_heads * head_dim * T per token
  with T the context length: the full T x T matrix is computed, as the reference kernel does and as
  the PaLM/nanoGPT MFU formula assumes. Causal kernels that skip the upper triangle do half of it.
- Backward = 2 x forward, so one training token costs 3 x forward (the "6N" rule, made exact here).
- "embedding" parameters are the token (and learned position) tables. An untied LM head is counted
  as non-embedding, reported separately as "lm_head"; when tied it costs no parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

# Published GPT-2 shapes (Radford et al. 2019). Their parameter counts with the GPT-2 layout
# (learned positions, biases, layernorm, 4x GELU MLP, tied head) are 124M / 355M / 774M / 1.56B.
GPT2_SIZES = {
    "small": dict(d_model=768, num_layers=12, num_heads=12),
    "medium": dict(d_model=1024, num_layers=24, num_heads=16),
    "large": dict(d_model=1280, num_layers=36, num_heads=20),
    "xl": dict(d_model=1600, num_layers=48, num_heads=25),
}

DTYPE_BYTES = {"float32": 4, "fp32": 4, "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2, "float64": 8}


@dataclass(frozen=True)
class Architecture:
    """The resolved numbers accounting needs; ``from_config`` fills defaults the way the model does."""

    vocab_size: int
    context_length: int
    d_model: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    d_ff: int
    ffn: str = "swiglu"
    norm: str = "rmsnorm"
    position: str = "rope"
    tie_embeddings: bool = False
    bias: bool = False

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    @classmethod
    def from_config(cls, cfg) -> Architecture:
        if isinstance(cfg, Architecture):
            return cfg
        ffn = getattr(cfg, "ffn", "swiglu")
        d_model = int(cfg.d_model)
        d_ff = getattr(cfg, "d_ff", None) or default_d_ff(d_model, ffn)
        return cls(
            vocab_size=int(cfg.vocab_size), context_length=int(cfg.context_length), d_model=d_model,
            num_layers=int(cfg.num_layers), num_heads=int(cfg.num_heads),
            num_kv_heads=int(getattr(cfg, "num_kv_heads", None) or cfg.num_heads), d_ff=int(d_ff),
            ffn=ffn, norm=getattr(cfg, "norm", "rmsnorm"), position=getattr(cfg, "position", "rope"),
            tie_embeddings=bool(getattr(cfg, "tie_embeddings", False)),
            bias=bool(getattr(cfg, "bias", False)),
        )


def default_d_ff(d_model: int, ffn: str) -> int:
    """The model's default FFN width: 4 d for plain MLPs, about 8/3 d (a multiple of 64) for SwiGLU."""
    if ffn != "swiglu":
        return 4 * d_model
    try:  # the model's own rule wins, so that counts always match the built module
        from .layers import default_swiglu_d_ff
    except ImportError:  # no torch: the same rule, restated
        return max(64, int(round(8 * d_model / 3 / 64)) * 64)
    return int(default_swiglu_d_ff(d_model))


def gpt2_architecture(size: str, vocab_size: int = 50257, context_length: int = 1024) -> Architecture:
    """GPT-2 in this module's vocabulary: learned positions, biases, layernorm, 4x MLP, tied head."""
    if size not in GPT2_SIZES:
        raise ValueError(f"unknown GPT-2 size {size!r}; known: {', '.join(GPT2_SIZES)}")
    s = GPT2_SIZES[size]
    return Architecture(
        vocab_size=vocab_size, context_length=context_length, num_kv_heads=s["num_heads"],
        d_ff=4 * s["d_model"], ffn="gelu_mlp", norm="layernorm", position="learned", tie_embeddings=True,
        bias=True, **s,
    )


def _norm_params(a: Architecture) -> int:
    return {"rmsnorm": a.d_model, "layernorm": 2 * a.d_model, "none": 0}.get(a.norm, a.d_model)


def _ffn_matrices(a: Architecture) -> int:
    return 3 if a.ffn == "swiglu" else 2


def count_parameters(cfg) -> dict:
    """Parameter counts: total, embedding, non_embedding, and by component (summed over layers)."""
    a = Architecture.from_config(cfg)
    d, L = a.d_model, a.num_layers
    b = int(a.bias)
    q = d * d + b * d
    kv = d * a.kv_dim + b * a.kv_dim
    o = d * d + b * d
    ffn = _ffn_matrices(a) * d * a.d_ff + b * ((_ffn_matrices(a) - 1) * a.d_ff + d)
    norms_per_layer = 2 * _norm_params(a)
    per_layer = q + 2 * kv + o + ffn + norms_per_layer
    out = {
        "token_embeddings": a.vocab_size * d,
        "position_embeddings": a.context_length * d if a.position == "learned" else 0,
        "q_proj": L * q, "k_proj": L * kv, "v_proj": L * kv, "output_proj": L * o,
        "ffn": L * ffn,
        "norms": L * norms_per_layer + _norm_params(a),  # + the final norm
        "lm_head": 0 if a.tie_embeddings else a.vocab_size * d,
        "per_layer": per_layer,
    }
    out["attention"] = out["q_proj"] + out["k_proj"] + out["v_proj"] + out["output_proj"]
    out["embedding"] = out["token_embeddings"] + out["position_embeddings"]
    out["total"] = out["embedding"] + L * per_layer + _norm_params(a) + out["lm_head"]
    out["non_embedding"] = out["total"] - out["embedding"]
    return out


def flops_per_token(cfg, context_length: int | None = None) -> dict:
    """Forward FLOPs per token by component (summed over layers), plus totals; see the module doc."""
    a = Architecture.from_config(cfg)
    T = int(context_length or a.context_length)
    d, L = a.d_model, a.num_layers
    out = {
        "q_proj": L * 2 * d * d,
        "k_proj": L * 2 * d * a.kv_dim,
        "v_proj": L * 2 * d * a.kv_dim,
        "output_proj": L * 2 * d * d,
        # every query head attends to T keys; with GQA the keys are shared, the work is not
        "attention_scores": L * 2 * a.num_heads * a.head_dim * T,
        "attention_weighted_sum": L * 2 * a.num_heads * a.head_dim * T,
        "ffn": L * 2 * _ffn_matrices(a) * d * a.d_ff,
        "lm_head": 2 * d * a.vocab_size,  # the head is computed even when its weights are tied
    }
    out["total_forward"] = sum(out.values())
    out["backward"] = 2 * out["total_forward"]
    out["total_training"] = 3 * out["total_forward"]
    return out


def flop_shares(cfg, context_length: int | None = None) -> dict:
    """Fractions of forward FLOPs: attention projections, attention over the context, FFN, LM head."""
    f = flops_per_token(cfg, context_length)
    total = f["total_forward"]
    return {
        "attention_projections": (f["q_proj"] + f["k_proj"] + f["v_proj"] + f["output_proj"]) / total,
        "attention_context": (f["attention_scores"] + f["attention_weighted_sum"]) / total,
        "ffn": f["ffn"] / total,
        "lm_head": f["lm_head"] / total,
    }


def training_flops(cfg, tokens: int, context_length: int | None = None) -> float:
    """FLOPs to train on ``tokens`` tokens: 3 x forward per token (forward + 2 x forward backward)."""
    return float(tokens) * flops_per_token(cfg, context_length)["total_training"]


def activation_elements_per_token(cfg, context_length: int | None = None,
                                  attention: str = "reference") -> dict:
    """Elements autograd keeps per token for backward (no activation checkpointing), by place.

    An estimate of what a straightforward implementation saves: each projection's input, q/k/v, the
    attention probabilities (and scores) when the kernel materialises them (``reference``; fused
    kernels such as ``torch_sdpa`` keep O(1) per token), the FFN's hidden tensors, the logits.
    """
    a = Architecture.from_config(cfg)
    T = int(context_length or a.context_length)
    d = a.d_model
    norms = 2 * 2 * d if a.norm != "none" else 0  # each norm's input and output
    attn = 2 * d + 2 * a.kv_dim + d  # projection input, q, k, v, attention output (o_proj input)
    scores = 2 * a.num_heads * T if attention == "reference" else 0  # scores and probabilities
    ffn = (4 if a.ffn == "swiglu" else 3) * a.d_ff
    per_layer = norms + attn + scores + ffn
    head = 2 * d + 2 * a.vocab_size  # final norm in/out, logits and their softmax in the loss
    return {"per_layer": per_layer, "attention_scores_per_layer": scores, "head": head,
            "total": a.num_layers * per_layer + head}


def memory_bytes(cfg, batch_size: int = 1, context_length: int | None = None, param_dtype: str = "float32",
                 activation_dtype: str | None = None, attention: str = "reference") -> dict:
    """Training memory in bytes: weights, gradients, AdamW state (two fp32 moments), activations."""
    a = Architecture.from_config(cfg)
    T = int(context_length or a.context_length)
    n = count_parameters(a)["total"]
    pb = DTYPE_BYTES[param_dtype]
    ab = DTYPE_BYTES[activation_dtype or param_dtype]
    acts = activation_elements_per_token(a, T, attention)["total"] * batch_size * T * ab
    out = {"weights": n * pb, "gradients": n * pb, "adamw_state": 2 * n * 4, "activations": acts}
    out["total"] = sum(out.values())
    return out


def vary(cfg, **changes) -> Architecture:
    """A copy of ``cfg``'s architecture with fields changed; ``d_model`` keeps head_dim and d_ff ratio."""
    a = Architecture.from_config(cfg)
    if "d_model" in changes and "num_heads" not in changes:
        scale = changes["d_model"] / a.d_model
        changes["num_heads"] = max(1, round(a.num_heads * scale))
        changes.setdefault("num_kv_heads", max(1, round(a.num_kv_heads * scale)))
        changes.setdefault("d_ff", max(1, round(a.d_ff * scale)))
    known = {f.name for f in fields(Architecture)}
    return replace(a, **{k: v for k, v in changes.items() if k in known})


def width_sweep(cfg, widths=(256, 512, 1024, 2048, 4096, 8192), context_length: int | None = None) -> list:
    """FLOP shares as d_model grows at a fixed context: the FFN (~d^2) overtakes attention (~d T)."""
    return [{"d_model": w, **flop_shares(vary(cfg, d_model=w), context_length)} for w in widths]


def context_sweep(cfg, contexts=(256, 1024, 4096, 16384, 65536)) -> list:
    """FLOP shares as the context grows for a fixed model: attention over the context takes over."""
    return [{"context_length": t, **flop_shares(cfg, t)} for t in contexts]
