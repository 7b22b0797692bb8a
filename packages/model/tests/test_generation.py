"""Generation: the KV cache against full recomputation, padding, sampling, log-probs, the engine."""

from __future__ import annotations

import pytest
import torch

from lmforge.core import LmforgeError, get_part
from lmforge.model import ModelConfig, TransformerLM
from lmforge.model.generation import KVCache, TorchRolloutEngine, generate, sample_tokens

CONFIGS = {
    "mha": dict(vocab_size=61, context_length=48, d_model=32, num_layers=2, num_heads=4),
    "gqa_tied_post_layernorm": dict(vocab_size=61, context_length=48, d_model=32, num_layers=2, num_heads=4,
                                    num_kv_heads=2, tie_embeddings=True, norm="layernorm",
                                    norm_placement="post"),
    "nope_silu": dict(vocab_size=61, context_length=48, d_model=32, num_layers=2, num_heads=2,
                      position="none", ffn="silu_mlp"),
}
PROMPTS = [[5, 9, 2, 7, 1], [3], [8, 8, 4, 11, 12, 13, 1, 2, 3], [40, 41]]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matmuls: thread hand-offs cost more than the work, badly so on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_model(name="mha", seed=0):
    torch.manual_seed(seed)
    model = TransformerLM.from_config(ModelConfig(**CONFIGS[name]))
    with torch.no_grad():  # sharper logits so that samples are not near-uniform noise
        model.lm_head.weight.mul_(4.0)
    return model


@pytest.mark.parametrize("name", list(CONFIGS))
def test_incremental_decoding_matches_full_forward(name):
    model = tiny_model(name).eval()
    x = torch.randint(0, 61, (2, 12))
    with torch.no_grad():
        full = model(x)
        caches = [KVCache(12) for _ in model.layers]
        parts = [model(x[:, :5], kv_caches=caches)]
        for t in range(5, 12):
            parts.append(model(x[:, t:t + 1], kv_caches=caches))
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("temperature,top_p", [(0.0, 1.0), (1.0, 1.0), (0.8, 0.9)])
def test_cache_gives_same_tokens_as_recomputation(name, temperature, top_p):
    model = tiny_model(name)
    kw = dict(max_new_tokens=20, temperature=temperature, top_p=top_p, seed=123, return_logprobs=True)
    ids_c, lp_c = generate(model, PROMPTS, use_cache=True, **kw)
    ids_r, lp_r = generate(model, PROMPTS, use_cache=False, **kw)
    assert ids_c == ids_r
    for a, b in zip(lp_c, lp_r):
        torch.testing.assert_close(torch.tensor(a), torch.tensor(b), atol=1e-4, rtol=1e-4)
    assert all(len(t) == 20 for t in ids_c)


@pytest.mark.parametrize("name", ["mha", "gqa_tied_post_layernorm"])
def test_batched_left_padding_equals_one_prompt_at_a_time(name):
    model = tiny_model(name)
    batched = generate(model, PROMPTS, 15, temperature=0)
    alone = [generate(model, [p], 15, temperature=0)[0] for p in PROMPTS]
    assert batched == alone
    # padding must not be a no-op by accident: a shifted position would change the continuation
    assert generate(model, [[0] + PROMPTS[0]], 15, temperature=0)[0] != alone[0]


def test_eot_stops_each_sequence_and_cache_matches():
    model = tiny_model()
    free = generate(model, PROMPTS, 20, temperature=1.0, seed=7)
    eot = free[0][5]  # a token the first sequence samples at step 6
    for use_cache in (True, False):
        ids = generate(model, PROMPTS, 20, temperature=1.0, seed=7, eot_id=eot, use_cache=use_cache)
        assert ids[0] == free[0][:free[0].index(eot) + 1]
        for full, cut in zip(free, ids):
            if eot in full:
                assert cut == full[:full.index(eot) + 1]
            else:
                assert len(cut) == 20 and eot not in cut
        if use_cache:
            first = ids
    assert first == ids


def test_seed_reproducible_and_seeds_differ():
    model = tiny_model()
    a = generate(model, PROMPTS, 12, temperature=1.0, seed=1)
    assert a == generate(model, PROMPTS, 12, temperature=1.0, seed=1)
    assert a != generate(model, PROMPTS, 12, temperature=1.0, seed=2)


def test_logprobs_match_a_recomputed_forward():
    """What an RL trainer checks: log-probs of the sampled tokens under logits / temperature."""
    model = tiny_model("gqa_tied_post_layernorm")
    T = 0.7
    ids, lps = generate(model, PROMPTS, 10, temperature=T, seed=3, return_logprobs=True)
    for prompt, completion, lp in zip(PROMPTS, ids, lps):
        seq = torch.tensor([prompt + completion])
        with torch.no_grad():
            logp = torch.log_softmax(model(seq)[0].float() / T, dim=-1)
        expected = logp[len(prompt) - 1:-1].gather(-1, torch.tensor(completion)[:, None]).squeeze(-1)
        torch.testing.assert_close(torch.tensor(lp), expected, atol=1e-4, rtol=1e-4)


