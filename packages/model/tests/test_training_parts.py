"""Loss, optimizer, schedules, clipping and batching against torch's own implementations."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lmforge.core import get_part
from lmforge.model import AdamW, clip_grad_norm, cosine_lr, cross_entropy, get_batch
from lmforge.model.data import InvalidDeviceError
from lmforge.model.schedules import constant_lr, wsd_lr


def test_cross_entropy_matches_torch_any_leading_dims():
    logits, targets = torch.randn(2, 3, 5, 11), torch.randint(0, 11, (2, 3, 5))
    torch.testing.assert_close(cross_entropy(logits, targets),
                               F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1)))
    torch.testing.assert_close(cross_entropy(logits[0, 0], targets[0, 0]), F.cross_entropy(logits[0, 0],
                                                                                          targets[0, 0]))


def test_cross_entropy_is_stable_for_large_logits_and_ignores_index():
    logits = torch.randn(8, 7) * 1000
    targets = torch.randint(0, 7, (8,))
    out = cross_entropy(logits, targets)
    assert torch.isfinite(out)
    torch.testing.assert_close(out, F.cross_entropy(logits, targets))
    targets[::2] = -100
    torch.testing.assert_close(cross_entropy(logits, targets), F.cross_entropy(logits, targets))
    per = cross_entropy(logits, targets, reduction="none")
    assert per.shape == (8,) and (per[::2] == 0).all()


def test_cross_entropy_gradient_matches_torch():
    a = torch.randn(4, 9, requires_grad=True)
    b = a.detach().clone().requires_grad_()
    t = torch.randint(0, 9, (4,))
    cross_entropy(a, t).backward()
    F.cross_entropy(b, t).backward()
    torch.testing.assert_close(a.grad, b.grad)


def _run_optimizer(make, steps=1000):
    torch.manual_seed(42)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    opt = make(model.parameters())
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.randn(16, 3, generator=gen)
        loss = (model(x) - x[:, :2].sin()).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.state_dict()


def test_adamw_matches_torch_over_1000_steps():
    hp = dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    ours = _run_optimizer(lambda p: AdamW(p, **hp))
    ref = _run_optimizer(lambda p: torch.optim.AdamW(p, **hp))
    for k in ref:
        torch.testing.assert_close(ours[k], ref[k], atol=1e-6, rtol=1e-5)
    parted = _run_optimizer(lambda p: get_part("optimizer", "torch_adamw")(p, **hp), steps=10)
    assert set(parted) == set(ref)


def test_adamw_state_dict_round_trip():
    p = torch.nn.Parameter(torch.randn(4))
    opt = AdamW([p], lr=0.1)
    p.grad = torch.ones(4)
    opt.step()
    sd = opt.state_dict()
    opt2 = AdamW([torch.nn.Parameter(p.detach().clone())], lr=0.1)
    opt2.load_state_dict(sd)
    torch.testing.assert_close(opt2.state_dict()["state"][0]["exp_avg"], sd["state"][0]["exp_avg"])


def test_cosine_schedule_values():
    kw = dict(max_lr=1.0, min_lr=0.1, warmup_iters=7, cosine_cycle_iters=21)
    assert cosine_lr(0, **kw) == 0
    assert cosine_lr(7, **kw) == pytest.approx(1.0)
    assert cosine_lr(14, **kw) == pytest.approx(0.55)
    assert cosine_lr(21, **kw) == pytest.approx(0.1)
    assert cosine_lr(100, **kw) == 0.1
    assert cosine_lr(3, **kw) == pytest.approx(3 / 7)
    vals = [cosine_lr(i, **kw) for i in range(7, 22)]
    assert all(a >= b for a, b in zip(vals, vals[1:]))


def test_constant_and_wsd_schedules():
    assert constant_lr(2, 1.0, 0.0, 4, 10) == 0.5 and constant_lr(50, 1.0, 0.0, 4, 10) == 1.0
    kw = dict(max_lr=1.0, min_lr=0.0, warmup_iters=10, cosine_cycle_iters=110, decay_fraction=0.2)
    assert wsd_lr(5, **kw) == 0.5
    assert wsd_lr(50, **kw) == 1.0 and wsd_lr(89, **kw) == 1.0
    assert wsd_lr(100, **kw) == pytest.approx(0.5)
    assert wsd_lr(110, **kw) == 0.0 and wsd_lr(500, **kw) == 0.0


def test_clip_grad_norm_matches_torch_and_skips_missing_grads():
    torch.manual_seed(0)
    a = [torch.nn.Parameter(torch.randn(3, 4)) for _ in range(3)]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    for pa, pb in zip(a[:2], b[:2]):
        g = torch.randn_like(pa) * 5
        pa.grad, pb.grad = g.clone(), g.clone()
    norm = clip_grad_norm(a, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(b[:2], 1.0)
    assert norm == pytest.approx(float(ref), rel=1e-6)
    for pa, pb in zip(a[:2], b[:2]):
        torch.testing.assert_close(pa.grad, pb.grad, atol=1e-6, rtol=1e-5)
    assert a[2].grad is None
    small = [torch.nn.Parameter(torch.zeros(2))]
    small[0].grad = torch.tensor([0.3, 0.4])
    clip_grad_norm(small, 1.0)
    torch.testing.assert_close(small[0].grad, torch.tensor([0.3, 0.4]))  # under the limit: untouched


def test_get_batch_windows_are_shifted_and_cover_the_data():
    data = np.arange(100, dtype=np.uint16)
    x, y = get_batch(data, 64, 7, "cpu", generator=np.random.default_rng(0))
    assert x.shape == y.shape == (64, 7) and x.dtype == torch.int64
    torch.testing.assert_close(y, x + 1)
    assert ((x[:, 1:] - x[:, :-1]) == 1).all()
    starts = set()
    rng = np.random.default_rng(1)
    for _ in range(100):
        starts |= set(get_batch(data, 32, 7, "cpu", generator=rng)[0][:, 0].tolist())
    assert starts == set(range(0, 93))  # every valid start appears, none past the end
    a = get_batch(data, 4, 7, "cpu", generator=np.random.default_rng(3))[0]
    b = get_batch(data, 4, 7, "cpu", generator=np.random.default_rng(3))[0]
    assert torch.equal(a, b)


@pytest.mark.parametrize("device", ["cuda:99", "nonsense"])
def test_get_batch_invalid_device_raises(device):
    with pytest.raises((RuntimeError, InvalidDeviceError)):
        get_batch(np.arange(100), 2, 4, device)


def test_schedule_parts_registered():
    assert get_part("lr_schedule", "cosine")(3, 1.0, 0.1, 7, 21) == pytest.approx(3 / 7)
    assert math.isclose(get_part("lr_schedule", "constant")(9, 2.0, 0.0, 4, 10), 2.0)
