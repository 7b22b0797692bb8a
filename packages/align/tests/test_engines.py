"""Rollout engines: HF generate, the vLLM glue against a strict stand-in, and the preflight check."""

import importlib.util

import pytest
import torch

from lmforge.align.engines import fake_vllm
from lmforge.align.engines.hf import HFRolloutEngine
from lmforge.align.engines.vllm_engine import VLLMRolloutEngine
from lmforge.align.preflight import check_engine_log_probs
from lmforge.align.rollout import SamplingSettings
from lmforge.align.testing import tiny_hf_tokenizer, tiny_llama
from lmforge.core import LmforgeError, get_part
from lmforge.core.testing import assert_parity, parity_params

PROMPTS = [[3, 4, 5], [6, 7]]


@pytest.fixture(scope="module")
def tok():
    return tiny_hf_tokenizer()


def settings(**kw):
    base = dict(n=2, max_new_tokens=5, temperature=0.7, top_p=1.0, stop_id=1, seed=0)
    return SamplingSettings(**{**base, **kw})


def make_vllm(model, **kw):
    return VLLMRolloutEngine(
        model,
        llm_cls=lambda **a: fake_vllm.FakeLLM(**{**a, **kw}),
        sampling_params_cls=fake_vllm.SamplingParams,
    )


def test_engine_parts_are_registered():
    assert get_part("rollout_engine", "hf") and get_part("rollout_engine", "vllm")


def test_hf_engine_groups_samples_and_matches_trainer(tok):
    model = tiny_llama(len(tok))
    engine = HFRolloutEngine(model)
    rollouts = engine.generate(PROMPTS, settings())
    assert [r.prompt_index for r in rollouts] == [0, 0, 1, 1]
    assert all(len(r.token_ids) == len(r.log_probs) <= 5 for r in rollouts)
    assert all(1 not in r.token_ids[:-1] for r in rollouts)  # nothing kept after a stop id
    for top_p in (1.0, 0.8):
        stats = check_engine_log_probs(engine, model, PROMPTS, settings(top_p=top_p), tolerance=1e-4)
        assert stats["preflight_max_abs_diff"] < 1e-4


def test_vllm_glue_samples_sleeps_and_matches_trainer(tok):
    model = tiny_llama(len(tok), tie=True)
    engine = make_vllm(model)
    stats = check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=1e-4)
    assert stats["preflight_tokens"] > 0
    llm = engine.llm
    assert llm.calls[-1] == "sleep(1)"  # the trainer gets the memory back
    with pytest.raises(RuntimeError, match="asleep"):
        llm.generate([{"prompt_token_ids": [3]}], fake_vllm.SamplingParams())


def test_vllm_weight_sync_in_memory_after_a_step(tok):
    model = tiny_llama(len(tok))
    engine = make_vllm(model)
    with torch.no_grad():  # an "optimizer step" that changes every layer
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    with pytest.raises(LmforgeError, match="weights differ"):
        check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=1e-4)
    engine.update_weights(model)
    assert "collective_rpc(reload_weights)" in engine.llm.calls
    check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=1e-4)
    # the order that keeps memory low and the cache fresh
    calls = engine.llm.calls
    i = calls.index("collective_rpc(reload_weights)")
    assert calls[i - 1] == "wake_up(['weights'])"
    assert calls[i + 1 : i + 4] == ["wake_up(['kv_cache'])", "reset_prefix_cache", "generate"]


def test_stand_in_is_strict_about_weight_names_and_reload_from_disk(tok):
    model = tiny_llama(len(tok))
    llm = make_vllm(model).llm
    llm.wake_up()
    bad = [(n.replace("q_proj", "query"), t) for n, t in model.state_dict().items()]
    with pytest.raises(KeyError, match="unknown weight name"):
        llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(bad)})
    partial = [(n, t) for n, t in model.state_dict().items() if "embed" not in n]
    with pytest.raises(KeyError, match="not sent"):
        llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(partial)})
    with pytest.raises(AssertionError, match="from disk"):
        llm.collective_rpc("reload_weights")
    llm.sleep(1)
    with pytest.raises(RuntimeError, match="asleep"):
        llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(model.state_dict().items())})


