"""The rl_loss contract end to end, old log-probs read only when needed, the engine correction, and the
registry-built optimizer / schedule / logger / model parts."""

import math

import pytest
import torch

from lmforge.align.config import GRPOConfig, SFTConfig
from lmforge.align.loops import grpo as grpo_loop
from lmforge.align.loops.grpo import run_grpo
from lmforge.align.loops.sft import run_sft
from lmforge.align.policy_gradient import (
    BatchTotals,
    call_rl_loss,
    microbatch_loss,
    truncated_importance_weights,
)
from lmforge.core import ConfigError, get_host, get_part, hookimpl, load_config, read_metrics

TINY = [
    "policy.model.d_model=16",
    "policy.model.num_layers=1",
    "policy.model.num_heads=2",
    "train_size=64",
    "eval_size=4",
    "task.max_operand=9",
    "run.progress=false",
    "steps=2",
    "rollout.group_size=2",
    "rollout.prompts_per_step=2",
    "rollout.max_new_tokens=6",
    "run.eval_every=5",
]


def grpo_cfg(tmp_path, *extra):
    return load_config(GRPOConfig, overrides=[*TINY, f"run.out={tmp_path}", *extra])


class SignedLogProb:
    """A third-party loss: REINFORCE written from scratch, recording what it was given."""

    calls: list = []
    uses_old_log_probs = False  # the contract core checks at registration; instances may override

    def __init__(self, uses_old_log_probs: bool = False, scale: float = 1.0) -> None:
        self.uses_old_log_probs = uses_old_log_probs
        self.scale = scale

    def __call__(self, log_probs, *, advantages, old_log_probs, response_mask):
        SignedLogProb.calls.append(old_log_probs)
        return -self.scale * advantages * log_probs  # a bare tensor is allowed


class ThirdPartyPlugin:
    @hookimpl
    def register_rl_losses(self, register):
        register("signed_logprob", SignedLogProb)
        register("not_a_loss", lambda **options: lambda log_probs: log_probs)  # no uses_old_log_probs


@pytest.fixture
def third_party():
    host = get_host()
    assert host.add_plugin(ThirdPartyPlugin(), "test_third_party", "test-third-party")
    SignedLogProb.calls.clear()
    yield
    host.remove_plugin("test_third_party")


def test_a_third_party_loss_trains_end_to_end(tmp_path, third_party):
    run = run_grpo(grpo_cfg(tmp_path, "loss=signed_logprob", "loss.scale=2.0"))
    train = [r for r in read_metrics(run) if "reward_mean" in r]
    assert len(train) == 2 and all(math.isfinite(r["loss"]) for r in train)
    assert SignedLogProb.calls and all(old is None for old in SignedLogProb.calls)  # it said it needs none


def test_old_log_probs_are_given_only_to_a_loss_that_reads_them(tmp_path, third_party, monkeypatch):
    forwards = []
    real = grpo_loop.batch_log_probs
    monkeypatch.setattr(grpo_loop, "batch_log_probs", lambda *a, **k: forwards.append(1) or real(*a, **k))
    run_grpo(grpo_cfg(tmp_path, "loss=signed_logprob", "loss.uses_old_log_probs=true", "importance_cap=0"))
    assert all(old is not None for old in SignedLogProb.calls)
    assert not forwards  # one epoch: the current log-probs, detached, are the old ones; no extra forward
    SignedLogProb.calls.clear()
    run_grpo(grpo_cfg(tmp_path, "loss=signed_logprob", "epochs_per_batch=2", "importance_cap=0"))
    assert not forwards and all(old is None for old in SignedLogProb.calls)  # never read: never computed
    run_grpo(grpo_cfg(tmp_path, "loss=grpo_clip", "epochs_per_batch=2", "importance_cap=0"))
    assert len(forwards) == 2  # once per batch, for the ratio of the second epoch


def test_a_loss_breaking_the_contract_fails_before_the_engine_exists(tmp_path, third_party, monkeypatch):
    def no_engine(*a, **k):
        raise AssertionError("the engine was built before the loss was checked")

    monkeypatch.setattr(grpo_loop, "make_rollout_engine", no_engine)
    monkeypatch.setattr(grpo_loop, "load_policy", no_engine)
    with pytest.raises(ConfigError, match="uses_old_log_probs"):
        run_grpo(grpo_cfg(tmp_path, "loss=not_a_loss"))
    with pytest.raises(ConfigError, match="reduction"):
        run_grpo(grpo_cfg(tmp_path, "loss=grpo_clip", "loss.reduction=median"))


