"""Policy weights in the HF Llama layout, for engines that serve an HF model (``hf``, ``vllm``).

An HF policy already is one. An lmforge ``TransformerLM`` goes through the model package's HF Llama
exporter, which owns the name mapping, the RoPE row permutation and tied embeddings.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch


def is_hf_model(model) -> bool:
    try:
        from transformers import PreTrainedModel
    except ImportError:
        return False
    return isinstance(model, PreTrainedModel)


def export_policy(model, out_dir: str | Path, tokenizer=None) -> Path:
    """Write ``model`` as an HF Llama folder (config.json + safetensors)."""
    out_dir = Path(out_dir)
    if is_hf_model(model):
        model.save_pretrained(out_dir)
        if tokenizer is not None and hasattr(tokenizer, "save_pretrained"):
            tokenizer.save_pretrained(out_dir)
        return out_dir
    from lmforge.model import export_hf_llama

    export_hf_llama(model, out_dir, tokenizer=tokenizer)
    return out_dir


def hf_state_dict(model) -> dict[str, torch.Tensor]:
    """Every weight under its HF Llama name, the embedding included (a tied head is the embedding)."""
    if is_hf_model(model):
        sd = dict(model.state_dict())
        if "lm_head.weight" not in sd and "model.embed_tokens.weight" in sd:
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
        return sd
    from lmforge.model import hf_state_dict as lmforge_hf_state_dict

    return dict(lmforge_hf_state_dict(model))


def iter_hf_weights(model) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, tensor) pairs, detached, one at a time (vLLM's ``weights_iterator``)."""
    for name, tensor in hf_state_dict(model).items():
        yield name, tensor.detach()


def as_hf_model(model, into=None):
    """(an HF model holding ``model``'s weights, whether it *is* ``model``)."""
    if is_hf_model(model):
        return model, True
    if into is not None:
        into.load_state_dict(hf_state_dict(model), strict=False)
        return into, False
    from transformers import AutoModelForCausalLM

    with tempfile.TemporaryDirectory() as tmp:
        export_policy(model, tmp)
        hf = AutoModelForCausalLM.from_pretrained(tmp, torch_dtype=torch.float32)
    return hf.to(next(model.parameters()).device), False
