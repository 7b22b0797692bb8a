import pytest
import torch
import torch.nn.functional as F

from lmforge.core import get_part


def reference(q, k, v, is_causal):
    # the attention contract's causal convention is torch's: query i sees keys 0..i (top-left), also
    # when there are fewer queries than keys (the kernels hand those calls to SDPA)
    return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)


def run_and_grad(fn, q, k, v, d_out):
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out = fn(q, k, v)
    out.backward(d_out)
    return out, q.grad, k.grad, v.grad


def inputs(batch, heads, s_q, s_k, d, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, heads, s_q, d, generator=g).to(dtype)
    k = torch.randn(batch, heads, s_k, d, generator=g).to(dtype)
    v = torch.randn(batch, heads, s_k, d, generator=g).to(dtype)
    d_out = torch.randn(batch, heads, s_q, d, generator=g).to(dtype)
    return q, k, v, d_out


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("s_q,s_k,d", [(70, 70, 16), (130, 130, 32), (40, 100, 8)])
def test_flash2_torch_matches_sdpa(is_causal, s_q, s_k, d):
    from lmforge.systems.kernels.flash2_torch import flash2_torch

    q, k, v, d_out = inputs(2, 2, s_q, s_k, d)
    got = run_and_grad(lambda q, k, v: flash2_torch(q, k, v, is_causal=is_causal), q, k, v, d_out)
    want = run_and_grad(lambda q, k, v: reference(q, k, v, is_causal), q, k, v, d_out)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=2e-5)


def test_flash2_torch_saves_only_inputs_output_and_logsumexp():
    from lmforge.systems.kernels.flash2_torch import FlashAttention2Torch

    q, k, v, _ = inputs(1, 3, 96, 96, 16)
    q.requires_grad_()
    out = FlashAttention2Torch.apply(q.reshape(3, 96, 16), k.reshape(3, 96, 16), v.reshape(3, 96, 16), True)
    saved = out.grad_fn.saved_tensors
    shapes = sorted(tuple(t.shape) for t in saved)
    # q, k, v, O and L (one float per query row): no seq x seq tensor is kept
    assert shapes == sorted([(3, 96, 16)] * 4 + [(3, 96)])


def test_flash_parts_match_the_model_reference_part():
    reference_part = get_part("attention", "reference")
    q, k, v, d_out = inputs(1, 2, 33, 33, 16)
    want = run_and_grad(lambda q, k, v: reference_part(q, k, v, is_causal=True), q, k, v, d_out)
    got = run_and_grad(lambda q, k, v: get_part("attention", "flash2_torch")(q, k, v, is_causal=True),
                       q, k, v, d_out)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=2e-5)


def test_explicit_mask_and_grouped_kv_heads():
    from lmforge.systems.kernels.flash2_torch import flash2_torch

    q, _, _, _ = inputs(1, 4, 20, 20, 8)
    _, k, v, _ = inputs(1, 2, 20, 20, 8, seed=1)
    k_full, v_full = k.repeat_interleave(2, dim=1), v.repeat_interleave(2, dim=1)
    torch.testing.assert_close(flash2_torch(q, k, v, is_causal=True), reference(q, k_full, v_full, True),
                               rtol=1e-5, atol=1e-5)
    mask = torch.rand(20, 20) > 0.3
    mask[:, 0] = True
    torch.testing.assert_close(flash2_torch(q, k_full, v_full, mask=mask),
                               F.scaled_dot_product_attention(q, k_full, v_full, attn_mask=mask))


triton_cases = [
    (torch.float32, False, 17, 17, 16),
    (torch.float32, True, 40, 40, 32),
    (torch.float32, True, 20, 36, 24),
    (torch.bfloat16, True, 33, 33, 16),
    (torch.bfloat16, False, 24, 40, 32),
]


@pytest.mark.parametrize("dtype,is_causal,s_q,s_k,d", triton_cases)
def test_flash2_triton_matches_sdpa(dtype, is_causal, s_q, s_k, d):
    pytest.importorskip("triton")
    from lmforge.systems.kernels.flash2_triton import flash2_triton

    q, k, v, d_out = inputs(1, 2, s_q, s_k, d, dtype=dtype)
    got = run_and_grad(lambda q, k, v: flash2_triton(q, k, v, is_causal=is_causal), q, k, v, d_out)
    want = run_and_grad(lambda q, k, v: reference(q.float(), k.float(), v.float(), is_causal), q, k, v,
                        d_out.float())
    tol = dict(rtol=1e-5, atol=5e-6) if dtype == torch.float32 else dict(rtol=3e-2, atol=3e-2)
    for a, b in zip(got, want):
        assert a.dtype == dtype
        torch.testing.assert_close(a.float(), b.float(), **tol)


try:  # a probe kernel at module level: jitted functions resolve names in their module's globals
    import triton
    import triton.language as tl

    from lmforge.systems.kernels.flash2_triton import _tile_and_head, flat_grid

    @triton.jit
    def _coordinate_probe(OUT, seq, stride, BLOCK: tl.constexpr):
        tile, bh = _tile_and_head(seq, BLOCK)
        pid = tl.program_id(0)
        tl.store(OUT + 3 * pid, tile.to(tl.int64))
        tl.store(OUT + 3 * pid + 1, bh)
        tl.store(OUT + 3 * pid + 2, bh * stride)
except ImportError:
    triton = None


@pytest.mark.skipif(triton is None, reason="triton is not installed")
def test_program_coordinates_cover_every_tile_once_in_int64():
    """Issue 14.10: batch*heads lives on grid axis 0 (no 65535 cap) and offsets are int64. The probe
    runs the kernels' own coordinate helper and stores ``bh * stride`` with a stride of 2^30: in int32
    that product wraps for bh >= 2."""
    heads, seq, block, stride = 5, 50, 16, 2**30
    grid = flat_grid(heads, seq, block)
    assert len(grid) == 1 and grid[0] == 4 * heads
    assert flat_grid(70_000, 128, 64) == (140_000,)  # past the 65535 of a second grid axis
    out = torch.zeros(grid[0], 3, dtype=torch.int64)
    _coordinate_probe[grid](out, seq, stride, BLOCK=block)
    pairs = {(int(t), int(b)) for t, b, _ in out}
    assert pairs == {(t, b) for t in range(4) for b in range(heads)}
    assert torch.equal(out[:, 2], out[:, 1] * stride)  # no int32 wrap-around
