"""Our FSDP wrapper in one process (no process group): mixed-precision compute with fp32 masters."""

import subprocess
import sys

import torch

from lmforge.model import Linear
from lmforge.systems.parallel.fsdp import FullyShardedDataParallel
from lmforge.systems.parallel.parity import VOCAB, batches, loss_of, tiny_model


def test_bf16_compute_with_fp32_master_weights():
    reference = tiny_model()
    model = FullyShardedDataParallel(tiny_model(), compute_dtype=torch.bfloat16)
    seen = []
    for mod in model.module.modules():
        if isinstance(mod, Linear):
            mod.register_forward_pre_hook(lambda m, args: seen.append(m.weight.dtype))  # after the gather
    x, y = batches(1)[0]
    loss = loss_of(model, x, y)
    loss.backward()
    assert seen and all(dt == torch.bfloat16 for dt in seen)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in model.shards if p.requires_grad)
    torch.testing.assert_close(loss.float(), loss_of(reference, x, y), rtol=2e-2, atol=2e-2)
    full = model.gather_full_params()
    assert sorted(full) == sorted(reference.state_dict())
    assert full["token_embeddings.weight"].shape == (VOCAB, 32)


def test_plugin_import_stays_cheap():
    code = ("import sys, lmforge.systems.plugin, lmforge.systems; "
            "print(any(m in sys.modules for m in ('triton', 'deepspeed', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _backward_events(backward_prefetch: bool):
    from lmforge.systems.parallel import fsdp

    model = FullyShardedDataParallel(tiny_model(), backward_prefetch=backward_prefetch)
    x, y = batches(2)[0]
    loss_of(model, x, y).backward()  # records the forward order
    model.zero_grad(set_to_none=True)
    events, in_backward = [], [False]
    real_start, real_take = fsdp.FlatShard.start_gather, fsdp.FlatShard.take_gathered

    def start(self, dtype):
        if in_backward[0] and self.pending is None:
            events.append(("start", id(self)))
        return real_start(self, dtype)

    def take(self, dtype):
        if in_backward[0]:
            events.append(("take", id(self), self.pending is not None))
        return real_take(self, dtype)

    fsdp.FlatShard.start_gather, fsdp.FlatShard.take_gathered = start, take
    try:
        loss = loss_of(model, x, y)
        in_backward[0] = True
        loss.backward()
    finally:
        fsdp.FlatShard.start_gather, fsdp.FlatShard.take_gathered = real_start, real_take
    return events, {k: v.grad.clone() for k, v in enumerate(model.shards) if v.grad is not None}


def test_backward_prefetch_gathers_the_next_module_ahead():
    """Issue 15: in backward, each weight's gather is started while the module after it (in forward
    order) runs, so it is pending when needed; without prefetch every gather starts on demand."""
    events, grads = _backward_events(True)
    takes = [e for e in events if e[0] == "take"]
    assert sum(ready for _, _, ready in takes) >= len(takes) // 2  # most weights were gathered ahead
    no_events, no_grads = _backward_events(False)
    assert not any(ready for kind, _, ready in (e for e in no_events if e[0] == "take"))
    assert grads.keys() == no_grads.keys() and all(torch.equal(grads[k], no_grads[k]) for k in grads)
