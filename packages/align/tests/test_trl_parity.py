"""Every objective against TRL 1.16's own loss code on the same inputs.

The expected numbers were computed once by ``tools/align/trl_reference_values.py``, which calls TRL's
``GRPOTrainer._compute_loss`` / ``DPOTrainer._compute_loss`` (and TRL's ``nanstd`` for the advantages)
in a throwaway environment; they are written here with the inputs beside them. TRL is not installed
in CI.
"""

import pytest
import torch

from lmforge.align.policy_gradient import (
    BatchTotals,
    group_advantages,
    microbatch_loss,
    truncated_importance_weights,
)
from lmforge.align.reward_mix import WeightedReward, score_rollouts
from lmforge.core import get_part

# 3 sequences x 4 completion positions, uneven lengths; TRL's max_completion_length = 6
LOGPS = [[-1.0, -0.5, -2.0, -0.3], [-0.7, -1.2, -0.4, -0.9], [-2.0, -0.1, -0.6, -1.5]]
OLD = [[-1.2, -0.4, -1.5, -0.3], [-0.7, -1.0, -0.9, -0.2], [-1.6, -0.4, -0.6, -1.1]]
SAMPLED = [[-1.1, -0.6, -1.0, -0.3], [-0.9, -1.0, -0.2, -0.9], [-1.6, -1.9, -0.6, -1.1]]  # engine's
MASK = [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]]
ADV = [0.8, -1.1, 0.5]
MAX_COMPLETION = 6

# (our part, its options, TRL's loss, TRL's gradient w.r.t. the log-probs); TRL settings in comments
TRL_GRPO = [
    # loss_type="grpo", epsilon=0.2
    ("grpo_clip", {}, -0.0056874,
     [[0.0, -0.08043, -0.053914, 0.0], [0.091667, 0.07505, 0.151133, 0.0], [-0.05586, 0.0, 0.0, 0.0]]),
    # loss_type="bnpo"
    ("bnpo", {}, 0.1766603,
     [[0.0, -0.08043, -0.053914, 0.0], [0.122222, 0.100067, 0.20151, 0.0], [-0.03724, 0.0, 0.0, 0.0]]),
    # loss_type="dr_grpo", max_completion_length=6
    ("dr_grpo", {}, 0.0883302,
     [[0.0, -0.040215, -0.026957, 0.0], [0.061111, 0.050034, 0.100755, 0.0], [-0.01862, 0.0, 0.0, 0.0]]),
    # loss_type="dapo", epsilon_high=0.28
    ("dapo", {}, 0.1703134,
     [[-0.108569, -0.08043, -0.053914, 0.0], [0.122222, 0.100067, 0.20151, 0.0], [-0.03724, 0.0, 0.0, 0.0]]),
    # loss_type="grpo", epsilon_high=0.28, delta=1.5
    ("grpo_clip", {"epsilon_high": 0.28, "delta": 1.5}, -0.0278893,
     [[-0.108569, -0.08043, -0.053914, 0.0], [0.091667, 0.07505, 0.0, 0.0], [-0.05586, 0.0, 0.0, 0.0]]),
    # loss_type="grpo", importance_sampling_level="sequence", epsilon=0.2, epsilon_high=0.3
    ("gspo", {"epsilon": 0.2, "epsilon_high": 0.3}, -0.0601441,
     [[-0.077793, -0.077793, -0.077793, 0.0], [0.082943, 0.082943, 0.082943, 0.082943],
      [-0.079269, -0.079269, 0.0, 0.0]]),
    # loss_type="cispo", epsilon_high=1.3
    ("cispo", {"ratio_cap": 1.3}, 0.0144981,
     [[-0.108569, -0.08043, -0.053914, 0.0], [0.122222, 0.100067, 0.158889, 0.060694],
      [-0.03724, -0.072222, 0.0, 0.0]]),
    # loss_type="dapo", use_vllm, vllm_importance_sampling_mode="token_truncate", clip_max=1.5
    ("dapo", {"importance_cap": 1.5}, 0.1230015,
     [[-0.098237, -0.098237, -0.0327, 0.0], [0.149283, 0.100067, 0.100067, 0.0], [-0.03724, 0.0, 0.0, 0.0]]),
]  # fmt: skip


def our_loss(name, options, rows=slice(None), totals=None):
    options = dict(options)
    cap = options.pop("importance_cap", None)
    loss = get_part("rl_loss", name)(**options)
    lp = torch.tensor(LOGPS, requires_grad=True)
    mask = torch.tensor(MASK, dtype=torch.bool)[rows]
    per_token, _ = loss(
        lp[rows],
        advantages=torch.tensor(ADV)[rows, None],
        old_log_probs=torch.tensor(OLD)[rows],
        response_mask=mask,
    )
    if cap is not None:
        per_token = per_token * truncated_importance_weights(
            torch.tensor(OLD)[rows], torch.tensor(SAMPLED)[rows], mask, cap
        )
    totals = totals or BatchTotals(3, sum(map(sum, MASK)), MAX_COMPLETION)
    value = microbatch_loss(per_token, mask, loss.reduction, totals)
    value.backward()
    return float(value.detach()), lp.grad


