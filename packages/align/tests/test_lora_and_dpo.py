"""LoRA on the policy (parity at init, gradients, merge, reference = adapters off) and batched DPO."""

import pytest
import torch

from lmforge.align.config import DPOConfig, GRPOConfig
from lmforge.align.dpo import pair_ids, preference_log_ratios, sequence_log_prob
from lmforge.align.loops.dpo import run_dpo
from lmforge.align.loops.grpo import run_grpo
from lmforge.align.lora import AdaptersOff, apply_lora, has_lora, merge_lora, merged_copy
from lmforge.align.tasks.arithmetic import CharTokenizer
from lmforge.align.testing import tiny_hf_tokenizer, tiny_llama
from lmforge.core import load_config, read_metrics
from lmforge.model import ModelConfig, TransformerLM

TARGETS = ["q_proj", "k_proj", "v_proj", "output_proj", "w1", "w2", "w3"]


def lmforge_model(tie=False):
    torch.manual_seed(0)
    return TransformerLM.from_config(
        ModelConfig(
            vocab_size=40, context_length=32, d_model=32, num_layers=2, num_heads=4, tie_embeddings=tie
        )
    )


IDS = torch.tensor([[3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14]])


@pytest.mark.parametrize("make", [lmforge_model, lambda: tiny_llama(60)])
def test_zero_initialised_adapter_leaves_logits_unchanged_and_only_adapters_learn(make):
    model = make()
    model_logits = lambda m: m(IDS) if isinstance(m(IDS), torch.Tensor) else m(IDS).logits  # noqa: E731
    before = model_logits(model).detach()
    targets = TARGETS if isinstance(model, TransformerLM) else ["q_proj", "v_proj", "o_proj", "up_proj"]
    wrapped = apply_lora(model, rank=4, alpha=8.0, targets=targets)
    assert len(wrapped) >= 2 * len(targets) - 1  # every target in every layer
    torch.testing.assert_close(model_logits(model), before, atol=0, rtol=0)
    model_logits(model).square().mean().backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert grads == trainable and grads and all(".lora_" in n for n in grads)
    assert all(n.endswith("lora_A") for n in grads if model.get_parameter(n).grad.abs().sum() == 0)


def test_merge_equals_the_adapted_model_and_adapters_off_is_the_base():
    model = lmforge_model()
    base = model(IDS).detach()
    apply_lora(model, rank=4, alpha=8.0, targets=TARGETS)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if ".lora_B" in n:
                p.normal_(0, 0.1)  # a trained adapter
    adapted = model(IDS).detach()
    assert (adapted - base).abs().max() > 1e-3
    torch.testing.assert_close(AdaptersOff(model)(IDS), base)  # the reference: no second copy
    merged = merged_copy(model)
    assert not has_lora(merged) and has_lora(model)
    torch.testing.assert_close(merged(IDS), adapted, atol=1e-5, rtol=1e-5)
    assert set(merged.state_dict()) == set(lmforge_model().state_dict())  # plain names for export
    torch.testing.assert_close(merge_lora(model)(IDS), adapted, atol=1e-5, rtol=1e-5)


def test_lora_typos_fail_loudly():
    with pytest.raises(ValueError, match="match no linear layer"):
        apply_lora(lmforge_model(), 2, 4.0, ["q_proj", "qproj"])


def test_lora_grpo_trains_adapters_only_and_exports_a_plain_policy(tmp_path):
    overrides = [
        "policy.model.d_model=16",
        "policy.model.num_layers=1",
        "policy.model.num_heads=2",
        "policy.lora.rank=2",
        "train_size=32",
        "eval_size=4",
        "task.max_operand=9",
        "run.progress=false",
        f"run.out={tmp_path}",
        "kl_beta=0.1",
        "steps=2",
        "rollout.group_size=2",
        "rollout.prompts_per_step=2",
        "rollout.max_new_tokens=6",
        "optim.lr=0.05",
    ]
    run = run_grpo(load_config(GRPOConfig, overrides=overrides))
    kls = [r["kl"] for r in read_metrics(run) if "kl" in r]
    assert kls[0] == pytest.approx(0.0, abs=1e-6)  # adapters start at zero: policy == reference
    from lmforge.align.policy import load_saved_policy

    saved = load_saved_policy(run / "final")
    assert not has_lora(saved.model) and "lora" not in " ".join(saved.model.state_dict())
    from safetensors.torch import load_file

    from lmforge.model.run_checkpoint import latest_checkpoint

    ckpt = load_file(latest_checkpoint(run) / "model.safetensors")
    assert any("lora_A" in k for k in ckpt)  # the checkpoint keeps the adapters apart, for resume
    # resume: two more steps from the checkpoint, into a LoRA-wrapped policy
    run_grpo(
        load_config(GRPOConfig, overrides=[*overrides[:-5], "steps=3", f"run.resume={run}", *overrides[-4:]])
    )
    assert [r["step"] for r in read_metrics(run) if "reward_mean" in r] == [1, 2, 3]


def test_empty_prompt_scores_every_response_token():
    tok = CharTokenizer()
    model = TransformerLM.from_config(
        ModelConfig(vocab_size=tok.vocab_size, context_length=32, d_model=32, num_layers=1, num_heads=4)
    )
    prompt, response = pair_ids(tok, "", "12")
    assert prompt == [tok.eot_id] and response == tok.encode("12") + [tok.eot_id]
    got = sequence_log_prob(model, prompt, response)
    full = torch.tensor([prompt + response])
    lps = torch.log_softmax(model(full[:, :-1]), -1)[0]
    expected = sum(lps[i, t] for i, t in enumerate(response))  # 3 tokens, not only the final EOS
    assert float(got.detach()) == pytest.approx(float(expected.detach()), abs=1e-5)


def test_batched_pairs_equal_one_pair_at_a_time():
    tok = tiny_hf_tokenizer()
    lm, ref = tiny_llama(len(tok), seed=1), tiny_llama(len(tok), seed=2)
    pairs = [
        {"prompt": "2+2=", "chosen": "4", "rejected": "5"},
        {"prompt": "10+5=", "chosen": "15 ok", "rejected": "1"},
        {"prompt": "", "chosen": "hello", "rejected": "bye"},
    ]
    batched = preference_log_ratios(lm, ref, tok, pairs)
    for i, pair in enumerate(pairs):
        one = preference_log_ratios(lm, ref, tok, [pair])
        for key in ("chosen", "rejected", "chosen_lengths", "rejected_lengths"):
            assert float(batched[key][i].detach()) == pytest.approx(float(one[key][0].detach()), abs=1e-4)


@pytest.mark.parametrize(
    "loss", [["loss=sigmoid"], ["loss=ipo"], ["loss=hinge"], ["loss=robust", "loss.label_smoothing=0.1"]]
)
def test_dpo_variants_train(tmp_path, loss):
    cfg = load_config(
        DPOConfig,
        overrides=[
            "policy.model.d_model=16",
            "policy.model.num_layers=1",
            "policy.model.num_heads=2",
            "train_size=32",
            "task.max_operand=9",
            "run.progress=false",
            f"run.out={tmp_path}",
            *loss,
            "steps=3",
            "pairs_per_step=4",
            "eval_pairs=4",
            "run.eval_every=3",
            "optim.lr=1e-2",
        ],
    )
    records = read_metrics(run_dpo(cfg))
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]
    assert records[0]["eval_reward_margin"] == pytest.approx(0.0, abs=1e-6)
