"""HF Llama interop: write a ``TransformerLM`` as a ``LlamaForCausalLM`` folder, and read one back.

The two models compute the same function; only names and one row order differ:

- Names: ``token_embeddings`` <-> ``model.embed_tokens``, ``layers.i.attn.{q,k,v,output}_proj`` <->
  ``model.layers.i.self_attn.{q,k,v,o}_proj``, ``ffn.w1/w3/w2`` <-> ``mlp.gate/up/down_proj``,
  ``ln1/ln2`` <-> ``input/post_attention_layernorm``, ``ln_final`` <-> ``model.norm``.
- RoPE layout: ours rotates adjacent pairs (x[2k], x[2k+1]); HF's ``rotate_half`` pairs x[k] with
  x[k + d/2], at the same frequency index k. Reordering each head's q/k output rows as
  [0, 2, 4, ..., 1, 3, 5, ...] turns one into the other (scores q.k are invariant to a permutation
  applied to both), so only ``q_proj`` and ``k_proj`` weights are permuted.

Reading needs only ``safetensors`` (a folder) or an in-memory ``transformers`` model; writing needs
neither ``transformers`` nor the network.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lmforge.core import LmforgeError, PartRef, atomic_write

_LAYER_NAMES = {  # ours -> HF, inside one block
    "attn.q_proj.weight": "self_attn.q_proj.weight",
    "attn.k_proj.weight": "self_attn.k_proj.weight",
    "attn.v_proj.weight": "self_attn.v_proj.weight",
    "attn.output_proj.weight": "self_attn.o_proj.weight",
    "ffn.w1.weight": "mlp.gate_proj.weight",
    "ffn.w3.weight": "mlp.up_proj.weight",
    "ffn.w2.weight": "mlp.down_proj.weight",
    "ln1.weight": "input_layernorm.weight",
    "ln2.weight": "post_attention_layernorm.weight",
}


def pairs_to_halves(w: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Reorder each head's rows from the adjacent-pair RoPE layout to HF's half-split layout."""
    out_dim, in_dim = w.shape
    head_dim = out_dim // num_heads
    return w.reshape(num_heads, head_dim // 2, 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def halves_to_pairs(w: torch.Tensor, num_heads: int) -> torch.Tensor:
    """The inverse of ``pairs_to_halves``."""
    out_dim, in_dim = w.shape
    head_dim = out_dim // num_heads
    return w.reshape(num_heads, 2, head_dim // 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def _check_llama_shaped(cfg) -> None:
    # a part is compared by name: its options (rmsnorm's eps) carry over into config.json
    unsupported = {k: str(getattr(cfg, k)) for k, want in (("norm", "rmsnorm"), ("ffn", "swiglu"),
                   ("position", "rope"), ("norm_placement", "pre")) if str(getattr(cfg, k)) != want}
    if unsupported:
        raise LmforgeError(f"only Llama-shaped models (rmsnorm, swiglu, rope, pre-norm) export to HF Llama; "
                           f"this one has {unsupported}")


def hf_state_dict(model, config=None) -> dict[str, torch.Tensor]:
    """The model's weights under HF Llama names and layout (tied: ``embed_tokens`` only, HF ties on load)."""
    cfg = config or model.config
    _check_llama_shaped(cfg)
    kv_heads = cfg.num_kv_heads or cfg.num_heads
    ours = model.state_dict()
    out = {"model.embed_tokens.weight": ours["token_embeddings.weight"],
           "model.norm.weight": ours["ln_final.weight"]}
    if not cfg.tie_embeddings:
        out["lm_head.weight"] = ours["lm_head.weight"]
    for i in range(cfg.num_layers):
        for mine, theirs in _LAYER_NAMES.items():
            w = ours[f"layers.{i}.{mine}"]
            if mine == "attn.q_proj.weight":
                w = pairs_to_halves(w, cfg.num_heads)
            elif mine == "attn.k_proj.weight":
                w = pairs_to_halves(w, kv_heads)
            out[f"model.layers.{i}.{theirs}"] = w
    return {k: v.detach().contiguous() for k, v in out.items()}


def hf_config_dict(cfg, rms_norm_eps: float = 1e-5, dtype: torch.dtype = torch.float32) -> dict:
    """``config.json`` for ``LlamaForCausalLM`` (old ``rope_theta`` and new ``rope_parameters`` keys)."""
    from .layers import default_swiglu_d_ff

    kv_heads = cfg.num_kv_heads or cfg.num_heads
    dtype_name = str(dtype).removeprefix("torch.")
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": cfg.vocab_size, "hidden_size": cfg.d_model,
        "intermediate_size": cfg.d_ff or default_swiglu_d_ff(cfg.d_model),
        "num_hidden_layers": cfg.num_layers, "num_attention_heads": cfg.num_heads,
        "num_key_value_heads": kv_heads, "head_dim": cfg.d_model // cfg.num_heads,
        "max_position_embeddings": cfg.context_length, "hidden_act": "silu", "rms_norm_eps": rms_norm_eps,
        "rope_theta": float(cfg.rope_theta),
        "rope_parameters": {"rope_type": "default", "rope_theta": float(cfg.rope_theta)},
        "tie_word_embeddings": bool(cfg.tie_embeddings), "attention_bias": False, "mlp_bias": False,
        "initializer_range": 0.02, "use_cache": True, "torch_dtype": dtype_name, "dtype": dtype_name,
        "bos_token_id": None, "eos_token_id": None,
    }


def _export_tokenizer(tokenizer, out: Path) -> bool:
    """Write tokenizer.json (+ tokenizer_config.json) when the tokenizer can be expressed in HF
    ``tokenizers`` (byte-level BPE can; byte/char/word tokenizers cannot); say whether it was."""
    try:
        from lmforge.tokenize import BPETokenizer, export_hf_tokenizer_json
    except (ImportError, AttributeError):
        return False
    if not isinstance(tokenizer, BPETokenizer):
        return False
    export_hf_tokenizer_json(tokenizer, out / "tokenizer.json")
    eot = "<|endoftext|>" if getattr(tokenizer, "eot_id", None) is not None else None
    atomic_write(out / "tokenizer_config.json", json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 1_000_000,
        "bos_token": eot, "eos_token": eot, "unk_token": None, "pad_token": None,
        "add_bos_token": False, "add_eos_token": False, "clean_up_tokenization_spaces": False,
    }, indent=2))
    return True


