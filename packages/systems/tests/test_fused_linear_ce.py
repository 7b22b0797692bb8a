import pytest
import torch
import torch.nn.functional as F

from lmforge.systems.kernels.fused_linear_ce import FusedLinearCrossEntropy, fused_linear_cross_entropy


@pytest.mark.parametrize("chunk", [1, 7, 1000])
@pytest.mark.parametrize("with_bias", [False, True])
def test_matches_unfused_head(chunk, with_bias):
    torch.manual_seed(0)
    h = torch.randn(3, 9, 16, requires_grad=True)
    w = torch.randn(40, 16, requires_grad=True)
    b = torch.randn(40, requires_grad=True) if with_bias else None
    t = torch.randint(0, 40, (3, 9))
    t[1, 2] = -100  # ignored positions do not count in the mean
    loss = fused_linear_cross_entropy(h, w, t, bias=b, chunk_size=chunk)
    params = [h, w] + ([b] if with_bias else [])
    grads = torch.autograd.grad(3.0 * loss, params)
    logits = h @ w.t() + (b if with_bias else 0)
    ref = F.cross_entropy(logits.reshape(-1, 40), t.reshape(-1), ignore_index=-100)
    ref_grads = torch.autograd.grad(3.0 * ref, params)
    torch.testing.assert_close(loss, ref, rtol=1e-6, atol=1e-6)
    for a, r in zip(grads, ref_grads):
        torch.testing.assert_close(a, r, rtol=1e-5, atol=1e-6)


def test_bf16_weight_gradient_accumulates_in_fp32():
    torch.manual_seed(0)
    h = torch.randn(64, 16).bfloat16().requires_grad_()
    w = torch.randn(32, 16).bfloat16().requires_grad_()
    t = torch.randint(0, 32, (64,))
    loss = fused_linear_cross_entropy(h, w, t, chunk_size=4)
    loss.backward()
    assert w.grad.dtype == torch.bfloat16 and h.grad.dtype == torch.bfloat16
    hf, wf = h.detach().float().requires_grad_(), w.detach().float().requires_grad_()
    F.cross_entropy(hf @ wf.t(), t).backward()
    # one bf16 rounding at the end, not one per chunk
    torch.testing.assert_close(w.grad.float(), wf.grad, rtol=1e-2, atol=1e-3)


def test_module_returns_loss():
    head = FusedLinearCrossEntropy(8, 20, chunk_size=3)
    h = torch.randn(2, 5, 8)
    t = torch.randint(0, 20, (2, 5))
    ref = F.cross_entropy((h @ head.weight.t()).reshape(-1, 20), t.reshape(-1))
    torch.testing.assert_close(head(h, t), ref)


def _unfused(h, w, t):
    return F.cross_entropy((h @ w.t()).float().reshape(-1, w.shape[0]), t.reshape(-1))


@pytest.mark.parametrize("chunk", [5, 64])
def test_runs_under_autocast_and_matches_the_unfused_head(chunk):
    """Issue 14.4: under autocast the fused head raised a dtype mismatch. It must follow autocast like
    the unfused ``h @ W.T``: bf16 GEMMs, fp32 master weights, gradients in the parameters' dtypes."""
    torch.manual_seed(0)
    h = torch.randn(4, 16, 32, requires_grad=True)
    w = (torch.randn(96, 32) * 32 ** -0.5).requires_grad_()
    t = torch.randint(0, 96, (4, 16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = fused_linear_cross_entropy(h, w, t, chunk_size=chunk)
        ref = _unfused(h, w, t)
    grads = torch.autograd.grad(loss, (h, w))
    ref_grads = torch.autograd.grad(ref, (h, w))
    assert loss.dtype == torch.float32 and grads[0].dtype == grads[1].dtype == torch.float32
    torch.testing.assert_close(loss, ref, rtol=2e-3, atol=2e-3)
    for a, r in zip(grads, ref_grads):
        torch.testing.assert_close(a, r, rtol=2e-2, atol=2e-3)
    # and it really ran in bf16: far closer to the bf16 reference than to the fp32 one
    exact = _unfused(h.detach(), w.detach(), t)
    assert (loss - ref).abs() < (loss - exact).abs() or (ref - exact).abs() < 1e-6


def test_gemms_run_in_the_compute_dtype_without_fp32_weight_copies(monkeypatch):
    """Every matrix product sees compute-dtype operands, and the weight is cast once per call."""
    import lmforge.systems.kernels.fused_linear_ce as mod

    seen, casts = [], []
    real_matmul, real_mm = torch.Tensor.__matmul__, torch.mm

    h = torch.randn(40, 16, requires_grad=True)
    w = torch.randn(50, 16, requires_grad=True)
    t = torch.randint(0, 50, (40,))
    orig_chunked = mod._chunked

    def spy_chunked(h_, weight, *a):
        real_to = torch.Tensor.to

        def to(self, *args, **kw):
            if self is weight:
                casts.append(args)
            return real_to(self, *args, **kw)

        def matmul(a_, b_):
            seen.append((a_.dtype, b_.dtype))
            return real_matmul(a_, b_)

        def mm(a_, b_, out=None):
            seen.append((a_.dtype, b_.dtype))
            return real_mm(a_, b_, out=out)

        monkeypatch.setattr(torch.Tensor, "to", to)
        monkeypatch.setattr(torch.Tensor, "__matmul__", matmul)
        monkeypatch.setattr(torch, "mm", mm)
        try:
            return orig_chunked(h_, weight, *a)
        finally:
            monkeypatch.undo()

    monkeypatch.setattr(mod, "_chunked", spy_chunked)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused_linear_cross_entropy(h, w, t, chunk_size=8).backward()
    assert seen and all(d == (torch.bfloat16, torch.bfloat16) for d in seen)
    assert len(casts) == 1  # one cast of the weight per call, not one per chunk (5 chunks here)
    assert w.grad.dtype == torch.float32


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_parity_with_unfused_head_per_dtype(dtype):
    torch.manual_seed(1)
    h = torch.randn(128, 64, dtype=dtype, requires_grad=True)
    w = (torch.randn(300, 64) * 0.125).to(dtype).requires_grad_()
    t = torch.randint(0, 300, (128,))
    loss = fused_linear_cross_entropy(h, w, t, chunk_size=48)
    grads = torch.autograd.grad(loss, (h, w))
    ref = _unfused(h, w, t)
    ref_grads = torch.autograd.grad(ref, (h, w))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=2e-2, atol=2e-3)
    torch.testing.assert_close(loss, ref, **tol)
    for a, r in zip(grads, ref_grads):
        assert a.dtype == dtype
        torch.testing.assert_close(a.float(), r.float(), **tol)
