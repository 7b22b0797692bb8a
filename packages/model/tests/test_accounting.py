"""Accounting: parameter counts against real modules (ours, HF's), FLOPs against a FLOP counter."""

from __future__ import annotations

import pytest
import torch

from lmforge.model import ModelConfig, TransformerLM
from lmforge.model.accounting import (
    Architecture,
    context_sweep,
    count_parameters,
    flops_per_token,
    gpt2_architecture,
    memory_bytes,
    training_flops,
    width_sweep,
)

# The published sizes, as counted by HF's GPT2LMHeadModel (tied head, learned positions, biases).
GPT2_COUNTS = {"small": 124_439_808, "medium": 354_823_168, "large": 774_030_080, "xl": 1_557_611_200}

CONFIGS = [
    dict(vocab_size=97, context_length=16, d_model=32, num_layers=2, num_heads=4),
    dict(vocab_size=97, context_length=16, d_model=32, num_layers=3, num_heads=4, num_kv_heads=2,
         tie_embeddings=True),
    dict(vocab_size=50, context_length=8, d_model=48, num_layers=1, num_heads=3, ffn="silu_mlp",
         norm="layernorm"),
    dict(vocab_size=64, context_length=8, d_model=64, num_layers=2, num_heads=4, d_ff=96, norm="none",
         position="none", norm_placement="post"),
]


@pytest.mark.parametrize("size", list(GPT2_COUNTS))
def test_gpt2_parameter_counts_match_published(size):
    assert count_parameters(gpt2_architecture(size))["total"] == GPT2_COUNTS[size]


@pytest.mark.parametrize("size", ["small", "medium"])
def test_gpt2_counts_match_transformers_module(size):
    transformers = pytest.importorskip("transformers")
    s = gpt2_architecture(size)
    hf_cfg = transformers.GPT2Config(n_embd=s.d_model, n_layer=s.num_layers, n_head=s.num_heads)
    with torch.device("meta"):  # shapes only: no memory, no init time
        model = transformers.GPT2LMHeadModel(hf_cfg)
    assert sum(p.numel() for p in model.parameters()) == count_parameters(s)["total"]


@pytest.mark.parametrize("kv_heads,tied", [(4, False), (2, True)])
def test_llama_counts_match_transformers_module(kv_heads, tied):
    transformers = pytest.importorskip("transformers")
    a = Architecture(vocab_size=300, context_length=64, d_model=64, num_layers=3, num_heads=4,
                     num_kv_heads=kv_heads, d_ff=160, tie_embeddings=tied)
    hf_cfg = transformers.LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=160,
                                      num_hidden_layers=3, num_attention_heads=4,
                                      num_key_value_heads=kv_heads,
                                      tie_word_embeddings=tied)
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(hf_cfg)
    assert sum(p.numel() for p in model.parameters()) == count_parameters(a)["total"]


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


def test_flops_components_by_hand():
    a = Architecture(vocab_size=1000, context_length=128, d_model=64, num_layers=2, num_heads=4,
                     num_kv_heads=2, d_ff=192)
    f = flops_per_token(a)
    assert f["q_proj"] == 2 * 2 * 64 * 64
    assert f["k_proj"] == f["v_proj"] == 2 * 2 * 64 * 32  # GQA: two kv heads of 16
    assert f["attention_scores"] == f["attention_weighted_sum"] == 2 * 2 * 64 * 128
    assert f["ffn"] == 2 * 2 * 3 * 64 * 192
    assert f["lm_head"] == 2 * 64 * 1000
    assert f["backward"] == 2 * f["total_forward"]
    assert training_flops(a, 1000) == 3 * 1000 * f["total_forward"]
    mlp = flops_per_token(Architecture(**{**a.__dict__, "ffn": "silu_mlp"}))
    assert mlp["ffn"] == 2 * 2 * 2 * 64 * 192


def test_matmul_flops_are_twice_the_matmul_parameters():
    """Without the context term, forward = 2 x (parameters that multiply), the exact '6N' rule."""
    for tied in (False, True):
        a = Architecture(vocab_size=500, context_length=64, d_model=96, num_layers=3, num_heads=6,
                         num_kv_heads=3, d_ff=256, tie_embeddings=tied)
        f, c = flops_per_token(a), count_parameters(a)
        matmul = f["total_forward"] - f["attention_scores"] - f["attention_weighted_sum"]
        head = c["lm_head"] or c["token_embeddings"]
        assert matmul == 2 * (c["attention"] + c["ffn"] + head)


def test_ffn_share_grows_with_width_and_attention_with_context():
    base = gpt2_architecture("small")
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
    params = {p.data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:  # weights are not activations
            seen[ptr] = max(seen.get(ptr, 0), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = model(x)
        loss = torch.logsumexp(logits.float(), -1).mean()
    loss.backward()
    measured = sum(seen.values())
    predicted = memory_bytes(cfg, batch_size=B)["activations"]
    assert 0.5 < predicted / measured < 2.0, (predicted, measured)


def test_memory_weights_gradients_adam():
    a = gpt2_architecture("small")
    m = memory_bytes(a, batch_size=8, context_length=1024, param_dtype="bfloat16")
    n = count_parameters(a)["total"]
    assert m["weights"] == m["gradients"] == 2 * n
    assert m["adamw_state"] == 8 * n
    assert m["total"] == m["weights"] + m["gradients"] + m["adamw_state"] + m["activations"]


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
    for word in ("attention_scores", "lm_head", "adamw_state", "FLOP shares as width grows",
                 "context_length"):
        assert word in result.output
    assert png.stat().st_size > 1000
    gpt2 = CliRunner().invoke(build_cli(), ["model", "accounting", "--gpt2", "small"])
    assert "124,439,808" in gpt2.output