@pytest.mark.parametrize("name, options, trl_loss, trl_grad", TRL_GRPO)
def test_policy_losses_match_trl(name, options, trl_loss, trl_grad):
    value, grad = our_loss(name, options)
    assert value == pytest.approx(trl_loss, abs=2e-7)
    torch.testing.assert_close(grad, torch.tensor(trl_grad), atol=2e-6, rtol=0)


@pytest.mark.parametrize("name", ["grpo_clip", "dr_grpo", "dapo", "gspo", "cispo"])
def test_uneven_micro_batches_add_up_to_the_whole_batch(name):
    """Sequences [0, 1] then [2]: the two shares equal the one-batch loss and gradient (a last,
    smaller micro-batch no longer weighs as much as a full one)."""
    whole, grad = our_loss(name, {})
    first, g1 = our_loss(name, {}, rows=slice(0, 2))
    second, g2 = our_loss(name, {}, rows=slice(2, 3))
    assert first + second == pytest.approx(whole, abs=1e-7)
    torch.testing.assert_close(g1 + g2, grad)


# DPO: summed log-probs of the policy and the reference per pair, and completion lengths; beta 0.1
POLICY_CHOSEN, POLICY_REJECTED = [-12.0, -8.5, -20.0], [-13.5, -8.0, -25.0]
REF_CHOSEN, REF_REJECTED = [-12.5, -9.0, -21.0], [-13.0, -8.2, -24.0]
CHOSEN_LEN, REJECTED_LEN = [6, 4, 10], [7, 4, 12]
TRL_DPO = [
    ("sigmoid", {}, 0.640265),  # loss_type="sigmoid"
    ("hinge", {}, 0.89),  # loss_type="hinge"
    ("ipo", {}, 23.644079),  # loss_type="ipo" (per-token average log-ratios)
    ("robust", {"label_smoothing": 0.1}, 0.626515),  # loss_type="robust", label_smoothing=0.1
]


@pytest.mark.parametrize("name, options, trl_loss", TRL_DPO)
def test_preference_losses_match_trl(name, options, trl_loss):
    loss = get_part("preference_loss", name)(beta=0.1, **options)
    chosen = torch.tensor(POLICY_CHOSEN) - torch.tensor(REF_CHOSEN)
    rejected = torch.tensor(POLICY_REJECTED) - torch.tensor(REF_REJECTED)
    value = loss(chosen, rejected, torch.tensor(CHOSEN_LEN).float(), torch.tensor(REJECTED_LEN).float())
    assert float(value.mean()) == pytest.approx(trl_loss, abs=2e-6)


def test_cdpo_label_smoothing_is_the_mixture_of_both_labels():
    z = torch.tensor([0.3, -1.0])
    smooth = get_part("preference_loss", "sigmoid")(beta=1.0, label_smoothing=0.2)
    plain = get_part("preference_loss", "sigmoid")(beta=1.0)
    expected = 0.8 * plain(z, torch.zeros(2), None, None) + 0.2 * plain(-z, torch.zeros(2), None, None)
    torch.testing.assert_close(smooth(z, torch.zeros(2), None, None), expected)


# two reward parts (weights 1.0, 0.5) over 2 groups of 3; None = the part abstains on that response
PER_PART = [[1.0, 0.5], [None, 1.0], [0.0, None], [None, None], [1.0, 0.0], [0.0, 1.0]]
TRL_ADVANTAGES = [1.059457, -0.132432, -0.927025, 0.0, 0.706907, -0.706907]  # scale_rewards="group"


def test_weighted_rewards_with_abstentions_match_trl_advantages():
    parts = [
        WeightedReward(f"r{k}", lambda resp, truth, k=k: {"reward": PER_PART[int(resp)][k]}, w)
        for k, w in enumerate([1.0, 0.5])
    ]
    total, metrics = score_rollouts(parts, [str(i) for i in range(6)], ["x"] * 6)
    assert torch.isnan(total[3]) and total[0] == pytest.approx(1.25) and total[1] == pytest.approx(0.5)
    assert metrics["reward_r0"] == pytest.approx(0.5) and metrics["reward_r1"] == pytest.approx(0.625)
    assert metrics["reward_unscorable"] == pytest.approx(1 / 6)
    advantages = group_advantages(total, 3, "group_normalized", 1e-4)  # TRL's epsilon
    assert advantages.tolist() == pytest.approx(TRL_ADVANTAGES, abs=1e-5)
