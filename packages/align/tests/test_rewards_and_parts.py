"""Rewards (math grader, R1 format) and the registered rl_loss / reward parts."""

import pytest
import torch

from lmforge.align.policy_gradient import compute_policy_gradient_loss
from lmforge.align.rewards import exact_match_reward, math_answers_equal, math_reward, r1_math_reward
from lmforge.core import get_part, part_names


@pytest.mark.parametrize(
    "given, truth, ok",
    [
        ("42", "42", True),
        (" 1,000 ", "1000", True),
        ("3.0", "3", True),
        ("\\boxed{7}", "7", True),
        ("0.5", "1/2", True),
        ("2*3", "6", True),
        ("x+1", "1+x", True),
        ("41", "42", False),
        ("", "0", False),
        (None, "1", False),
        ("abc", "42", False),
    ],
)
def test_math_grader(given, truth, ok):
    assert math_answers_equal(given, truth) is ok


def test_r1_format_reward():
    good = "<think> 2 plus 2 </think> <answer> 4 </answer>"
    assert r1_math_reward(good, "4") == {"reward": 1.0, "format_reward": 1.0, "answer_reward": 1.0}
    assert r1_math_reward(" 2 plus 2 </think> <answer>4</answer>", "4")["reward"] == 1.0  # <think> in prompt
    assert r1_math_reward(good, "5") == {"reward": 0.0, "format_reward": 1.0, "answer_reward": 0.0}
    assert r1_math_reward("the answer is 4", "4")["format_reward"] == 0.0
    assert r1_math_reward("<think>x</think> <answer>4</answer> trailing", "4")["format_reward"] == 0.0


def test_math_and_exact_match_rewards():
    assert math_reward("so it is 12", "12")["reward"] == 1.0
    assert math_reward("<think>7</think><answer>12</answer>", "12")["reward"] == 1.0
    assert (
        exact_match_reward(" yes ", "yes")["reward"] == 1.0
        and exact_match_reward("no", "yes")["reward"] == 0.0
    )


def test_parts_are_registered():
    assert {
        "no_baseline",
        "reinforce_with_baseline",
        "grpo_clip",
        "grpo_no_clip",
        "dr_grpo",
        "dapo",
        "bnpo",
        "gspo",
        "cispo",
    } <= set(part_names("rl_loss"))
    assert {"r1_math", "r1_format", "math", "exact_match"} <= set(part_names("reward"))
    assert {"sigmoid", "robust", "hinge", "ipo"} <= set(part_names("preference_loss"))
    dr = get_part("rl_loss", "dr_grpo")()
    assert dr.advantage == "group_centered" and dr.reduction == "constant" and dr.uses_old_log_probs
    # options override a preset's defaults
    assert get_part("rl_loss", "dapo")(epsilon_high=0.3).epsilon_high == 0.3


def test_grpo_no_clip_equals_reinforce_gradient_on_policy():
    """With old = current log-probs, d(-r A)/d logp = -A: the same gradient as REINFORCE."""
    lp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    adv = torch.tensor([[0.7]])
    loss, _ = compute_policy_gradient_loss(lp, "grpo_no_clip", advantages=adv, old_log_probs=lp.detach())
    loss.sum().backward()
    assert torch.allclose(lp.grad, torch.full_like(lp, -0.7))