def export_hf_llama(model_or_run, out_dir, tokenizer=None, config=None) -> Path:
    """Write ``config.json``, ``model.safetensors`` (and ``tokenizer.json`` when the tokenizer can
    export itself) so that ``LlamaForCausalLM.from_pretrained(out_dir)`` gives the same logits.

    ``model_or_run``: a ``TransformerLM`` or a run directory (its latest checkpoint and tokenizer/).
    """
    from safetensors.torch import save_file

    if isinstance(model_or_run, (str, Path)):
        from .generation import load_run_model

        model, config = load_run_model(model_or_run)
        tok_dir = Path(model_or_run) / "tokenizer"
        if tokenizer is None and tok_dir.is_dir():
            from lmforge.tokenize import load_tokenizer

            tokenizer = load_tokenizer(tok_dir)
    else:
        model = model_or_run
    cfg = config or model.config
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.cpu() for k, v in hf_state_dict(model, cfg).items()}
    dtype = next(iter(weights.values())).dtype
    eps = float(getattr(model.ln_final, "eps", 1e-5))
    config_json = hf_config_dict(cfg, rms_norm_eps=eps, dtype=dtype)
    if tokenizer is not None and getattr(tokenizer, "eot_id", None) is not None:
        config_json["eos_token_id"] = config_json["bos_token_id"] = tokenizer.eot_id
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    atomic_write(out / "config.json", json.dumps(config_json, indent=2))
    if tokenizer is not None:
        _export_tokenizer(tokenizer, out)
    return out