def test_preflight_names_temperature_when_engine_reports_raw_log_probs(tok):
    model = tiny_llama(len(tok))
    engine = make_vllm(model, logprobs_mode="raw_logprobs")
    with pytest.raises(LmforgeError, match="processed_logprobs"):
        check_engine_log_probs(engine, model, PROMPTS, settings(temperature=0.5), tolerance=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None or not torch.cuda.is_available(),
    reason="needs vLLM and a CUDA device",
)
def test_real_vllm_engine_matches_trainer_and_syncs_weights(tok):
    model = tiny_llama(len(tok), hidden=64, heads=4, kv_heads=2).cuda()
    engine = VLLMRolloutEngine(model, max_model_len=64)  # fp32 policy: served in fp32
    check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=2e-2)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    engine.update_weights(model)
    check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=2e-2)
    engine.close()


@pytest.mark.parametrize("tie", [False, True])
def test_lmforge_policy_through_hf_export_matches_on_hf_and_vllm_engines(tie):
    """A TransformerLM (GQA) served as HF Llama: names, RoPE row permutation and tied head all line up."""
    from lmforge.model import ModelConfig, TransformerLM

    torch.manual_seed(0)
    model = TransformerLM.from_config(
        ModelConfig(
            vocab_size=40,
            context_length=32,
            d_model=32,
            num_layers=2,
            num_heads=4,
            num_kv_heads=2,
            tie_embeddings=tie,
        )
    )
    hf = HFRolloutEngine(model)
    check_engine_log_probs(hf, model, PROMPTS, settings(), tolerance=1e-3)
    vllm = make_vllm(model)
    check_engine_log_probs(vllm, model, PROMPTS, settings(), tolerance=1e-3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    for engine in (hf, vllm):
        engine.update_weights(model)
        check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=1e-3)


def test_torch_engine_part_matches_trainer():
    from lmforge.align.engines.factory import make_rollout_engine
    from lmforge.model import ModelConfig, TransformerLM

    torch.manual_seed(0)
    model = TransformerLM.from_config(
        ModelConfig(vocab_size=40, context_length=32, d_model=32, num_layers=1, num_heads=2)
    )
    engine = make_rollout_engine("torch", model)
    rollouts = engine.generate(PROMPTS, settings())
    assert [r.prompt_index for r in rollouts] == [0, 0, 1, 1]
    check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=1e-3)


def test_preflight_names_top_p_when_engine_reports_pre_nucleus_log_probs():
    """The torch engine reports log-probs before nucleus truncation: with top-p on, preflight says so."""
    from lmforge.align.engines.factory import make_rollout_engine
    from lmforge.model import ModelConfig, TransformerLM

    torch.manual_seed(0)
    model = TransformerLM.from_config(
        ModelConfig(vocab_size=40, context_length=32, d_model=32, num_layers=1, num_heads=2)
    )
    engine = make_rollout_engine("torch", model)
    with pytest.raises(LmforgeError, match="top-p"):
        check_engine_log_probs(engine, model, PROMPTS, settings(top_p=0.3, max_new_tokens=8), tolerance=1e-4)


def test_vllm_serves_the_policy_dtype_not_auto(tok):
    model = tiny_llama(len(tok))
    engine = make_vllm(model)
    assert engine.llm.dtype == "float32"  # what the trainer scores with
    check_engine_log_probs(engine, model, PROMPTS, settings(), tolerance=1e-4)
    # what "auto" did: vLLM serves an fp32 checkpoint in bf16 and the log-probs no longer agree
    auto = VLLMRolloutEngine(
        model,
        dtype="auto",
        llm_cls=fake_vllm.FakeLLM,
        sampling_params_cls=fake_vllm.SamplingParams,
    )
    assert auto.llm.dtype == "bfloat16"
    with pytest.raises(LmforgeError):
        check_engine_log_probs(auto, model, PROMPTS, settings(), tolerance=1e-4)


