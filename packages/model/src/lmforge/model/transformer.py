"""The Transformer language model: blocks of attention and feed-forward, with swappable parts.

Read top to bottom: ``TransformerBlock`` (norm, attention, norm, FFN, with residuals) and
``TransformerLM`` (embeddings, blocks, final norm, LM head). Which attention kernel, norm, FFN and
position encoding are used, with which options, is a ``PartRef`` through the part registry (see
``ModelConfig``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from lmforge.core import PartRef, bind_part, build_part

from .attention import MultiHeadSelfAttention
from .config import ModelConfig
from .layers import Embedding, Linear


def attention_function(ref: PartRef | str) -> Any:
    """The attention part ``ref`` names, its options bound as keywords: attention is a function
    called in every forward, not a module built once like the other parts."""
    return bind_part("attention", ref, "model.attention")


class TransformerBlock(nn.Module):
    """x + attn(ln1(x)), then + ffn(ln2(x)) (pre-norm); post-norm applies ln1/ln2 after each residual."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int | None, num_kv_heads: int | None = None,
                 rope: nn.Module | None = None, attention: PartRef | str = "reference",
                 norm: PartRef | str = "rmsnorm", ffn: PartRef | str = "swiglu", norm_placement: str = "pre",
                 device=None, dtype=None) -> None:
        super().__init__()
        self.ln1 = build_part("norm", norm, d_model, device=device, dtype=dtype)
        self.attn = MultiHeadSelfAttention(d_model, num_heads, num_kv_heads, rope=rope, device=device,
                                           dtype=dtype, attention=attention_function(attention))
        self.ln2 = build_part("norm", norm, d_model, device=device, dtype=dtype)
        self.ffn = build_part("ffn", ffn, d_model, d_ff, device=device, dtype=dtype)
        self.pre_norm = norm_placement == "pre"

    def forward(self, x: torch.Tensor, token_positions: torch.Tensor | None = None, kv_cache=None,
                attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.attn(self.ln1(x), token_positions, kv_cache, attn_mask)
            return x + self.ffn(self.ln2(x))
        x = self.ln1(x + self.attn(x, token_positions, kv_cache, attn_mask))
        return self.ln2(x + self.ffn(x))


class TransformerLM(nn.Module):
    """A decoder-only LM returning unnormalized next-token logits of shape (batch..., seq, vocab)."""

    def __init__(self, vocab_size: int, context_length: int, d_model: int, num_layers: int, num_heads: int,
                 d_ff: int | None = None, rope_theta: float = 10_000.0, num_kv_heads: int | None = None,
                 attention: PartRef | str = "reference", norm: PartRef | str = "rmsnorm",
                 ffn: PartRef | str = "swiglu", position: PartRef | str = "rope", norm_placement: str = "pre",
                 tie_embeddings: bool = False,
                 checkpoint_activations: int = 0, device=None, dtype=None) -> None:
        super().__init__()
        self.config = ModelConfig(vocab_size, context_length, d_model, num_layers, num_heads, num_kv_heads,
                                  d_ff, rope_theta, attention, norm, ffn, position, norm_placement,
                                  tie_embeddings, checkpoint_activations)
        self.config.validate()
        self.context_length = context_length
        cfg = self.config  # its parts are PartRefs now, whatever form they were passed in
        rope = build_part("position", cfg.position, rope_theta, d_model // num_heads, context_length,
                          device=device)
        self.token_embeddings = Embedding(vocab_size, d_model, device=device, dtype=dtype)
        self.layers = nn.ModuleList(
            TransformerBlock(d_model, num_heads, d_ff, num_kv_heads, rope, cfg.attention, cfg.norm, cfg.ffn,
                             norm_placement, device=device, dtype=dtype)
            for _ in range(num_layers)
        )
        self.ln_final = build_part("norm", cfg.norm, d_model, device=device, dtype=dtype)
        self.lm_head = Linear(d_model, vocab_size, device=device, dtype=dtype)
        if tie_embeddings:
            # N(0, 1) embeddings would make tied logits ~sqrt(d_model) large; use the output layer's scale
            self.token_embeddings.weight = self.lm_head.weight

    @classmethod
    def from_config(cls, cfg: ModelConfig, device=None, dtype=None) -> TransformerLM:
        return cls(cfg.vocab_size, cfg.context_length, cfg.d_model, cfg.num_layers, cfg.num_heads,
                   d_ff=cfg.d_ff, rope_theta=cfg.rope_theta, num_kv_heads=cfg.num_kv_heads,
                   attention=cfg.attention, norm=cfg.norm, ffn=cfg.ffn, position=cfg.position,
                   norm_placement=cfg.norm_placement, tie_embeddings=cfg.tie_embeddings,
                   checkpoint_activations=cfg.checkpoint_activations, device=device, dtype=dtype)

    def forward(self, token_ids: torch.Tensor, token_positions: torch.Tensor | None = None,
                kv_caches=None, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """token_ids: (batch..., seq) ints. ``kv_caches``: one cache object per layer (see
        ``MultiHeadSelfAttention.forward``) for incremental decoding; ``attn_mask`` a boolean mask
        broadcastable to (batch..., heads, q_len, k_len), True = may attend."""
        x = self.token_embeddings(token_ids)
        segment = self.config.checkpoint_activations
        if segment and self.training and kv_caches is None and torch.is_grad_enabled():
            for start in range(0, len(self.layers), segment):
                blocks = self.layers[start:start + segment]
                x = checkpoint(self._run_blocks, blocks, x, token_positions, attn_mask, use_reentrant=False)
        else:
            for i, block in enumerate(self.layers):
                x = block(x, token_positions, None if kv_caches is None else kv_caches[i], attn_mask)
        return self.lm_head(self.ln_final(x))

    @staticmethod
    def _run_blocks(blocks, x, token_positions, attn_mask):
        for block in blocks:
            x = block(x, token_positions, None, attn_mask)
        return x

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        params = {id(p): p for p in self.parameters()}
        if exclude_embeddings and not self.config.tie_embeddings:
            params.pop(id(self.token_embeddings.weight))
        return sum(p.numel() for p in params.values())
