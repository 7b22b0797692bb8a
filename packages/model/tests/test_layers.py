"""Each from-scratch layer against a formula or torch's own implementation."""

import math

import pytest
import torch
import torch.nn.functional as F

from lmforge.model import (
    Embedding,
    LayerNorm,
    Linear,
    RMSNorm,
    RotaryEmbedding,
    SiLUMLP,
    SwiGLU,
    scaled_dot_product_attention,
    silu,
    softmax,
)
from lmforge.model.attention import torch_sdpa
from lmforge.model.layers import default_swiglu_d_ff


def test_linear_shape_init_and_math():
    torch.manual_seed(0)
    lin = Linear(300, 200)
    assert lin.weight.shape == (200, 300)
    std = math.sqrt(2 / 500)
    assert lin.weight.abs().max() <= 3 * std + 1e-6
    assert abs(lin.weight.std().item() - std) / std < 0.15  # truncation shrinks sigma a little
    x = torch.randn(2, 5, 300)
    torch.testing.assert_close(lin(x), F.linear(x, lin.weight))
    assert list(dict(lin.named_parameters())) == ["weight"]


def test_embedding_lookup_and_init():
    torch.manual_seed(0)
    emb = Embedding(1000, 16)
    assert emb.weight.abs().max() <= 3.0
    ids = torch.randint(0, 1000, (3, 7))
    torch.testing.assert_close(emb(ids), F.embedding(ids, emb.weight))


def test_rmsnorm_matches_formula_and_keeps_dtype():
    norm = RMSNorm(8, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.linspace(0.5, 2, 8))
    x = torch.randn(4, 3, 8)
    expected = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * norm.weight
    torch.testing.assert_close(norm(x), expected)
    torch.testing.assert_close(norm(x), F.rms_norm(x, (8,), norm.weight, eps=1e-5))
    assert norm(x.bfloat16()).dtype == torch.bfloat16


def test_layernorm_matches_torch():
    ln = LayerNorm(8)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    x = torch.randn(4, 8) * 3 + 1
    torch.testing.assert_close(ln(x), F.layer_norm(x, (8,), ln.weight, ln.bias, eps=1e-5))


def test_silu_and_softmax():
    x = torch.randn(5, 9)
    torch.testing.assert_close(silu(x), F.silu(x))
    torch.testing.assert_close(softmax(x, dim=-1), F.softmax(x, dim=-1))
    torch.testing.assert_close(softmax(x, dim=0), F.softmax(x, dim=0))
    big = x + 1000.0  # exp would overflow without the max subtraction
    out = softmax(big, dim=-1)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, F.softmax(x, dim=-1))


def test_swiglu_and_silu_mlp():
    assert default_swiglu_d_ff(512) == 1344 and default_swiglu_d_ff(768) % 64 == 0
    ffn = SwiGLU(16, 64)
    assert [n for n, _ in ffn.named_parameters()] == ["w1.weight", "w2.weight", "w3.weight"]
    x = torch.randn(2, 3, 16)
    expected = F.linear(F.silu(F.linear(x, ffn.w1.weight)) * F.linear(x, ffn.w3.weight), ffn.w2.weight)
    torch.testing.assert_close(ffn(x), expected)
    mlp = SiLUMLP(16)
    assert mlp.w1.weight.shape == (64, 16)
    torch.testing.assert_close(mlp(x), F.linear(F.silu(F.linear(x, mlp.w1.weight)), mlp.w2.weight))


def _rope_complex(x, positions, theta):
    """RoPE as multiplication of (x[2k] + i x[2k+1]) by exp(i pos theta^(-2k/d))."""
    d = x.shape[-1]
    freqs = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    rot = torch.polar(torch.ones(len(positions), d // 2, dtype=torch.float64),
                      positions.double()[:, None] * freqs[None])
    xc = torch.view_as_complex(x.double().unflatten(-1, (-1, 2)).contiguous())
    return torch.view_as_real(xc * rot).flatten(-2).float()


def test_rope_matches_complex_rotation():
    rope = RotaryEmbedding(10000.0, 16, 64)
    x = torch.randn(2, 4, 10, 16)
    pos = torch.arange(5, 15)
    torch.testing.assert_close(rope(x, pos), _rope_complex(x, pos, 10000.0), atol=1e-5, rtol=1e-5)
    assert dict(rope.state_dict()) == {}  # sin/cos are non-persistent
    torch.testing.assert_close(rope(x), rope(x, torch.arange(10)))  # None = 0..seq-1
    # norms are preserved and position 0 is the identity
    torch.testing.assert_close(rope(x, pos).norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(rope(x, torch.zeros(10, dtype=torch.long)), x)


@pytest.mark.parametrize("attention", [scaled_dot_product_attention, torch_sdpa])
def test_attention_matches_torch_sdpa(attention):
    q, k, v = torch.randn(2, 3, 6, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8)
    mask = torch.rand(6, 7) > 0.3
    mask[:, 0] = True  # every query sees something
    torch.testing.assert_close(attention(q, k, v, mask=mask),
                               F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attention(q, k, v, is_causal=True),
                               F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-5, rtol=1e-5)


def test_attention_any_leading_dims():
    q = torch.randn(5, 4, 8)  # one leading dim
    out = scaled_dot_product_attention(q, q, q)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, q, q), atol=1e-5, rtol=1e-5)
