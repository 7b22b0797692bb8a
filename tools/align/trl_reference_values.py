"""Our objectives against TRL's code on identical inputs: the numbers behind the README's table and the
fixed expected values in ``packages/align/tests/test_trl_parity.py``.

TRL is not a dependency. Run this in a throwaway environment that has it, for example::

    uv venv /tmp/trlenv --python .venv/bin/python
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/trlenv/lib/python3.11/site-packages/ws.pth
    uv pip install --python /tmp/trlenv/bin/python --no-deps trl && \\
        uv pip install --python /tmp/trlenv/bin/python datasets
    /tmp/trlenv/bin/python tools/align/trl_reference_values.py

TRL's ``GRPOTrainer._compute_loss`` and ``DPOTrainer._compute_loss`` are called unbound on a stand-in
``self`` that holds only the attributes those methods read, with the model forward replaced by fixed
log-probs, so what is compared is TRL's own loss code. Prints one row per objective: the loss and the
max-abs gradient difference with respect to the policy log-probs.
"""

from __future__ import annotations

import collections
import types

import torch

from lmforge.align.dpo import PREFERENCE_LOSSES
from lmforge.align.policy_gradient import BatchTotals, microbatch_loss, truncated_importance_weights
from lmforge.align.rl_losses import LOSSES

# the inputs (also in the test): 3 sequences, 4 completion positions, uneven lengths
LOGPS = [[-1.0, -0.5, -2.0, -0.3], [-0.7, -1.2, -0.4, -0.9], [-2.0, -0.1, -0.6, -1.5]]
OLD = [[-1.2, -0.4, -1.5, -0.3], [-0.7, -1.0, -0.9, -0.2], [-1.6, -0.4, -0.6, -1.1]]
SAMPLED = [[-1.1, -0.6, -1.0, -0.3], [-0.9, -1.0, -0.2, -0.9], [-1.6, -1.9, -0.6, -1.1]]
MASK = [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]]
ADV = [0.8, -1.1, 0.5]
MAX_COMPLETION = 6

# (our part, options, TRL loss_type, TRL attribute overrides)
GRPO_CASES = [
    ("grpo_clip", {}, "grpo", {}),
    ("bnpo", {}, "bnpo", {}),
    ("dr_grpo", {}, "dr_grpo", {}),
    ("dapo", {}, "dapo", {"epsilon_high": 0.28}),
    ("grpo_clip", {"epsilon_high": 0.28, "delta": 1.5}, "grpo", {"epsilon_high": 0.28, "delta": 1.5}),
    ("gspo", {"epsilon": 0.2, "epsilon_high": 0.3}, "grpo", {"level": "sequence", "epsilon_high": 0.3}),
    ("cispo", {"ratio_cap": 1.3}, "cispo", {"epsilon_high": 1.3}),
    ("dapo", {"importance_cap": 1.5}, "dapo", {"epsilon_high": 0.28, "is_cap": 1.5}),
]


