"""Values of the public helpers against hand computations."""

import json
import math

import pytest
import torch

from lmforge.align import (
    PackedSFTDataset,
    compute_entropy,
    compute_group_normalized_rewards,
    compute_grpo_clip_loss,
    compute_naive_policy_gradient_loss,
    compute_per_instance_dpo_loss,
    compute_policy_gradient_loss,
    get_response_log_probs,
    grpo_microbatch_train_step,
    iterate_batches,
    masked_mean,
    masked_normalize,
    parse_gsm8k_response,
    parse_mmlu_response,
    sft_microbatch_train_step,
    tokenize_prompt_and_output,
)
from lmforge.align.testing import tiny_hf_tokenizer, tiny_llama


@pytest.fixture(scope="module")
def tok():
    return tiny_hf_tokenizer()


def test_tokenize_prompt_and_output_shifts_pads_and_masks(tok):
    out = tokenize_prompt_and_output(["ab", "c"], ["12", "3456"], tok)
    ids = lambda s: tok.encode(s, add_special_tokens=False)
    full0 = ids("ab") + ids("12") + [tok.pad_token_id]  # right-padded to the longest (5 tokens)
    full1 = ids("c") + ids("3456")
    assert out["input_ids"].tolist() == [full0[:-1], full1[:-1]]
    assert out["labels"].tolist() == [full0[1:], full1[1:]]
    # labels[j] is sequence[j+1]: row 0's response is sequence[2:4] -> labels[1:3]
    assert out["response_mask"].tolist() == [[False, True, True, False], [True, True, True, True]]


def test_compute_entropy_matches_definition_and_is_stable():
    logits = torch.tensor([[0.0, 0.0], [1000.0, 0.0], [math.log(3.0), 0.0]])
    h = compute_entropy(logits)
    assert h[0].item() == pytest.approx(math.log(2))
    assert h[1].item() == pytest.approx(0.0, abs=1e-6)
    p = torch.tensor([0.75, 0.25])
    assert h[2].item() == pytest.approx(-(p * p.log()).sum().item(), rel=1e-5)


def test_get_response_log_probs_matches_manual_softmax(tok):
    model = tiny_llama(len(tok))
    batch = tokenize_prompt_and_output(["ab"], ["12"], tok)
    out = get_response_log_probs(model, batch["input_ids"], batch["labels"], return_token_entropy=True)
    logits = model(batch["input_ids"]).logits[0]
    for t, label in enumerate(batch["labels"][0].tolist()):
        expected = logits[t, label] - torch.logsumexp(logits[t], -1)
        assert out["log_probs"][0, t].item() == pytest.approx(expected.item(), abs=1e-5)
    assert out["token_entropy"].shape == batch["labels"].shape


def test_masked_mean_and_normalize():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    m = torch.tensor([[1, 0, 1], [0, 0, 1]], dtype=torch.bool)
    assert masked_mean(x, m).item() == pytest.approx((1 + 3 + 6) / 3)
    assert masked_mean(x, m, dim=1).tolist() == pytest.approx([2.0, 6.0])
    assert masked_normalize(x, m, 2.0).item() == pytest.approx(5.0)
    assert masked_normalize(x, m, 2.0, dim=0).tolist() == pytest.approx([0.5, 0.0, 4.5])


def test_sft_microbatch_step_value_and_gradient():
    lp = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.5, -4.0]], requires_grad=True)
    m = torch.tensor([[1, 1, 0], [0, 1, 1]], dtype=torch.bool)
    loss, meta = sft_microbatch_train_step(lp, m, gradient_accumulation_steps=2, normalize_constant=2.0)
    # per sequence: (1+2)/2 = 1.5 and (0.5+4)/2 = 2.25 ; mean 1.875 ; / 2 accumulation
    assert loss.item() == pytest.approx(1.875 / 2)
    assert torch.allclose(lp.grad, torch.tensor([[-0.125, -0.125, 0.0], [0.0, -0.125, -0.125]]))
    assert meta["nll_per_token"].item() == pytest.approx((1 + 2 + 0.5 + 4) / 4)


def test_group_normalized_rewards():
    rewards = {"a": 1.0, "b": 0.0}
    fn = lambda r, g: {"reward": rewards[r], "format_reward": 1.0}
    adv, raw, meta = compute_group_normalized_rewards(
        fn,
        ["a", "b", "b", "b", "a", "a"],
        ["x"] * 6,
        group_size=3,
        advantage_eps=1e-6,
        normalize_by_std=False,
    )
    assert raw.tolist() == [1, 0, 0, 0, 1, 1]
    assert adv.tolist() == pytest.approx([2 / 3, -1 / 3, -1 / 3, -2 / 3, 1 / 3, 1 / 3])
    adv_std, _, _ = compute_group_normalized_rewards(fn, ["a", "b"], ["x"] * 2, 2, 0.0, True)
    std = torch.tensor([1.0, 0.0]).std().item()  # unbiased, as torch computes it
    assert adv_std.tolist() == pytest.approx([0.5 / std, -0.5 / std])
    assert meta["reward_format"] == 1.0 and meta["reward_mean"] == pytest.approx(0.5)


