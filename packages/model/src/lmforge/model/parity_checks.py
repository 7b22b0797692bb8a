"""How two model parts of one kind are compared (``parity_check`` parts, one per kind).

attention, norm, ffn, position: both parts are built through their contract, given the same weights,
and run forward and backward on the same random inputs; the error is the largest difference over the
output and every gradient (inputs and parameters), scaled by the reference's magnitude where that is
above 1 (``|a - b| / max(1, |b|)``). The tolerance depends on the dtype: float32 1e-5 (tight: only
summation order may differ), bfloat16 2e-2, float16 5e-3. They run on CUDA when there is a GPU
(Triton kernels take nothing else), else on CPU with Triton in its interpreter.

optimizer: the same small regression problem trained for ``steps`` steps by both; the error is the
largest parameter difference over the whole trajectory (tolerance 1e-6, float32).
lr_schedule: both schedules over a grid of iterations and several (warm-up, cycle) settings; the
error is the largest difference in learning rate relative to ``max_lr`` (tolerance 1e-9).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch

from lmforge.core.contracts import ParityResult

if not torch.cuda.is_available():
    # Triton kernels can only run on CPU in Triton's interpreter, which is chosen when the kernel
    # module is imported; the harness resolves a check before the parts it compares.
    os.environ.setdefault("TRITON_INTERPRET", "1")

TOLERANCE = {torch.float32: 1e-5, torch.bfloat16: 2e-2, torch.float16: 5e-3}


def _device(device: str | None) -> str:
    """CUDA when there is one: Triton kernels take only CUDA tensors outside the interpreter."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def _dtype(name: str | torch.dtype) -> torch.dtype:
    return name if isinstance(name, torch.dtype) else getattr(torch, name)


def _error(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if not b.numel():
        return 0.0
    return ((a - b).abs().max() / b.abs().max().clamp(min=1.0)).item()


class _Worst:
    """The largest error seen so far and where."""

    def __init__(self) -> None:
        self.error, self.where = 0.0, ""

    def add(self, where: str, a: torch.Tensor, b: torch.Tensor) -> None:
        e = _error(a, b)
        if e > self.error or e != e:  # NaN is always the worst
            self.error, self.where = e, where

    def result(self, tolerance: float) -> ParityResult:
        passed = self.error <= tolerance
        return ParityResult(self.error, tolerance, passed, "" if passed else f"largest error in {self.where}")


def _forward_backward(fn: Callable, inputs: Sequence[torch.Tensor], params: dict[str, torch.nn.Parameter],
                      upstream_seed: int) -> tuple[torch.Tensor, list[torch.Tensor], dict[str, torch.Tensor]]:
    """Output, input gradients and parameter gradients of ``sum(fn(*inputs) * random upstream)``."""
    leaves = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = fn(*leaves)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(upstream_seed)).to(out)
    for p in params.values():
        p.grad = None
    (out.float() * upstream.float()).sum().backward()
    grads = [x.grad if x.grad is not None else torch.zeros_like(x) for x in leaves if x.is_floating_point()]
    pgrads = {k: (p.grad if p.grad is not None else torch.zeros_like(p)) for k, p in params.items()}
    return out, grads, pgrads


def _compare_calls(worst: _Worst, label: str, cand: Callable, ref: Callable, inputs: Sequence[torch.Tensor],
                   cand_params: dict | None = None, ref_params: dict | None = None, seed: int = 0) -> None:
    out_a, grads_a, pgrads_a = _forward_backward(cand, inputs, cand_params or {}, seed)
    out_b, grads_b, pgrads_b = _forward_backward(ref, inputs, ref_params or {}, seed)
    worst.add(f"{label}: output", out_a, out_b)
    for i, (a, b) in enumerate(zip(grads_a, grads_b)):
        worst.add(f"{label}: gradient of input {i}", a, b)
    for name, b in pgrads_b.items():
        worst.add(f"{label}: gradient of {name}", pgrads_a[name], b)