def test_vllm_prompts_and_steps_get_distinct_seeds(tok):
    from lmforge.align.engines.vllm_engine import prompt_seed

    engine = make_vllm(tiny_llama(len(tok)))
    n, ranges = 4, []
    for step_seed in (7919, 7920):  # two consecutive steps of the loop
        engine.generate([[3, 4], [5, 6], [7, 8]], settings(n=n, seed=step_seed))
        seeds = [p.seed for p in engine.llm.last_params]
        assert len(set(seeds)) == 3 and seeds == [prompt_seed(step_seed, k) for k in range(3)]
        ranges += [set(range(s, s + n)) for s in seeds]  # vLLM seeds child j with seed + j
    assert all(not (a & b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])


def test_vllm_kv_cache_is_sized_from_the_model(tok):
    from lmforge.align.engines.vllm_engine import KV_HEADROOM

    model = tiny_llama(len(tok), hidden=32, layers=2, heads=4, kv_heads=2)
    engine = VLLMRolloutEngine(
        model,
        max_model_len=64,
        max_num_seqs=16,
        llm_cls=fake_vllm.FakeLLM,
        sampling_params_cls=fake_vllm.SamplingParams,
    )
    per_token = 2 * 2 * 2 * (32 // 4) * 4  # K and V, 2 layers, 2 KV heads, head dim 8, fp32
    assert engine.llm.kv_cache_memory_bytes == int(per_token * 64 * 16 * KV_HEADROOM)  # ~40 KB, not 42 GB
    explicit = VLLMRolloutEngine(
        model,
        kv_cache_memory_bytes=10**6,
        llm_cls=fake_vllm.FakeLLM,
        sampling_params_cls=fake_vllm.SamplingParams,
    )
    assert explicit.llm.kv_cache_memory_bytes == 10**6


def test_vllm_start_leaves_the_trainers_rng_alone(tok):
    import random

    model = tiny_llama(len(tok))
    torch.manual_seed(1234)
    random.seed(1234)
    expected = (torch.rand(3), random.random())
    torch.manual_seed(1234)
    random.seed(1234)
    make_vllm(model)  # the stand-in, like vLLM, calls set_random_seed(0) in this process
    assert torch.equal(torch.rand(3), expected[0]) and random.random() == expected[1]


def test_vllm_empties_the_allocator_cache_before_waking_the_kv_cache(tok, monkeypatch):
    engine = make_vllm(tiny_llama(len(tok)))
    engine.generate(PROMPTS, settings())  # ends asleep
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: engine.llm.calls.append("empty_cache"))
    engine.generate(PROMPTS, settings())
    calls = engine.llm.calls
    assert calls[calls.index("wake_up(['kv_cache'])") - 1] == "empty_cache"


@pytest.mark.parametrize("kind, name", parity_params("rollout_engine"))
def test_rollout_engine_parity(kind, name):
    if name == "vllm" and (importlib.util.find_spec("vllm") is None or not torch.cuda.is_available()):
        pytest.skip("needs vLLM and a CUDA device (its glue is tested above against the stand-in)")
    assert_parity(kind, name)


def test_rollout_engine_parity_check_catches_a_wrong_engine():
    from lmforge.align.engines.parity import rollout_engine_parity

    def shifted(model, **options):  # the hf engine, reporting log-probs 0.01 too high
        engine = HFRolloutEngine(model)
        real = engine.generate

        def generate(prompts, s):
            out = real(prompts, s)
            for r in out:
                r.log_probs = [x + 0.01 for x in r.log_probs]
            return out

        engine.generate = generate
        return engine

    result = rollout_engine_parity(shifted, get_part("rollout_engine", "torch"))
    assert not result.passed and result.max_error == pytest.approx(0.01, abs=1e-4)
    assert rollout_engine_parity(get_part("rollout_engine", "hf"), get_part("rollout_engine", "torch")).passed