def test_top_p_keeps_only_the_nucleus_in_proportion():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(20000, 1)
    g = torch.Generator().manual_seed(0)
    # nucleus = {0, 1}: 0.5 < 0.75 <= 0.8
    tokens, logprobs = sample_tokens(logits, 1.0, 0.75, torch.rand(20000, generator=g, dtype=torch.float64))
    counts = torch.bincount(tokens, minlength=4).float() / len(tokens)
    assert counts[2] == 0 and counts[3] == 0
    assert abs(counts[0].item() - 0.5 / 0.8) < 0.02
    # the reported log-prob is the untruncated, temperature-scaled one
    torch.testing.assert_close(logprobs[tokens == 1][:1], torch.log(torch.tensor([0.3])))
    full, _ = sample_tokens(logits, 1.0, 1.0, torch.rand(20000, generator=g, dtype=torch.float64))
    assert abs((full == 3).float().mean().item() - 0.05) < 0.01


def test_temperature_zero_is_greedy_and_tiny_top_p_too():
    model = tiny_model()
    greedy = generate(model, PROMPTS, 10, temperature=0)
    x = torch.tensor([PROMPTS[1]])
    for tok in greedy[1]:  # greedy by hand, one full forward per step
        nxt = model(x)[0, -1].argmax().item()
        assert nxt == tok
        x = torch.cat([x, torch.tensor([[nxt]])], dim=1)
    assert generate(model, PROMPTS, 10, temperature=1.0, top_p=1e-6, seed=0) == greedy


def test_errors_and_training_mode_restored():
    model = tiny_model().train()
    with pytest.raises(LmforgeError, match="context length"):
        generate(model, [[1] * 40], 9)
    with pytest.raises(LmforgeError):
        generate(model, [[]], 3)
    generate(model, [[1, 2]], 2)
    assert model.training


def test_torch_rollout_engine_groups_samples_and_is_registered():
    model = tiny_model()
    engine_cls = get_part("rollout_engine", "torch")
    engine = engine_cls(model, eot_id=None, max_batch_size=3)
    results = engine.generate(PROMPTS[:2], max_new_tokens=6, temperature=1.0, top_p=1.0, n=3, seed=5)
    assert [r.prompt_index for r in results] == [0, 0, 0, 1, 1, 1]
    assert all(len(r.token_ids) == len(r.logprobs) == 6 for r in results)
    assert len({tuple(r.token_ids) for r in results[:3]}) > 1  # n samples are not copies
    again = TorchRolloutEngine(model, max_batch_size=3).generate(PROMPTS[:2], 6, 1.0, 1.0, n=3, seed=5)
    assert [r.token_ids for r in again] == [r.token_ids for r in results]


def make_run(tmp_path):
    """A run directory as the trainer writes it: a checkpoint folder and the tokenizer."""
    from lmforge.model.run_checkpoint import save_run_checkpoint
    from lmforge.tokenize import ByteTokenizer

    cfg = ModelConfig(vocab_size=257, context_length=64, d_model=32, num_layers=2, num_heads=4)
    torch.manual_seed(0)
    model = TransformerLM.from_config(cfg)
    run = tmp_path / "run"
    save_run_checkpoint(run, 5, model_state=model.state_dict(), optimizer_state={}, rng_state={},
                        trainer_state={"step": 5, "model": cfg.to_dict()}, config_toml="")
    tokenizer = ByteTokenizer(special_tokens=["<|endoftext|>"])
    tokenizer.save(run / "tokenizer")
    return run, model, tokenizer


def test_generate_command_prints_the_models_greedy_continuation(tmp_path):
    from click.testing import CliRunner

    from lmforge.core.cli import build_cli

    run, model, tokenizer = make_run(tmp_path)
    result = CliRunner().invoke(build_cli(), ["generate", "--run", str(run), "--prompt", "Hello",
                                              "--max-new-tokens", "12", "--temperature", "0"])
    assert result.exit_code == 0, result.output
    expected = generate(model, [tokenizer.encode("Hello")], 12, temperature=0, eot_id=tokenizer.eot_id)[0]
    assert result.output == "Hello" + tokenizer.decode(expected) + "\n"
    bad = CliRunner().invoke(build_cli(), ["generate", "--run", str(tmp_path), "--prompt", "x"])
    assert bad.exit_code != 0


@pytest.mark.gpu
def test_cache_matches_recomputation_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    model = tiny_model("gqa_tied_post_layernorm").cuda()
    for temperature in (0.0, 1.0):
        a = generate(model, PROMPTS, 16, temperature=temperature, seed=4, use_cache=True)
        b = generate(model, PROMPTS, 16, temperature=temperature, seed=4, use_cache=False)
        assert a == b
    bf16 = tiny_model("mha").to("cuda", torch.bfloat16)
    ids, lps = generate(bf16, PROMPTS, 8, temperature=1.0, seed=0, return_logprobs=True)
    assert all(len(t) == 8 and all(lp <= 0 for lp in lp_row) for t, lp_row in zip(ids, lps))
