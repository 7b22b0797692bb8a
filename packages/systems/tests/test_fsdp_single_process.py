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
