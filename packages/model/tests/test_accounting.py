"""Accounting measured from the built module: parameter counts against real modules (ours, HF's, a
third-party FFN's), FLOPs against torch's FLOP counter on a real forward and backward."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lmforge.core import get_host, hookimpl
from lmforge.model import ModelConfig, TransformerLM
from lmforge.model.accounting import (
    context_sweep,
    count_parameters,
    flops_per_token,
    memory_bytes,
    width_sweep,
)
from lmforge.model.losses import cross_entropy

CONFIGS = [
    dict(vocab_size=97, context_length=16, d_model=32, num_layers=2, num_heads=4),
    dict(vocab_size=97, context_length=16, d_model=32, num_layers=3, num_heads=4, num_kv_heads=2,
         tie_embeddings=True),
    dict(vocab_size=50, context_length=8, d_model=48, num_layers=1, num_heads=3, ffn="silu_mlp",
         norm="layernorm"),
    dict(vocab_size=64, context_length=8, d_model=64, num_layers=2, num_heads=4, d_ff=96, norm="none",
         position="none", norm_placement="post"),
]


class LowRankGatedFFN(nn.Module):
    """A third-party FFN as a plugin would write it: fused gate/up weights, a GELU gate and a low-rank
    side path, raw Parameters and F.linear, a width no lmforge rule knows. Per token it costs
    2*d*2h (fused in) + 2*h*d (out) + 2*d*r + 2*r*d (low rank) FLOPs."""

    RANK = 4

    def __init__(self, d_model, d_ff=None, device=None, dtype=None):
        super().__init__()
        self.hidden = d_ff or 3 * d_model
        kw = dict(device=device, dtype=dtype)
        self.w_in = nn.Parameter(torch.randn(2 * self.hidden, d_model, **kw) * 0.02)
        self.w_out = nn.Parameter(torch.randn(d_model, self.hidden, **kw) * 0.02)
        self.down = nn.Parameter(torch.randn(d_model, self.RANK, **kw) * 0.02)
        self.up = nn.Parameter(torch.randn(self.RANK, d_model, **kw) * 0.02)

    def forward(self, x):
        gate, value = F.linear(x, self.w_in).chunk(2, dim=-1)
        return F.linear(F.gelu(gate) * value, self.w_out) + (x @ self.down) @ self.up


class _ThirdPartyPlugin:
    @hookimpl
    def register_ffns(self, register):
        register("lowrank_gated_test", LowRankGatedFFN)


@pytest.fixture
def third_party_ffn():
    host = get_host()
    assert host.add_plugin(_ThirdPartyPlugin(), "thirdparty_ffn_test", "thirdparty-pkg", "1.0")
    yield "lowrank_gated_test"
    host.remove_plugin("thirdparty_ffn_test")


def _real_flops(model, batch, context, vocab, backward):
    x = torch.randint(0, vocab, (batch, context))
    counter = FlopCounterMode(display=False)
    with counter:
        loss = cross_entropy(model(x), x)
        if backward:
            loss.backward()
    return counter.get_total_flops()


def test_third_party_ffn_parameters_and_flops_are_measured(third_party_ffn):
    d, L, T, V = 48, 3, 16, 101
    cfg = ModelConfig(vocab_size=V, context_length=T, d_model=d, num_layers=L, num_heads=4,
                      ffn=third_party_ffn)
    model = TransformerLM.from_config(cfg)
    counts = count_parameters(cfg)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    h, r = 3 * d, LowRankGatedFFN.RANK
    assert counts["ffn"] == L * (2 * h * d + d * h + 2 * d * r)
    f = flops_per_token(cfg)
    assert f["ffn"] == L * (2 * d * 2 * h + 2 * h * d + 2 * d * r + 2 * r * d)  # by hand
    B = 2
    assert _real_flops(model, B, T, V, backward=False) == f["total_forward"] * B * T
    assert _real_flops(model, B, T, V, backward=True) == f["total_training"] * B * T


def test_max_flops_budget_uses_the_measured_count(third_party_ffn, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from trainer_helpers import tiny_config

    from lmforge.model.train_setup import total_steps

    cfg = tiny_config(tmp_path, f"model.ffn={third_party_ffn}", "train.max_steps=none", "train.max_flops=3e9")
    model = TransformerLM.from_config(cfg.model)
    B, T = cfg.train.batch_size, cfg.model.context_length
    per_step = _real_flops(model, B, T, cfg.model.vocab_size, backward=True)  # torch's count, one step
    assert total_steps(cfg) == math.ceil(3e9 / per_step)
    swiglu = tiny_config(tmp_path, "train.max_steps=none", "train.max_flops=3e9")
    assert total_steps(swiglu) != total_steps(cfg)  # a name-table fallback would have given one answer


@pytest.mark.parametrize("kw", CONFIGS)
def test_count_equals_numel_of_real_model(kw):
    cfg = ModelConfig(**kw)
    model = TransformerLM.from_config(cfg)
    counts = count_parameters(cfg)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["embedding"] == model.token_embeddings.weight.numel()
    assert counts["embedding"] + counts["non_embedding"] == counts["total"]
    assert counts["ffn"] == sum(p.numel() for layer in model.layers for p in layer.ffn.parameters())
    assert counts["attention"] == sum(p.numel() for layer in model.layers for p in layer.attn.parameters())


@pytest.mark.parametrize("kw", CONFIGS[:3])
def test_forward_flops_match_flop_counter(kw):
    """The reference attention computes the full T x T score matrix, so the counts are exact."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = ModelConfig(**kw)
    model = TransformerLM.from_config(cfg)
    T = cfg.context_length
    x = torch.randint(0, cfg.vocab_size, (1, T))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    assert counter.get_total_flops() / T == flops_per_token(cfg)["total_forward"]


