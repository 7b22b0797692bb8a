"""The loops end to end at toy sizes: metrics, checkpoints, resume, curves, the CLI and the demo."""


import pytest
import torch
from click.testing import CliRunner

from lmforge.align.config import DPOConfig, EIConfig, GRPOConfig, SFTConfig
from lmforge.align.engines import fake_vllm
from lmforge.align.loops.dpo import run_dpo
from lmforge.align.loops.ei import run_ei
from lmforge.align.loops.grpo import run_grpo
from lmforge.align.loops.sft import run_sft
from lmforge.align.testing import tiny_hf_tokenizer, tiny_llama
from lmforge.core import load_config, read_metrics
from lmforge.model.run_checkpoint import latest_checkpoint, read_trainer_state

TINY = [
    "policy.model.d_model=16",
    "policy.model.num_layers=1",
    "policy.model.num_heads=2",
    "train_size=64",
    "eval_size=6",
    "task.max_operand=9",
    "run.progress=false",
]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def cfg(cls, tmp_path, *extra):
    tiny = [o for o in TINY if o.split("=")[0].split(".")[0] in cls.__dataclass_fields__]  # dpo: no eval_size
    return load_config(cls, overrides=[*tiny, f"run.out={tmp_path}", *extra])


def test_sft_logs_checkpoints_and_resumes(tmp_path):
    run = run_sft(
        cfg(
            SFTConfig,
            tmp_path,
            "steps=4",
            "batch_size=4",
            "grad_accum=2",
            "run.eval_every=2",
            "run.checkpoint_every=2",
            "run.name=s",
        )
    )
    records = read_metrics(run)
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]
    assert {"loss", "grad_norm", "token_entropy"} <= set(records[1])
    assert [r["step"] for r in records if "eval_accuracy" in r] == [0, 2, 4]
    assert (run / "final" / "model.safetensors").exists() and (run / "curves.png").exists()
    assert read_trainer_state(latest_checkpoint(run))["step"] == 4
    # resume to 6 steps: continues from 4, metrics past 4 are not duplicated
    run_sft(cfg(SFTConfig, tmp_path, "steps=6", "batch_size=4", f"run.resume={run}", "run.eval_every=2"))
    steps = [r["step"] for r in read_metrics(run) if "loss" in r]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_a_second_writer_of_one_align_run_is_refused(tmp_path):
    import subprocess
    import sys

    from lmforge.core import DirectoryLockedError

    run = run_sft(cfg(SFTConfig, tmp_path, "steps=2", "batch_size=4", "run.name=s"))
    holder = subprocess.Popen(  # another process still writing this run
        [sys.executable, "-c", "import sys; from lmforge.core import lock_dir\n"
         f"lock = lock_dir({str(run)!r}); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DirectoryLockedError, match=f"being written by pid {holder.pid}"):
            run_sft(cfg(SFTConfig, tmp_path, "steps=4", "batch_size=4", f"run.resume={run}"))
    finally:
        holder.communicate("", timeout=60)
    assert [r["step"] for r in read_metrics(run) if "loss" in r] == [1, 2]  # nothing was appended


@pytest.mark.parametrize(
    "loss",
    [
        "no_baseline",
        "reinforce_with_baseline",
        "grpo_clip",
        "grpo_no_clip",
        "dr_grpo",
        "dapo",
        "bnpo",
        "gspo",
        "cispo",
    ],
)
def test_grpo_each_loss_runs_and_logs(tmp_path, loss):
    run = run_grpo(
        cfg(
            GRPOConfig,
            tmp_path,
            f"loss={loss}",
            "steps=2",
            "rollout.group_size=2",
            "rollout.prompts_per_step=2",
            "rollout.max_new_tokens=8",
            "microbatch_size=2",
            "epochs_per_batch=2",
            "run.eval_every=2",
        )
    )
    records = read_metrics(run)
    assert records[0]["preflight_max_abs_diff"] < 1e-2
    train = [r for r in records if "reward_mean" in r]
    assert len(train) == 2 and {
        "loss",
        "grad_norm",
        "token_entropy",
        "clip_fraction",
        "reward_format",
        "response_length",
    } <= set(train[0])
    assert (run / "curves.png").exists()


def test_grpo_kl_penalty_is_zero_at_start_and_logged(tmp_path):
    run = run_grpo(
        cfg(
            GRPOConfig,
            tmp_path,
            "kl_beta=0.1",
            "steps=2",
            "rollout.group_size=2",
            "rollout.prompts_per_step=2",
            "rollout.max_new_tokens=6",
            "run.eval_every=5",
        )
    )
    kls = [r["kl"] for r in read_metrics(run) if "kl" in r]
    assert kls[0] == pytest.approx(0.0, abs=1e-6) and len(kls) == 2


def test_grpo_with_hf_policy_on_the_vllm_glue(tmp_path, monkeypatch):
    from lmforge.align.engines import vllm_engine

    monkeypatch.setattr(vllm_engine, "_load_vllm", lambda: (fake_vllm.FakeLLM, fake_vllm.SamplingParams))
    tok = tiny_hf_tokenizer()
    tiny_llama(len(tok), hidden=16, layers=1, heads=2, kv_heads=1).save_pretrained(tmp_path / "hf")
    tok.save_pretrained(tmp_path / "hf")
    run = run_grpo(
        cfg(
            GRPOConfig,
            tmp_path,
            "policy.source=hf",
            f"policy.path={tmp_path / 'hf'}",
            "rollout.engine=vllm",
            "steps=2",
            "rollout.group_size=2",
            "rollout.prompts_per_step=2",
            "rollout.max_new_tokens=6",
            "run.eval_every=2",
            "rollout.temperature=0.8",
        )
    )
    assert read_metrics(run)[0]["preflight_max_abs_diff"] < 1e-3


def test_ei_and_dpo_run(tmp_path):
    ei = run_ei(
        cfg(
            EIConfig,
            tmp_path,
            "rounds=2",
            "prompts_per_round=4",
            "rollout.group_size=2",
            "rollout.max_new_tokens=8",
            "sft_steps_per_round=1",
            "batch_size=2",
        )
    )
    assert [r["step"] for r in read_metrics(ei) if "kept_fraction" in r] == [1, 2]
    dpo = run_dpo(
        cfg(
            DPOConfig,
            tmp_path,
            "steps=3",
            "pairs_per_step=2",
            "eval_pairs=4",
            "run.eval_every=3",
            "optim.lr=1e-2",
        )
    )
    evals = [r for r in read_metrics(dpo) if "eval_pref_accuracy" in r]
    assert evals[0]["eval_reward_margin"] == pytest.approx(0.0, abs=1e-6)  # policy == reference at start
    assert [e["step"] for e in evals] == [0, 3]


def test_cli_commands_and_demo(tmp_path):
    from lmforge.core.cli import build_cli

    cli = build_cli()
    result = CliRunner().invoke(
        cli,
        [
            "align",
            "sft",
            *[a for t in TINY for a in ("--set", t)],
            "--set",
            f"run.out={tmp_path}",
            "--set",
            "steps=1",
        ],
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        cli,
        [
            "align",
            "demo",
            "--set",
            f"out={tmp_path}/demo",
            "--set",
            "sft_steps=2",
            "--set",
            "grpo_steps=1",
            "--set",
            "policy.model.d_model=16",
            "--set",
            "policy.model.num_layers=1",
            "--set",
            "train_size=32",
            "--set",
            "eval_size=4",
            "--set",
            "rollout.group_size=2",
            "--set",
            "rollout.prompts_per_step=2",
            "--set",
            "progress=false",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "accuracy after GRPO" in result.output
    assert (tmp_path / "demo" / "grpo-grpo_clip" / "curves.png").exists()


def test_grpo_resumes_from_its_checkpoint(tmp_path):
    common = [
        "rollout.group_size=2",
        "rollout.prompts_per_step=2",
        "rollout.max_new_tokens=6",
        "run.eval_every=5",
        "run.checkpoint_every=1",
        "run.name=g",
    ]
    run = run_grpo(cfg(GRPOConfig, tmp_path, "steps=2", *common))
    run_grpo(cfg(GRPOConfig, tmp_path, "steps=3", f"run.resume={run}", *common[:-1]))
    assert [r["step"] for r in read_metrics(run) if "reward_mean" in r] == [1, 2, 3]
    assert read_trainer_state(latest_checkpoint(run))["step"] == 3


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_corrupt_align_checkpoint_is_skipped_on_resume(tmp_path, capsys):
    from lmforge.model.checkpoint import CheckpointError
    from lmforge.model.run_checkpoint import completed_checkpoints

    common = ["batch_size=4", "run.checkpoint_every=2", "run.eval_every=10"]
    run = run_sft(cfg(SFTConfig, tmp_path, "steps=4", "run.name=s", *common))
    assert [c.name for c in completed_checkpoints(run)] == ["step_0000004", "step_0000002"]
    _flip_a_byte(run / "checkpoints" / "step_0000004" / "model.safetensors")
    capsys.readouterr()
    run_sft(cfg(SFTConfig, tmp_path, "steps=6", f"run.resume={run}", *common))
    err = capsys.readouterr().err
    assert "skipping checkpoint step_0000004: " in err
    assert "model.safetensors does not match its sha256" in err
    assert "resuming from step_0000002" in err
    assert [r["step"] for r in read_metrics(run) if "loss" in r] == [1, 2, 3, 4, 5, 6]  # 3, 4 trained again
    assert read_trainer_state(latest_checkpoint(run))["step"] == 6
    for ckpt in completed_checkpoints(run):  # nothing corrupt is left
        _flip_a_byte(ckpt / "optimizer.pt")
    with pytest.raises(CheckpointError, match="nothing to resume: no checkpoint in .* verifies"):
        run_sft(cfg(SFTConfig, tmp_path, "steps=8", f"run.resume={run}", *common))


def test_hf_and_lora_policies_round_trip_through_a_checkpoint(tmp_path):
    from lmforge.align.config import PolicyConfig, PolicyModelConfig
    from lmforge.align.loops.common import load_checkpoint, save_checkpoint
    from lmforge.align.lora import apply_lora
    from lmforge.align.policy import Policy, fresh_lmforge_policy

    tok = tiny_hf_tokenizer()
    lora = fresh_lmforge_policy(PolicyConfig(model=PolicyModelConfig(d_model=16, num_layers=1, num_heads=2)),
                                tok, "cpu")
    apply_lora(lora.model, 2, 16.0, ["q_proj", "v_proj"])
    hf = Policy(tiny_llama(len(tok), hidden=16, layers=1, heads=2, kv_heads=1, tie=True), tok, "hf")
    for i, policy in enumerate((lora, hf)):
        run_dir = tmp_path / str(i)
        run_dir.mkdir()
        (run_dir / "config.toml").write_text("steps = 7\n")
        optimizer = torch.optim.AdamW([p for p in policy.model.parameters() if p.requires_grad], lr=1e-3)
        save_checkpoint(run_dir, policy, optimizer, step=7, elapsed_s=1.5)
        saved = {k: v.clone() for k, v in policy.model.state_dict().items()}
        with torch.no_grad():
            for p in policy.model.parameters():
                p.zero_()
        assert load_checkpoint(run_dir, policy, optimizer) == {"step": 7, "elapsed_s": 1.5}
        for k, v in policy.model.state_dict().items():
            torch.testing.assert_close(v, saved[k])


