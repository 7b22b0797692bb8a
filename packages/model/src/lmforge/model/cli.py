"""``lmforge train`` and ``lmforge quickstart`` (click only at import time: plugin loading stays cheap)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from lmforge.core.run_options import RunOptions, run_options


@click.command("train")
@run_options
@click.option("--nproc", type=int, default=1, show_default=True,
              help="Processes on this machine (relaunches through torch.distributed.run).")
@click.option("--nnodes", type=int, default=1, show_default=True,
              help="Machines in the job; with more than one, every machine runs the same command with its "
                   "own --node-rank and the same --rdzv-endpoint (torchrun's c10d rendezvous).")
@click.option("--node-rank", type=int, default=0, show_default=True, help="This machine's index.")
@click.option("--rdzv-endpoint", default=None, metavar="HOST:PORT",
              help="Rendezvous address every machine can reach (usually node 0's).")
@click.option("--force", is_flag=True,
              help="Train even when the memory estimate says a step cannot fit.")
def train_command(run: RunOptions, nproc: int, nnodes: int, node_rank: int, rdzv_endpoint: str | None,
                  force: bool) -> None:
    """Train a TransformerLM; prints the run directory.

    --config is a TOML TrainConfig (sections model, data, optimizer, schedule, train); --set overrides
    one key (--set model.attention=torch_sdpa); --resume DIR continues that run from its latest
    checkpoint with its own config; --device, when given, sets the config's device (a --set wins).

    Exits 130 after SIGINT and 143 after SIGTERM, once the checkpoint is saved."""
    from lmforge.core import LmforgeError, load_config

    from .train_config import TrainConfig

    # only an explicit --device overrides the config file's device (whose own default is auto too)
    device_given = click.get_current_context().get_parameter_source("device") \
        is not click.core.ParameterSource.DEFAULT
    config_path = str(run.config) if run.config else None
    resume = run.local_resume("training")
    resume = str(resume) if resume is not None else None
    overrides = run.overrides
    if nnodes > 1 and not rdzv_endpoint:
        raise LmforgeError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (the same on every machine)")
    if (nproc > 1 or nnodes > 1) and "LOCAL_RANK" not in os.environ:
        launch = ["--standalone"] if nnodes == 1 else [
            f"--nnodes={nnodes}", f"--node-rank={node_rank}", "--rdzv-backend=c10d",
            f"--rdzv-endpoint={rdzv_endpoint}", "--rdzv-id=lmforge"]
        args = [sys.executable, "-m", "torch.distributed.run", *launch, f"--nproc-per-node={nproc}",
                "-m", "lmforge.core", "train"]
        args += ["--config", config_path] if config_path else []
        args += [a for o in overrides for a in ("--set", o)]
        args += ["--resume", resume] if resume else []
        args += ["--device", run.device] if device_given else []
        args += ["--force"] if force else []
        raise SystemExit(subprocess.call(args))
    if nproc < 1:
        raise LmforgeError(f"--nproc must be at least 1, got {nproc}")
    if resume is not None and config_path is None:
        config_path = str(Path(resume) / "config.toml")  # a resumed run keeps its own config
        overrides = (*resume_overrides(Path(resume)), *overrides)
    if device_given:
        overrides = (f"device={run.device}", *overrides)
    cfg = load_config(TrainConfig, config_path, overrides)
    from .trainer import TrainingInterrupted, train

    try:
        run_dir = train(cfg, resume=resume, force=force)
    except TrainingInterrupted as e:
        click.echo(f"lmforge: {e}", err=True)
        raise SystemExit(128 + e.signum) from None
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(str(run_dir))


def resume_overrides(run_dir: Path) -> list[str]:
    """TOML cannot hold None, so config.toml omits a budget that was switched off (``max_steps =
    None`` would come back as the default); the checkpoint remembers which ones were None."""
    from .run_checkpoint import newest_good_checkpoint, read_trainer_state

    ckpt, _ = newest_good_checkpoint(run_dir)
    budgets = read_trainer_state(ckpt).get("budgets", {}) if ckpt is not None else {}
    return [f"train.{k}=none" for k, v in budgets.items() if v is None]


@click.command("quickstart")
@click.option("--size", type=click.Choice(["tiny", "small", "default"]), default="default", show_default=True,
              help="tiny: a seconds-long smoke run; small: ~1-2 minutes; default: ~5 minutes on 2 CPU cores.")
@click.option("--quick", is_flag=True, help="Same as --size small.")
@click.option("--out", type=click.Path(file_okay=False), default="runs", show_default=True,
              help="Folder for the work files and the run directory.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
@click.option("--threads", type=int, default=1, show_default=True,
              help="CPU threads for torch. One is the safe default: this model is too small to gain much "
                   "from more, and on a busy machine extra threads spin against other processes.")
def quickstart_command(size: str, quick: bool, out: str, device: str, threads: int) -> None:
    """Corpus from Python's own sources -> BPE tokenizer -> tokens -> TransformerLM -> samples."""
    import torch

    from .quickstart import run_quickstart

    torch.set_num_threads(max(1, threads))
    run_quickstart(size="small" if quick else size, out=Path(out), device=device)