@pytest.mark.parametrize("kv_heads,tied", [(4, False), (2, True)])
def test_llama_counts_match_transformers_module(kv_heads, tied):
    transformers = pytest.importorskip("transformers")
    cfg = ModelConfig(vocab_size=300, context_length=64, d_model=64, num_layers=3, num_heads=4,
                      num_kv_heads=kv_heads, d_ff=160, tie_embeddings=tied)
    hf_cfg = transformers.LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=160,
                                      num_hidden_layers=3, num_attention_heads=4,
                                      num_key_value_heads=kv_heads, tie_word_embeddings=tied)
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(hf_cfg)
    assert sum(p.numel() for p in model.parameters()) == count_parameters(cfg)["total"]


def test_ffn_share_grows_with_width_and_attention_with_context():
    base = ModelConfig(vocab_size=50257, context_length=1024, d_model=768, num_layers=12, num_heads=12)
    ffn = [row["ffn"] for row in width_sweep(base, context_length=1024)]
    assert all(b > a for a, b in zip(ffn, ffn[1:]))
    att = [row["attention_context"] for row in context_sweep(base)]
    assert all(b > a for a, b in zip(att, att[1:]))
    assert att[-1] > 0.5 > att[0]


def test_activation_memory_estimate_close_to_saved_tensors():
    cfg = ModelConfig(vocab_size=256, context_length=32, d_model=64, num_layers=2, num_heads=4)
    model = TransformerLM.from_config(cfg)
    B = 4
    x = torch.randint(0, cfg.vocab_size, (B, cfg.context_length))
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:  # weights are not activations
            seen[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = cross_entropy(model(x), x)
    loss.backward()
    measured = sum(seen.values())  # a real CPU step; the estimate ran on meta tensors, 1- and 2-block models
    predicted = memory_bytes(cfg, batch_size=B)["activations"]
    assert predicted == pytest.approx(measured, rel=0.01)


def test_memory_weights_gradients_adam():
    a = ModelConfig(vocab_size=50257, context_length=1024, d_model=768, num_layers=12, num_heads=12)
    m = memory_bytes(a, batch_size=8, context_length=1024, param_dtype="bfloat16")
    n = count_parameters(a)["total"]
    assert m["weights"] == m["gradients"] == 2 * n
    assert m["optimizer_state"] == pytest.approx(8 * n, rel=1e-5)  # two fp32 moments (+ step counters)
    assert m["total"] == m["weights"] + m["gradients"] + m["optimizer_state"] + m["activations"]


def test_accounting_command_prints_tables_and_plot(tmp_path):
    from click.testing import CliRunner

    from lmforge.core.cli import build_cli

    cfg_file = tmp_path / "train.toml"
    cfg_file.write_text('[model]\nvocab_size = 1000\ncontext_length = 256\nd_model = 128\nnum_layers = 2\n'
                        'num_heads = 4\n')
    png = tmp_path / "shares.png"
    args = ["model", "accounting", "--config", str(cfg_file), "--batch", "2", "--set", "model.num_kv_heads=2",
            "--plot", str(png)]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output
    total = count_parameters(ModelConfig(vocab_size=1000, context_length=256, d_model=128, num_layers=2,
                                         num_heads=4, num_kv_heads=2))["total"]
    assert f"{total:,}" in result.output
    for word in ("attention_context", "lm_head", "optimizer_state", "FLOP shares as width grows",
                 "context_length"):
        assert word in result.output
    assert png.stat().st_size > 1000
