"""lmforge.model: a Llama-style Transformer from scratch, its losses, optimizer, data loading,
checkpoints and trainer.

Names are imported lazily (PEP 562) so that loading ``lmforge.model.plugin`` (which imports this
package first) stays cheap and torch is imported only when a name is used.
"""

from __future__ import annotations

from lmforge.core import lazy_exports

# public name -> submodule that defines it
_EXPORTS = {
    # layers
    "Linear": "layers", "Embedding": "layers", "RMSNorm": "layers", "LayerNorm": "layers",
    "SwiGLU": "layers", "SiLUMLP": "layers", "silu": "layers", "softmax": "layers",
    "RotaryEmbedding": "rope",
    "scaled_dot_product_attention": "attention", "MultiHeadSelfAttention": "attention",
    "TransformerBlock": "transformer", "TransformerLM": "transformer",
    "ModelConfig": "config",
    # training
    "cross_entropy": "losses",
    "AdamW": "optim", "clip_grad_norm": "optim",
    "cosine_lr": "schedules", "constant_lr": "schedules", "wsd_lr": "schedules",
    "get_batch": "data", "open_tokens": "data",
    "save_checkpoint": "checkpoint", "load_checkpoint": "checkpoint",
    "ParallelBackend": "parallel",
    "TrainConfig": "train_config",
    "train": "trainer",
    # generation, accounting, HF interop
    "generate": "generation", "KVCache": "generation", "TorchRolloutEngine": "generation",
    "RolloutResult": "generation", "load_run_model": "generation",
    "count_parameters": "accounting", "flops_per_token": "accounting", "training_flops": "accounting",
    "memory_bytes": "accounting",
    "export_hf_llama": "hf_llama", "import_hf_llama": "hf_llama", "hf_state_dict": "hf_llama",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
