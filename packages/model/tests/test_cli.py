"""``lmforge train`` from the command line: a run directory on success, one line on a bad config."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core import read_metrics
from lmforge.core.cli import build_cli

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import write_tokens  # noqa: E402

TINY = ["model.vocab_size=61", "model.context_length=16", "model.d_model=32", "model.num_layers=1",
        "model.num_heads=4", "train.batch_size=4", "train.eval_every=5", "train.eval_batches=1",
        "schedule.warmup_steps=2", "progress=false", "device=cpu"]


def _sets(items):
    return [a for s in items for a in ("--set", s)]


def test_train_command_and_resume(tmp_path):
    tokens = write_tokens(tmp_path / "t.bin")
    config = tmp_path / "c.toml"
    config.write_text(f'[data]\ntrain_path = "{tokens}"\n[train]\nmax_steps = 6\ncheckpoint_every = 3\n')
    run = tmp_path / "run"
    result = CliRunner().invoke(build_cli(), ["train", "--config", str(config),
                                              *_sets([*TINY, f"run_dir={run}"])])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(str(run))
    # resume with a larger budget: the saved config plus the override
    result = CliRunner().invoke(build_cli(), ["train", "--resume", str(run), "--set", "train.max_steps=9"])
    assert result.exit_code == 0, result.output
    assert max(r["step"] for r in read_metrics(run)) == 9


def test_resume_keeps_a_switched_off_step_budget(tmp_path):
    from lmforge.core import load_config
    from lmforge.model.cli import resume_overrides
    from lmforge.model.train_config import TrainConfig
    from lmforge.model.trainer import train

    tokens = write_tokens(tmp_path / "t.bin")
    cfg = load_config(TrainConfig, None, [*TINY, f"data.train_path={tokens}", "train.max_steps=none",
                                          "train.max_tokens=192", f"run_dir={tmp_path / 'run'}"])
    run = train(cfg)
    assert resume_overrides(run) == ["train.max_steps=none", "train.max_flops=none"]
    reloaded = load_config(TrainConfig, run / "config.toml", resume_overrides(run))
    assert reloaded.train.max_steps is None and reloaded.train.max_tokens == 192


def test_bad_config_prints_one_line(tmp_path):
    tokens = write_tokens(tmp_path / "t.bin")
    proc = subprocess.run([sys.executable, "-m", "lmforge.core", "train",
                           *_sets([*TINY, f"data.train_path={tokens}", "model.norm=batchnorm"])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("lmforge: warning")]
    assert len(lines) == 1 and "unknown norm 'batchnorm'" in lines[0] and "rmsnorm" in lines[0], proc.stderr


@pytest.mark.distributed
@pytest.mark.slow
def test_nproc_relaunches_through_torch_distributed(tmp_path):
    from lmforge.core import part_names

    if "ddp_naive" not in part_names("parallel_backend"):
        pytest.skip("needs a multi-process backend (lmforge-systems' ddp_naive)")
    tokens = write_tokens(tmp_path / "t.bin")
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "lmforge.core", "train", "--nproc", "2",
                           *_sets([*TINY, f"data.train_path={tokens}", "train.max_steps=4",
                                   "train.checkpoint_every=4", "parallel=ddp_naive", f"run_dir={run}"])],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run / "checkpoints" / "step_0000004" / "optimizer.rank1.pt").is_file()
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