def test_truncated_importance_sampling_corrects_a_perturbed_engine():
    """A one-token bandit: the engine samples from q = softmax(theta + noise), not the trainer's p.
    REINFORCE on its samples estimates -grad E_q[r], a biased gradient; weighting each token by
    min(p/q, cap) recovers -grad E_p[r]."""
    gen = torch.Generator().manual_seed(0)
    theta = torch.tensor([0.5, -0.2, 0.1, 0.0, -1.0], requires_grad=True)
    reward = torch.tensor([1.0, 0.0, 0.3, 0.8, 0.0])
    q = torch.softmax(theta.detach() + torch.tensor([-1.0, 0.8, 0.0, -0.5, 1.0]), -1)  # perturbed engine
    tokens = torch.multinomial(q, 200_000, replacement=True, generator=gen)
    exact = torch.autograd.grad(-(torch.softmax(theta, -1) * reward).sum(), theta)[0]
    loss_part = get_part("rl_loss", "no_baseline")()
    mask = torch.ones(len(tokens), 1, dtype=torch.bool)
    totals = BatchTotals(len(tokens), len(tokens), 1)

    def estimate(cap):
        log_p = torch.log_softmax(theta, -1)[tokens][:, None]
        per_token, _ = call_rl_loss(loss_part, log_p, reward[tokens][:, None], None, mask)
        if cap:
            per_token = per_token * truncated_importance_weights(
                log_p.detach(), q.log()[tokens][:, None], mask, cap
            )
        return torch.autograd.grad(microbatch_loss(per_token, mask, "sequence_mean", totals), theta)[0]

    assert (estimate(None) - exact).abs().max() > 0.1  # the uncorrected gradient is wrong
    assert (estimate(50.0) - exact).abs().max() < 0.01  # corrected (cap above every p/q here)
    assert (estimate(1.0) - exact).abs().max() > 0.05  # a cap of 1 can only shrink weights: partial


class ShiftedEngine:
    """The torch engine, reporting every log-prob lower by ``shift`` (an engine whose numerics differ)."""

    def __init__(self, inner, shift):
        self.inner, self.shift = inner, shift

    def generate(self, prompts, settings):
        rollouts = self.inner.generate(prompts, settings)
        for r in rollouts:
            r.log_probs = [x - self.shift for x in r.log_probs]
        return rollouts

    def update_weights(self, model):
        self.inner.update_weights(model)

    def close(self):
        self.inner.close()


@pytest.mark.parametrize("cap, expected", [(3.0, math.exp(0.2)), (1.1, 1.1)])
def test_the_loop_weighs_tokens_by_the_engine_trainer_ratio(tmp_path, monkeypatch, cap, expected):
    real = grpo_loop.make_rollout_engine
    monkeypatch.setattr(
        grpo_loop, "make_rollout_engine", lambda ref, model: ShiftedEngine(real(ref, model), 0.2)
    )
    run = run_grpo(
        grpo_cfg(tmp_path, "rollout.preflight=false", f"importance_cap={cap}", "rollout.temperature=1.0")
    )
    weights = [r["is_weight"] for r in read_metrics(run) if "is_weight" in r]
    assert weights == pytest.approx([expected] * 2, rel=1e-3)


def test_optimizer_schedule_logger_and_model_parts_come_from_the_registry(tmp_path):
    cfg = load_config(
        SFTConfig,
        overrides=[
            *TINY[:7],
            f"run.out={tmp_path}",
            "steps=4",
            "batch_size=2",
            "optim.optimizer=adamw",  # lmforge-model's own AdamW
            "optim.schedule=cosine",
            "optim.lr=0.01",
            "optim.min_lr=0.001",
            "optim.warmup_steps=1",
            "policy.model.norm=layernorm",
            "policy.model.ffn=silu_mlp",
            "policy.model.position=none",
            "policy.model.rope_theta=500.0",
        ],
    )
    run = run_sft(cfg)
    cosine = get_part("lr_schedule", "cosine")
    lrs = [r["lr"] for r in read_metrics(run) if "lr" in r]
    assert lrs == pytest.approx([cosine(i, 0.01, 0.001, 1, 4) for i in range(1, 5)])
    saved = (run / "final" / "model_config.json").read_text()
    assert '"norm": "layernorm"' in saved and '"ffn": "silu_mlp"' in saved and '"position": "none"' in saved
    with pytest.raises(Exception, match="unknown"):
        run_sft(load_config(SFTConfig, overrides=[*TINY[:7], f"run.out={tmp_path}", "optim.optimizer=sgdx"]))
