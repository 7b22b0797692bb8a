"""The assembled model: state-dict names, shapes, parts, GQA, tying, causality, post-norm."""

import pytest
import torch

from lmforge.core import ConfigError, UnknownPartError
from lmforge.model import ModelConfig, MultiHeadSelfAttention, TransformerLM
from lmforge.model.attention import causal_mask

TINY = dict(vocab_size=61, context_length=16, d_model=32, num_layers=2, num_heads=4)


def tiny(**kw):
    torch.manual_seed(0)
    return TransformerLM.from_config(ModelConfig(**{**TINY, **kw}))


def test_state_dict_names_and_logits_shape():
    model = tiny(d_ff=64)
    names = set(model.state_dict())
    expected = {"token_embeddings.weight", "ln_final.weight", "lm_head.weight"}
    for i in range(2):
        expected |= {f"layers.{i}.{n}" for n in (
            "ln1.weight", "ln2.weight", "attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight",
            "attn.output_proj.weight", "ffn.w1.weight", "ffn.w2.weight", "ffn.w3.weight")}
    assert names == expected
    ids = torch.randint(0, 61, (3, 10))
    assert model(ids).shape == (3, 10, 61)


def test_causal_future_tokens_do_not_change_past_logits():
    model = tiny()
    ids = torch.randint(0, 61, (1, 12))
    changed = ids.clone()
    changed[0, 8:] = (changed[0, 8:] + 1) % 61
    torch.testing.assert_close(model(ids)[0, :8], model(changed)[0, :8])


@pytest.mark.parametrize("kw", [
    dict(attention="torch_sdpa"), dict(norm="layernorm"), dict(norm="none"), dict(ffn="silu_mlp"),
    dict(position="none"), dict(norm_placement="post"), dict(num_kv_heads=2), dict(num_kv_heads=1),
    dict(tie_embeddings=True),
])
def test_every_part_builds_trains_and_is_causal(kw):
    model = tiny(**kw)
    ids = torch.randint(0, 61, (2, 12))
    logits = model(ids)
    assert logits.shape == (2, 12, 61) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    changed = ids.clone()
    changed[:, 6:] = (changed[:, 6:] + 3) % 61
    torch.testing.assert_close(model(ids)[:, :6], model(changed)[:, :6])


def test_torch_sdpa_part_gives_the_reference_logits():
    ref, fast = tiny(), tiny(attention="torch_sdpa")
    fast.load_state_dict(ref.state_dict())
    ids = torch.randint(0, 61, (2, 16))
    torch.testing.assert_close(fast(ids), ref(ids), atol=1e-5, rtol=1e-5)


def test_silu_mlp_default_width_and_post_norm_structure():
    m = tiny(ffn="silu_mlp")
    assert m.layers[0].ffn.w1.weight.shape == (128, 32)
    assert not hasattr(m.layers[0].ffn, "w3")
    post = tiny(norm_placement="post")
    x = torch.randn(1, 5, 32)
    block = post.layers[0]
    expected = block.ln1(x + block.attn(x))
    expected = block.ln2(expected + block.ffn(expected))
    torch.testing.assert_close(block(x), expected)


def test_gqa_equals_mha_with_repeated_kv_heads():
    torch.manual_seed(0)
    gqa = MultiHeadSelfAttention(32, 4, num_kv_heads=2)
    mha = MultiHeadSelfAttention(32, 4)
    assert gqa.k_proj.weight.shape == (16, 32)
    with torch.no_grad():
        mha.q_proj.weight.copy_(gqa.q_proj.weight)
        mha.output_proj.weight.copy_(gqa.output_proj.weight)
        # kv head j serves query heads 2j and 2j+1
        for proj in ("k_proj", "v_proj"):
            w = getattr(gqa, proj).weight.view(2, 8, 32)
            getattr(mha, proj).weight.copy_(w.repeat_interleave(2, dim=0).reshape(32, 32))
    x = torch.randn(2, 7, 32)
    torch.testing.assert_close(gqa(x), mha(x), atol=1e-5, rtol=1e-5)


def test_rope_positions_default_to_arange_and_cache_mask_is_causal():
    assert causal_mask(2, 5).tolist() == [[True] * 4 + [False], [True] * 5]
    model = tiny()
    ids = torch.randint(0, 61, (1, 9))
    torch.testing.assert_close(model(ids), model(ids, token_positions=torch.arange(9)))


def test_tied_embeddings_share_one_tensor():
    m = tiny(tie_embeddings=True)
    assert m.lm_head.weight is m.token_embeddings.weight
    assert m.num_parameters() == tiny().num_parameters() - 61 * 32


def test_activation_checkpointing_gives_same_gradients():
    ids = torch.randint(0, 61, (2, 12))
    grads = []
    for seg in (0, 1):
        m = tiny(checkpoint_activations=seg)
        m(ids).pow(2).mean().backward()
        grads.append(m.layers[0].attn.q_proj.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize("kw,message", [
    (dict(d_model=30), "divisible by model.num_heads"),
    (dict(attention="flash9"), "known: .*reference.*torch_sdpa"),
    (dict(norm="batchnorm"), "known: .*layernorm.*none.*rmsnorm"),
    (dict(num_kv_heads=3), "num_kv_heads"),
    (dict(norm_placement="middle"), "'pre' or 'post'"),
])
def test_bad_config_is_one_clear_error(kw, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**{**TINY, **kw}).validate()


def test_registry_lists_model_parts():
    from lmforge.core import get_part, part_names

    # other packages may add more parts of these kinds
    assert {"reference", "torch_sdpa"} <= set(part_names("attention"))
    assert {"rmsnorm", "layernorm", "none"} <= set(part_names("norm"))
    assert {"silu_mlp", "swiglu"} <= set(part_names("ffn"))
    assert {"none", "rope"} <= set(part_names("position"))
    with pytest.raises(UnknownPartError):
        get_part("attention", "nope")


def test_position_none_ignores_positions_and_rope_uses_them():
    ids = torch.randint(0, 61, (1, 8))
    spread = torch.tensor([0, 3, 4, 9, 10, 11, 14, 15])  # non-uniform gaps change relative distances
    nope, rope = tiny(position="none"), tiny()
    torch.testing.assert_close(nope(ids, token_positions=spread), nope(ids))
    assert not torch.allclose(rope(ids, token_positions=spread), rope(ids))


def test_norm_none_has_no_parameters():
    m = tiny(norm="none")
    assert not any("ln" in name for name, _ in m.named_parameters())
