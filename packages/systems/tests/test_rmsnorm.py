import pytest
import torch

from lmforge.core import get_part
from lmforge.systems.kernels.rmsnorm_torch import (
    RMSNormFunction,
    rmsnorm_forward,
    rmsnorm_grad_g,
    rmsnorm_grad_x,
)


def formula(x, g, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * g.float()).to(x.dtype)


def test_hand_derived_gradients_match_float64_autograd():
    x = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    g = torch.randn(6, dtype=torch.float64, requires_grad=True)

    # the Function computes in fp32; gradcheck needs float64, so check the dx and dg formulas alone
    def f(x, g):
        rstd = torch.rsqrt(x.pow(2).mean(-1) + 1e-5)
        return x * rstd[..., None] * g

    assert torch.autograd.gradcheck(f, (x, g))
    y = f(x, g)
    dy = torch.randn_like(y)
    dx_ref, dg_ref = torch.autograd.grad(y, (x, g), dy)
    rstd = torch.rsqrt(x.pow(2).mean(-1) + 1e-5)
    xd = x.detach()
    torch.testing.assert_close(rmsnorm_grad_x(dy, xd, g.detach(), rstd.detach()).double(), dx_ref,
                               rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(rmsnorm_grad_g(dy, xd, rstd.detach()).double(), dg_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 5, 16), (7, 33)])
def test_torch_function_matches_autograd_of_formula(shape):
    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=True)
    g = torch.randn(shape[-1], requires_grad=True)
    y = RMSNormFunction.apply(x, g, 1e-5)
    dy = torch.randn_like(y)
    dx, dg = torch.autograd.grad(y, (x, g), dy)
    y_ref = formula(x, g)
    dx_ref, dg_ref = torch.autograd.grad(y_ref, (x, g), dy)
    torch.testing.assert_close(y, y_ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(dx, dx_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(dg, dg_ref, rtol=1e-5, atol=1e-5)
    _, rstd = rmsnorm_forward(x.detach(), g.detach(), 1e-5)
    assert rstd.shape == shape[:-1]


def test_torch_part_matches_model_reference_part():
    torch.manual_seed(0)
    ref = get_part("norm", "rmsnorm")(24)
    ours = get_part("norm", "rmsnorm_torch")(24)
    with torch.no_grad():
        ref.weight.copy_(torch.randn(24))
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 5, 24, requires_grad=True)
    dy = torch.randn(3, 5, 24)
    y_ref = ref(x)
    y_ref.backward(dy)
    dx_ref, dg_ref = x.grad.clone(), ref.weight.grad.clone()
    x.grad = None
    y = ours(x)
    y.backward(dy)
    torch.testing.assert_close(y, y_ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(x.grad, dx_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.weight.grad, dg_ref, rtol=1e-5, atol=1e-5)


triton_cases = [(torch.float32, 16), (torch.float32, 100), (torch.bfloat16, 48), (torch.bfloat16, 7)]


@pytest.mark.parametrize("dtype,hidden", triton_cases)
def test_triton_matches_torch_function(dtype, hidden):
    pytest.importorskip("triton")
    from lmforge.systems.kernels.rmsnorm_triton import RMSNormTritonFunction

    torch.manual_seed(0)
    x = torch.randn(3, 11, hidden, dtype=dtype, requires_grad=True)
    g = (1 + 0.1 * torch.randn(hidden)).to(dtype).requires_grad_()
    dy = torch.randn(3, 11, hidden, dtype=dtype)
    y = RMSNormTritonFunction.apply(x, g, 1e-5)
    dx, dg = torch.autograd.grad(y, (x, g), dy)
    y_ref = RMSNormFunction.apply(x, g, 1e-5)
    dx_ref, dg_ref = torch.autograd.grad(y_ref, (x, g), dy)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=2e-2, atol=2e-2)
    assert y.dtype == dtype and dx.dtype == dtype and dg.dtype == dtype
    torch.testing.assert_close(y, y_ref, **tol)
    torch.testing.assert_close(dx, dx_ref, **tol)
    torch.testing.assert_close(dg.float(), dg_ref.float(), rtol=tol["rtol"], atol=tol["atol"] * 10)


def test_triton_part_in_module_form():
    pytest.importorskip("triton")
    norm = get_part("norm", "rmsnorm_triton")(40, eps=1e-6)
    x = torch.randn(2, 3, 40)
    torch.testing.assert_close(norm(x), formula(x, norm.weight.detach(), eps=1e-6), rtol=1e-5, atol=1e-5)