def trl_grpo_loss(loss_type: str, opts: dict) -> tuple[float, torch.Tensor]:
    from trl.trainer.grpo_trainer import GRPOTrainer

    logps = torch.tensor(LOGPS, requires_grad=True)
    mask = torch.tensor(MASK, dtype=torch.float32)
    self = object.__new__(GRPOTrainer)
    acc = types.SimpleNamespace(
        num_processes=1, gather=lambda x: x, reduce=lambda x, reduction="sum": x, device="cpu"
    )
    ns = dict(
        top_entropy_quantile=1.0,
        off_policy_mask_threshold=None,
        importance_sampling_level=opts.get("level", "token"),
        beta=0.0,
        loss_type=loss_type,
        epsilon_low=0.2,
        epsilon_high=opts.get("epsilon_high", 0.2),
        use_vllm="is_cap" in opts,
        vllm_importance_sampling_correction="is_cap" in opts,
        vllm_importance_sampling_mode="token_truncate",
        model=types.SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1,
        max_completion_length=MAX_COMPLETION,
        _metrics={"train": collections.defaultdict(list), "eval": collections.defaultdict(list)},
        _entropy_bonus_enabled=False,
        aux_loss_enabled=False,
        use_adaptive_entropy=False,
        args=types.SimpleNamespace(
            delta=opts.get("delta"), use_bias_correction_kl=False, steps_per_generation=1
        ),
    )
    for k, v in ns.items():
        object.__setattr__(self, k, v)
    object.__setattr__(self, "accelerator", acc)
    object.__setattr__(
        self, "_get_per_token_logps_and_entropies", lambda *a, **k: (logps, torch.zeros_like(logps), None)
    )
    inputs = {
        "prompt_ids": torch.zeros(3, 1, dtype=torch.long),
        "prompt_mask": torch.ones(3, 1),
        "completion_ids": torch.zeros(3, 4, dtype=torch.long),
        "completion_mask": mask,
        "advantages": torch.tensor(ADV),
        "old_per_token_logps": torch.tensor(OLD),
        "num_items_in_batch": mask.sum(),
    }
    if "is_cap" in opts:  # TRL's token_truncate ratio, as its generation step computes it
        ratio = torch.exp(torch.nan_to_num((torch.tensor(OLD) - torch.tensor(SAMPLED)) * mask, nan=0.0))
        inputs["importance_sampling_ratio"] = torch.clamp(ratio, max=opts["is_cap"])
    loss = GRPOTrainer._compute_loss(self, None, inputs)
    loss.backward()
    return float(loss.detach()), logps.grad


def our_grpo_loss(name: str, options: dict) -> tuple[float, torch.Tensor]:
    options = dict(options)
    cap = options.pop("importance_cap", None)
    loss_part = LOSSES[name](**options)
    logps = torch.tensor(LOGPS, requires_grad=True)
    mask = torch.tensor(MASK, dtype=torch.bool)
    per_token, _ = loss_part(
        logps, advantages=torch.tensor(ADV)[:, None], old_log_probs=torch.tensor(OLD), response_mask=mask
    )
    if cap is not None:
        per_token = per_token * truncated_importance_weights(
            torch.tensor(OLD), torch.tensor(SAMPLED), mask, cap
        )
    loss = microbatch_loss(
        per_token, mask, loss_part.reduction, BatchTotals(3, int(mask.sum()), MAX_COMPLETION)
    )
    loss.backward()
    return float(loss.detach()), logps.grad


# DPO: per-pair summed log-probs of policy and reference, and completion lengths
POLICY_CHOSEN, POLICY_REJECTED = [-12.0, -8.5, -20.0], [-13.5, -8.0, -25.0]
REF_CHOSEN, REF_REJECTED = [-12.5, -9.0, -21.0], [-13.0, -8.2, -24.0]
CHOSEN_LEN, REJECTED_LEN = [6, 4, 10], [7, 4, 12]
DPO_CASES = [
    ("sigmoid", {}, "sigmoid"),
    ("hinge", {}, "hinge"),
    ("ipo", {}, "ipo"),
    ("robust", {"label_smoothing": 0.1}, "robust"),
]


def trl_dpo_loss(loss_type: str, beta: float, label_smoothing: float) -> float:
    from trl.trainer.dpo_trainer import DPOTrainer

    self = object.__new__(DPOTrainer)
    width = max(CHOSEN_LEN + REJECTED_LEN)
    completion_mask = torch.tensor(
        [[1] * n + [0] * (width - n) for n in CHOSEN_LEN + REJECTED_LEN], dtype=torch.float32
    )
    ns = dict(
        beta=beta,
        label_smoothing=label_smoothing,
        loss_types=[loss_type],
        loss_weights=[1.0],
        f_divergence_type="reverse_kl",
        ld_alpha=None,
        use_weighting=False,
        _total_train_tokens=0,
        _tp_size=1,
        precompute_ref_logps=True,
        aux_loss_enabled=False,
        model=types.SimpleNamespace(training=True),
        accelerator=types.SimpleNamespace(
            device="cpu", gather=lambda x: x, gather_for_metrics=lambda x: x, num_processes=1
        ),
        _metrics={"train": collections.defaultdict(list), "eval": collections.defaultdict(list)},
    )
    for k, v in ns.items():
        object.__setattr__(self, k, v)
    sums = torch.tensor(POLICY_CHOSEN + POLICY_REJECTED)

    def model(**kwargs):  # per-token log-probs whose sum over the completion is the given total
        per_token = completion_mask[:, 1:] * (sums / completion_mask[:, 1:].sum(1).clamp(min=1))[:, None]
        return types.SimpleNamespace(
            log_probs=per_token,
            logits=None,
            entropy=torch.zeros_like(per_token),
            mean_logits=torch.zeros_like(per_token),
            is_top1=torch.zeros_like(per_token, dtype=torch.bool),
        )

    inputs = {
        "input_ids": torch.zeros_like(completion_mask, dtype=torch.long),
        "completion_mask": completion_mask,
        "attention_mask": torch.ones_like(completion_mask),
        "ref_chosen_logps": torch.tensor(REF_CHOSEN),
        "ref_rejected_logps": torch.tensor(REF_REJECTED),
    }
    return float(DPOTrainer._compute_loss(self, model, inputs, return_outputs=False))