def _read_folder(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise LmforgeError(f"{path}: cannot read config.json: {e}") from None
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise LmforgeError(f"{path}: no *.safetensors weights (only safetensors folders are read)")
    weights: dict[str, torch.Tensor] = {}
    for f in files:
        weights.update(load_file(str(f)))
    return config, weights


def model_config_from_hf(hf: dict):
    """The ``ModelConfig`` of an HF Llama ``config.json`` dict; unsupported variants are an error."""
    from .config import ModelConfig

    if hf.get("model_type", "llama") != "llama":
        raise LmforgeError(f"not a Llama config (model_type={hf.get('model_type')!r})")
    heads, d = hf["num_attention_heads"], hf["hidden_size"]
    if hf.get("head_dim") not in (None, d // heads):
        raise LmforgeError(f"head_dim {hf['head_dim']} != hidden_size / num_attention_heads")
    if hf.get("hidden_act", "silu") != "silu" or hf.get("attention_bias") or hf.get("mlp_bias"):
        raise LmforgeError("only silu, bias-free Llama models can be imported")
    rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type", "default")) not in ("default", None):
        raise LmforgeError(f"RoPE scaling {rope.get('rope_type')!r} is not supported")
    theta = rope.get("rope_theta", hf.get("rope_theta", 10_000.0))
    kv = hf.get("num_key_value_heads") or heads
    eps = float(hf.get("rms_norm_eps", 1e-5))
    norm = PartRef("rmsnorm", {} if eps == 1e-5 else {"eps": eps})  # 1e-5: RMSNorm's own default
    return ModelConfig(vocab_size=hf["vocab_size"], context_length=hf.get("max_position_embeddings", 2048),
                       d_model=d, num_layers=hf["num_hidden_layers"], num_heads=heads,
                       num_kv_heads=None if kv == heads else kv, d_ff=hf["intermediate_size"],
                       rope_theta=float(theta), norm=norm,
                       tie_embeddings=bool(hf.get("tie_word_embeddings", False)))


def import_hf_llama(path_or_hf_model, device=None, dtype=None):
    """A ``(TransformerLM, ModelConfig)`` computing what an HF Llama model computes.

    ``path_or_hf_model``: a folder with ``config.json`` and safetensors weights, or a loaded
    ``transformers`` Llama model (e.g. one read from GGUF by ``from_pretrained(..., gguf_file=...)``).
    """
    from .transformer import TransformerLM

    if isinstance(path_or_hf_model, (str, Path)):
        hf_cfg, weights = _read_folder(Path(path_or_hf_model))
    else:
        hf_cfg = path_or_hf_model.config.to_dict()
        weights = {k: v.detach() for k, v in path_or_hf_model.state_dict().items()}
    cfg = model_config_from_hf(hf_cfg)
    kv_heads = cfg.num_kv_heads or cfg.num_heads
    weights = {k.removeprefix("_orig_mod."): v for k, v in weights.items()}
    ours = {"token_embeddings.weight": weights["model.embed_tokens.weight"],
            "ln_final.weight": weights["model.norm.weight"]}
    tied = cfg.tie_embeddings
    ours["lm_head.weight"] = ours["token_embeddings.weight"] if tied else weights["lm_head.weight"]
    for i in range(cfg.num_layers):
        for mine, theirs in _LAYER_NAMES.items():
            w = weights[f"model.layers.{i}.{theirs}"]
            if mine == "attn.q_proj.weight":
                w = halves_to_pairs(w, cfg.num_heads)
            elif mine == "attn.k_proj.weight":
                w = halves_to_pairs(w, kv_heads)
            ours[f"layers.{i}.{mine}"] = w
    dtype = dtype or ours["token_embeddings.weight"].dtype
    model = TransformerLM.from_config(cfg, device=device, dtype=dtype)
    model.load_state_dict(ours, strict=True)
    return model.eval(), cfg