def _same_weights(cand: torch.nn.Module, ref: torch.nn.Module, seed: int) -> str:
    """Give the reference random weights (ones-initialized gains would hide bugs) and copy them over;
    returns what stops that ("" when nothing does)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn(p.shape, generator=g).to(p) * 0.5 + (1.0 if p.dim() == 1 else 0.0))
    differ = sorted(set(ref.state_dict()) ^ set(cand.state_dict()))
    if differ:
        return f"the parts' parameters have different names: {differ}"
    cand.load_state_dict(ref.state_dict())
    return ""


def _rand(gen: torch.Generator, *shape: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)


def attention_parity(candidate, reference, dtype: str = "float32", device: str | None = None,
                     seed: int = 0) -> ParityResult:
    """Outputs and q/k/v gradients: no mask, causal, a random boolean mask; square and n != m."""
    dt, worst, device = _dtype(dtype), _Worst(), _device(device)
    gen = torch.Generator().manual_seed(seed)
    cases = [((2, 3), 37, 37, 16), ((1, 2), 8, 45, 32), ((3,), 64, 64, 64)]  # (lead, n, m, d)
    for lead, n, m, d in cases:
        q, k, v = (_rand(gen, *lead, s, d, dtype=dt, device=device) for s in (n, m, m))
        mask = torch.rand(n, m, generator=gen) < 0.7
        mask[:, 0] = True  # every query sees at least one key
        for label, kwargs in (("no mask", {}), ("is_causal", {"is_causal": True}),
                              ("mask", {"mask": mask.to(device)})):
            _compare_calls(worst, f"{label} {lead}x{n}x{m}x{d}",
                           lambda q, k, v, kw=kwargs: candidate(q, k, v, **kw),
                           lambda q, k, v, kw=kwargs: reference(q, k, v, **kw), (q, k, v), seed=seed)
    return worst.result(TOLERANCE[dt])


def _module_parity(build: Callable, candidate, reference, shapes: Sequence[tuple[int, ...]], dtype: str,
                   device: str | None, seed: int) -> ParityResult:
    dt, worst = _dtype(dtype), _Worst()
    cand, ref = build(candidate, dt), build(reference, dt)
    problem = _same_weights(cand, ref, seed)
    if problem:
        return ParityResult(float("inf"), TOLERANCE[dt], False, problem)
    gen = torch.Generator().manual_seed(seed + 1)
    for shape in shapes:
        x = _rand(gen, *shape, dtype=dt, device=device) * 3
        _compare_calls(worst, f"input {shape}", cand, ref, (x,), dict(cand.named_parameters()),
                       dict(ref.named_parameters()), seed)
    return worst.result(TOLERANCE[dt])


def norm_parity(candidate, reference, d_model: int = 96, dtype: str = "float32", device: str | None = None,
                seed: int = 0) -> ParityResult:
    """``norm(d_model)`` with the same random gain: outputs, input and gain gradients."""
    device = _device(device)
    return _module_parity(lambda part, dt: part(d_model, device=device, dtype=dt), candidate, reference,
                          [(4, 7, d_model), (3, d_model)], dtype, device, seed)


def ffn_parity(candidate, reference, d_model: int = 48, d_ff: int = 128, dtype: str = "float32",
               device: str | None = None, seed: int = 0) -> ParityResult:
    """``ffn(d_model, d_ff)`` with the same weights: outputs, input and weight gradients."""
    device = _device(device)
    return _module_parity(lambda part, dt: part(d_model, d_ff, device=device, dtype=dt), candidate, reference,
                          [(2, 9, d_model), (5, d_model)], dtype, device, seed)


def position_parity(candidate, reference, theta: float = 10000.0, d_k: int = 32, max_seq_len: int = 64,
                    dtype: str = "float32", device: str | None = None, seed: int = 0) -> ParityResult:
    """``position(theta, d_k, max_seq_len)``: outputs and input gradients, default and given positions."""
    dt, worst, device = _dtype(dtype), _Worst(), _device(device)
    cand, ref = (p(theta, d_k, max_seq_len, device=device) for p in (candidate, reference))
    gen = torch.Generator().manual_seed(seed)
    x = _rand(gen, 2, 3, 20, d_k, dtype=dt, device=device)
    _compare_calls(worst, "positions 0..n-1", lambda x: cand(x), lambda x: ref(x), (x,), seed=seed)
    positions = torch.randint(0, max_seq_len, (2, 1, 20), generator=gen).to(device)
    _compare_calls(worst, "random positions", lambda x: cand(x, positions), lambda x: ref(x, positions), (x,),
                   seed=seed)
    return worst.result(TOLERANCE[dt])


def optimizer_parity(candidate, reference, steps: int = 30, lr: float = 1e-2, betas=(0.9, 0.95),
                     eps: float = 1e-8, weight_decay: float = 0.1, seed: int = 0) -> ParityResult:
    """A two-layer regression trained ``steps`` steps by each, from the same start, with the trainer's
    hyperparameters (lr, betas, eps, weight_decay): the largest parameter difference on the way."""
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(64, 8, generator=gen), torch.randn(64, 1, generator=gen)
    start = [torch.randn(8, 16, generator=gen) * 0.3, torch.zeros(16),
             torch.randn(16, 1, generator=gen) * 0.3]

    def trajectory(make) -> list[list[torch.Tensor]]:
        params = [torch.nn.Parameter(t.clone()) for t in start]
        opt = make(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        seen = []
        for _ in range(steps):
            w1, b1, w2 = params
            loss = ((torch.tanh(x @ w1 + b1) @ w2 - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen.append([p.detach().clone() for p in params])
        return seen

    worst = _Worst()
    for step, (a, b) in enumerate(zip(trajectory(candidate), trajectory(reference)), 1):
        for i, (pa, pb) in enumerate(zip(a, b)):
            worst.add(f"parameter {i} after step {step}", pa, pb)
    return worst.result(1e-6)


def lr_schedule_parity(candidate, reference, max_lr: float = 3e-3, min_lr: float = 3e-4,
                       **options) -> ParityResult:
    """The lr curve for iterations 0..cycle+20 under several (warm-up, cycle) settings, relative to max_lr."""
    error, where = 0.0, ""
    for warmup, cycle in ((0, 100), (10, 100), (50, 60), (7, 1000)):
        for it in range(cycle + 21):
            e = abs(candidate(it, max_lr, min_lr, warmup, cycle, **options)
                    - reference(it, max_lr, min_lr, warmup, cycle, **options)) / max_lr
            if e > error:
                error, where = e, f"it={it}, warmup={warmup}, cycle={cycle}"
    passed = error <= 1e-9
    return ParityResult(error, 1e-9, passed, "" if passed else f"largest difference at {where}")