def our_dpo_loss(name: str, beta: float, options: dict) -> float:
    loss = PREFERENCE_LOSSES[name](beta=beta, **options)
    chosen = torch.tensor(POLICY_CHOSEN) - torch.tensor(REF_CHOSEN)
    rejected = torch.tensor(POLICY_REJECTED) - torch.tensor(REF_REJECTED)
    return float(
        loss(
            chosen,
            rejected,
            torch.tensor(CHOSEN_LEN, dtype=torch.float32),
            torch.tensor(REJECTED_LEN, dtype=torch.float32),
        ).mean()
    )


# reward composition: 2 groups of 3, two reward parts (weights 1.0 and 0.5), None where a part abstains
PER_PART = [[1.0, 0.5], [None, 1.0], [0.0, None], [None, None], [1.0, 0.0], [0.0, 1.0]]
WEIGHTS = [1.0, 0.5]


def trl_advantages() -> list[float]:
    """TRL's sum_then_normalize / scale_rewards="group" arithmetic with TRL's own ``nanstd``."""
    from trl.trainer.utils import nanstd

    per_func = torch.tensor([[torch.nan if v is None else v for v in row] for row in PER_PART])
    unscorable = torch.isnan(per_func).all(dim=1)
    rewards = (per_func * torch.tensor(WEIGHTS)[None]).nansum(dim=1)
    rewards[unscorable] = torch.nan
    mean = torch.nanmean(rewards.view(-1, 3), dim=1).repeat_interleave(3)
    std = nanstd(rewards.view(-1, 3), dim=1).repeat_interleave(3)
    return torch.nan_to_num((rewards - mean) / (std + 1e-4), nan=0.0).tolist()


def our_advantages() -> list[float]:
    from lmforge.align.policy_gradient import group_advantages
    from lmforge.align.reward_mix import WeightedReward, score_rollouts

    parts = [
        WeightedReward(f"r{k}", lambda resp, truth, k=k: {"reward": PER_PART[int(resp)][k]}, w)
        for k, w in enumerate(WEIGHTS)
    ]
    total, _ = score_rollouts(parts, [str(i) for i in range(6)], ["x"] * 6)
    return group_advantages(total, 3, "group_normalized", 1e-4).tolist()


def main() -> None:
    import trl

    print(f"TRL {trl.__version__}; | objective | ours | TRL | max abs grad diff |")
    for name, options, trl_type, trl_opts in GRPO_CASES:
        ours, g_ours = our_grpo_loss(name, options)
        theirs, g_theirs = trl_grpo_loss(trl_type, trl_opts)
        label = f"{name} {options}" if options else name
        print(f"| {label} | {ours:.6f} | {theirs:.6f} | {float((g_ours - g_theirs).abs().max()):.1e} |")
        print("   grad", [[round(x, 6) for x in row] for row in g_theirs.tolist()])
    for name, options, trl_type in DPO_CASES:
        beta = 0.1
        ours = our_dpo_loss(name, beta, options)
        theirs = trl_dpo_loss(trl_type, beta, options.get("label_smoothing", 0.0))
        print(f"| dpo {name} {options} | {ours:.6f} | {theirs:.6f} | - |")
    print("advantages, ours:", [round(x, 6) for x in our_advantages()])
    print("advantages, TRL: ", [round(x, 6) for x in trl_advantages()])


if __name__ == "__main__":
    main()