def test_naive_and_clip_losses():
    lp = torch.tensor([[-1.0, -2.0]])
    assert compute_naive_policy_gradient_loss(torch.tensor([[2.0]]), lp).tolist() == [[2.0, 4.0]]
    old = torch.tensor([[-1.0, -2.0 - math.log(2.0)]])  # ratios 1 and 2
    loss, meta = compute_grpo_clip_loss(torch.tensor([[1.0]]), lp, old, cliprange=0.2)
    assert loss.tolist()[0] == pytest.approx([-1.0, -1.2])
    assert meta["clipped"].tolist() == [[False, True]]
    loss_neg, meta_neg = compute_grpo_clip_loss(torch.tensor([[-1.0]]), lp, old, cliprange=0.2)
    assert loss_neg.tolist()[0] == pytest.approx([1.0, 2.0])  # min picks the unclipped, larger penalty
    assert meta_neg["clipped"].tolist() == [[False, False]]


def test_policy_gradient_dispatch_and_missing_inputs():
    lp = torch.tensor([[-1.0]])
    loss, _ = compute_policy_gradient_loss(lp, "no_baseline", raw_rewards=torch.tensor([[3.0]]))
    assert loss.item() == 3.0
    loss, _ = compute_policy_gradient_loss(
        lp,
        "grpo_no_clip",
        advantages=torch.tensor([[2.0]]),
        old_log_probs=torch.tensor([[-1.0 - math.log(4.0)]]),
    )
    assert loss.item() == pytest.approx(-8.0)
    with pytest.raises(ValueError, match="old_log_probs"):
        compute_policy_gradient_loss(lp, "grpo_clip", advantages=torch.tensor([[1.0]]), cliprange=0.2)


def test_grpo_microbatch_step_masked_mean_and_constant():
    lp = torch.tensor([[-1.0, -1.0, -1.0], [-2.0, -2.0, -2.0]], requires_grad=True)
    m = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    adv = torch.tensor([[1.0], [-1.0]])
    loss, _ = grpo_microbatch_train_step(lp, m, 2, "reinforce_with_baseline", advantages=adv)
    # per-token loss: row0 1.0 each, row1 -2.0 each; masked means 1 and -2; batch mean -0.5; /2
    assert loss.item() == pytest.approx(-0.25)
    assert lp.grad[0].tolist() == pytest.approx([-0.125, -0.125, 0.0])
    lp2 = lp.detach().clone().requires_grad_(True)
    loss2, _ = grpo_microbatch_train_step(
        lp2,
        m,
        1,
        "reinforce_with_baseline",
        advantages=adv,
        length_normalization="constant",
        normalize_constant=4.0,
    )
    assert loss2.item() == pytest.approx(((1 + 1) / 4 + (-6) / 4) / 2)
    assert lp2.grad[1].tolist() == pytest.approx([0.125, 0.125, 0.125])


def test_dpo_loss_matches_hand_computation(tok):
    lm, ref = tiny_llama(len(tok), seed=1), tiny_llama(len(tok), seed=2)

    def seq_lp(model, prompt, resp):
        p = tok.encode(prompt, add_special_tokens=False)
        r = tok.encode(resp, add_special_tokens=False) + [tok.eos_token_id]
        logits = model(torch.tensor([p + r])).logits[0]
        lps = torch.log_softmax(logits, -1)
        return sum(lps[len(p) - 1 + i, t].item() for i, t in enumerate(r))

    beta = 0.5
    loss = compute_per_instance_dpo_loss(lm, ref, tok, beta, "2+2=", "4", "5")
    z = beta * (
        (seq_lp(lm, "2+2=", "4") - seq_lp(ref, "2+2=", "4"))
        - (seq_lp(lm, "2+2=", "5") - seq_lp(ref, "2+2=", "5"))
    )
    assert loss.item() == pytest.approx(math.log1p(math.exp(-z)), abs=1e-5)
    loss.backward()
    assert all(p.grad is None for p in ref.parameters())


def test_packed_sft_dataset_and_batches(tok, tmp_path):
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"p{i}", "response": f"r{i}"}) + "\n" for i in range(4)))
    template = "{prompt}:{response}"
    ds = PackedSFTDataset(tok, path, seq_length=4, shuffle=False, template=template)
    stream = []
    for i in range(4):
        stream += tok.encode(f"p{i}:r{i}", add_special_tokens=False) + [tok.eos_token_id]
    assert len(ds) == (len(stream) - 1) // 4
    assert ds[1]["input_ids"].tolist() == stream[4:8] and ds[1]["labels"].tolist() == stream[5:9]
    with pytest.raises(IndexError):
        ds[len(ds)]
    batches = list(iterate_batches(ds, batch_size=2, shuffle=False))
    assert batches[0]["input_ids"].shape == (2, 4) and sum(len(b["input_ids"]) for b in batches) == len(ds)
    shuffled = PackedSFTDataset(tok, path, seq_length=4, shuffle=True, template=template, seed=3)
    assert sorted(shuffled.tokens.tolist()) == sorted(ds.tokens.tolist())


def test_parsers():
    assert parse_gsm8k_response("so 3 apples, then 1,234.5 total.") == "1234.5"
    assert parse_gsm8k_response("no digits") is None
    assert parse_gsm8k_response("it is -7") == "-7"
    ex = {"options": ["w", "x", "y", "z"]}
    assert parse_mmlu_response(ex, "The correct answer is C.") == "C"
    assert parse_mmlu_response(ex, "I pick B") == "B"
    assert parse_mmlu_response(ex, "The answer is E") is None
    assert parse_mmlu_response(ex, "no idea") is None
