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
