"""The model package's parity checks pass equal parts and catch parts that compute something else."""

import math

import torch

from lmforge.model.attention import scaled_dot_product_attention
from lmforge.model.layers import LayerNorm, RMSNorm, SwiGLU, softmax
from lmforge.model.optim import AdamW, torch_adamw
from lmforge.model.parity_checks import (
    attention_parity,
    ffn_parity,
    lr_schedule_parity,
    norm_parity,
    optimizer_parity,
    position_parity,
)
from lmforge.model.rope import NoPosition, RotaryEmbedding
from lmforge.model.schedules import constant_lr, cosine_lr, wsd_lr


def attention_unscaled(q, k, v, mask=None, is_causal=False):
    """Forgets the 1/sqrt(d) scale."""
    return scaled_dot_product_attention(q * math.sqrt(q.shape[-1]), k, v, mask, is_causal)


def attention_bottom_right(q, k, v, mask=None, is_causal=False):
    """Causal masking aligned at the last key (like the flash2 parts): differs only when n != m."""
    if is_causal:
        n, m = q.shape[-2], k.shape[-2]
        cm = torch.ones(n, m, dtype=torch.bool, device=q.device).tril(m - n)
        mask = cm if mask is None else mask & cm
    return scaled_dot_product_attention(q, k, v, mask)


def attention_by_hand(q, k, v, mask=None, is_causal=False):
    """The same maths written with einsum and an additive mask."""
    s = torch.einsum("...nd,...md->...nm", q, k) / math.sqrt(q.shape[-1])
    if is_causal:
        s = s + torch.full(s.shape[-2:], float("-inf"), device=s.device).triu(1)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.einsum("...nm,...md->...nd", softmax(s, -1), v)


def test_attention_check():
    assert attention_parity(attention_by_hand, scaled_dot_product_attention).passed
    assert not attention_parity(attention_unscaled, scaled_dot_product_attention).passed
    off = attention_parity(attention_bottom_right, scaled_dot_product_attention)
    assert not off.passed and "is_causal" in off.detail


class RMSNormNoEps(RMSNorm):
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True)) * self.weight


class RMSNormNoGain(RMSNorm):
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def test_norm_check_compares_outputs_and_the_gain_gradient():
    same = norm_parity(RMSNormNoEps, RMSNorm)
    assert same.passed and same.tolerance == 1e-5  # eps is 1e-5 against inputs of scale 3: within fp32
    assert not norm_parity(RMSNormNoGain, RMSNorm).passed
    bf16 = norm_parity(RMSNorm, RMSNorm, dtype="bfloat16")
    assert bf16.passed and bf16.tolerance == 2e-2


def test_norm_check_fails_parts_with_other_parameters():
    result = norm_parity(LayerNorm, RMSNorm)
    assert not result.passed and "different names: ['bias']" in result.detail


class SwiGLUGelu(SwiGLU):
    def forward(self, x):
        return self.w2(torch.nn.functional.gelu(self.w1(x)) * self.w3(x))


class SwiGLUTorch(SwiGLU):
    def forward(self, x):
        return self.w2(torch.nn.functional.silu(self.w1(x)) * self.w3(x))


def test_ffn_check():
    assert ffn_parity(SwiGLUTorch, SwiGLU).passed
    assert not ffn_parity(SwiGLUGelu, SwiGLU).passed


class RopeEvenOdd(torch.nn.Module):
    """RoPE written with strided even/odd slices and complex-free trig, computed on the fly."""

    def __init__(self, theta, d_k, max_seq_len, device=None):
        super().__init__()
        self.inv = theta ** (-torch.arange(0, d_k, 2, dtype=torch.float64, device=device) / d_k)

    def forward(self, x, token_positions=None):
        pos = torch.arange(x.shape[-2], device=x.device) if token_positions is None else token_positions
        ang = (pos[..., None].double() * self.inv).float()
        cos, sin = ang.cos(), ang.sin()
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


def test_position_check():
    assert position_parity(RopeEvenOdd, RotaryEmbedding).passed
    assert not position_parity(NoPosition, RotaryEmbedding).passed


def adam_without_decoupled_decay(params, lr, betas, eps, weight_decay):
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


def test_optimizer_check_follows_the_trajectory():
    assert optimizer_parity(torch_adamw, AdamW).passed
    bad = optimizer_parity(adam_without_decoupled_decay, AdamW)
    assert not bad.passed and "after step" in bad.detail


def test_lr_schedule_check():
    assert lr_schedule_parity(cosine_lr, cosine_lr).passed
    assert not lr_schedule_parity(wsd_lr, cosine_lr).passed
    assert not lr_schedule_parity(constant_lr, cosine_lr).passed
