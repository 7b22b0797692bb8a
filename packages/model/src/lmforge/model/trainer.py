"""The training loop: ``train(config) -> run_dir`` (also ``lmforge train``).

One step = ``grad_accum`` micro-batches forward/backward, the backend's gradient sync, global-norm
clipping, the optimizer step. Validation runs on fixed batches drawn once from the validation split,
so val losses of different steps (and runs) are comparable. On CPU a resumed run reproduces the
uninterrupted loss curve bit for bit: the data sampler, all RNGs, weights and optimizer state are in
every checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lmforge.core import (
    ConfigError,
    LmforgeError,
    atomic_write,
    build_part,
    config_to_toml,
    lock_dir,
    new_run_dir,
    part_names,
    save_config,
)
from lmforge.core import truncate_metrics as _truncate

from . import train_setup as setup
from .checkpoint import CheckpointError, load_state_dict_checked
from .data import get_batch
from .losses import cross_entropy
from .memory_check import check_memory
from .run_checkpoint import (
    TRAINER_STATE_KEYS,
    capture_rng,
    checkpoint_to_resume,
    completed_checkpoints,
    latest_checkpoint,
    load_model_weights,
    load_rank_file,
    read_trainer_state,
    restore_rng,
    save_run_checkpoint,
)
from .shard_storage import (
    check_shards_url,
    remove_shards,
    shard_location,
    shard_locations,
    shard_manifest,
    verify_shards,
)
from .train_config import TrainConfig
from .transformer import TransformerLM

PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "H800": 989e12, "A100": 312e12, "L4": 121e12,
                   "4090": 165e12, "B200": 2250e12}


BUDGETS = ("max_steps", "max_tokens", "max_flops")


class TrainingDiverged(LmforgeError):
    """The loss or gradient norm became NaN or infinite; the run keeps its last good checkpoint."""


class TrainingInterrupted(LmforgeError):
    """SIGINT or SIGTERM stopped the run after it saved a checkpoint; the CLI exits 128 + signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum


def _peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


class _StopSignals:
    """SIGINT/SIGTERM set a flag; the loop checkpoints at the end of the step and returns."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.received = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _resolve_run_dir(cfg: TrainConfig, backend, resume: str | Path | None):
    """(run dir, its lock or None): the main rank locks it before looking inside, so two writers
    cannot both find it free."""
    lock = None
    if resume is not None:
        path = Path(resume)
        if not path.is_dir():
            raise ConfigError(f"--resume {path}: no such run directory")
        if backend.is_main:
            lock = lock_dir(path, "run directory")
        return path, lock
    if cfg.run_dir:
        path = Path(cfg.run_dir)
        if backend.is_main:
            lock = lock_dir(path, "run directory")
        if (path / "metrics.jsonl").exists() or (path / "checkpoints").exists():  # every rank: all refuse
            if lock is not None:
                lock.release()
            raise ConfigError(f"run_dir {path} already holds a run; continue it with --resume {path} "
                              "or pick another directory")
        return path, lock
    path = new_run_dir(cfg.out, cfg.name or None) if backend.is_main else None
    if backend.is_main:
        lock = lock_dir(path, "run directory")
    if backend.world_size > 1:
        box = [str(path) if path else None]
        torch.distributed.broadcast_object_list(box, src=0)
        path = Path(box[0])
    return path, lock


def _resume_checkpoint(run_dir: Path, cfg: TrainConfig, backend) -> tuple[Path | None, dict]:
    """The newest checkpoint that verifies (saying which newer ones were skipped and why), or None for a
    run that never saved one: it starts again from step 0."""
    ckpt = checkpoint_to_resume(run_dir, lambda message: _say(backend, message))
    if ckpt is None:
        return None, {}
    state = read_trainer_state(ckpt, TRAINER_STATE_KEYS)
    if state["model"] != setup.model_config_dict(cfg):
        diff = [k for k, v in setup.model_config_dict(cfg).items() if state["model"].get(k) != v]
        raise CheckpointError(f"checkpoint {ckpt} was trained with a different model config "
                              f"(differs in: {', '.join(diff)})")
    if state.get("world_size", 1) != backend.world_size and not state.get("sharded"):
        raise CheckpointError(f"checkpoint {ckpt} was written by {state.get('world_size')} ranks; "
                              f"resume with the same number (now {backend.world_size})")
    return ckpt, state


def _say(backend, message: str) -> None:
    if backend.is_main:
        print(f"lmforge: {message}", file=sys.stderr, flush=True)


def _state_dict(backend, model) -> dict:
    # strip torch.compile's prefix whichever way compile and the backend's wrapper are nested
    return {k.replace("_orig_mod.", ""): v for k, v in backend.full_state_dict(model).items()}


def train(cfg: TrainConfig, resume: str | Path | None = None, force: bool = False) -> Path:
    """Train ``cfg`` (or continue the run in ``resume``) and return the run directory.

    Everything is validated (config, paths, tokenizer, memory) before the run directory is touched;
    the run directory is locked for as long as this runs. ``force`` trains even when the memory
    estimate says the step cannot fit. Raises ``TrainingInterrupted`` after SIGINT/SIGTERM, once the
    checkpoint is saved.
    """
    setup.check_parallel(cfg)
    backend = build_part("parallel_backend", cfg.parallel)
    try:
        with contextlib.ExitStack() as held:  # the run directory's lock, released however we leave
            return _train(cfg, backend, resume, force, held)
    finally:
        backend.teardown()


def _train(cfg: TrainConfig, backend, resume, force: bool, held: contextlib.ExitStack) -> Path:
    device = backend.setup(cfg.device)
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and backend.world_size == 1:
        known = ", ".join(part_names("parallel_backend"))
        raise ConfigError(f"{launched} processes were launched but parallel = {cfg.parallel.name!r} "
                          f"runs one; pick a multi-process backend (known: {known})")
    setup.validate_config(cfg, backend.world_size)
    shards_url = cfg.train.checkpoint_shards_url.rstrip("/")
    if shards_url:
        if not backend.checkpoint_urls:
            raise ConfigError(f"train.checkpoint_shards_url: parallel = {cfg.parallel.name!r} cannot write "
                              "its checkpoint to a URL (zero1, fsdp and torch_fsdp2 can: their shards go "
                              "through DCP and fsspec)")
        check_shards_url(shards_url, resume is not None)
    train_data, val_data, token_meta = setup.load_data(cfg)
    tokenizer = setup.load_checked_tokenizer(cfg, token_meta)
    steps = setup.total_steps(cfg)
    micro_bs = cfg.train.batch_size // (cfg.train.grad_accum * backend.world_size)
    ctx = cfg.model.context_length
    tokens_per_step = cfg.train.batch_size * ctx
    check_memory(cfg, micro_bs, device, force)
    # nothing above wrote a byte; from here on the run directory exists and is ours alone
    run_dir, lock = _resolve_run_dir(cfg, backend, resume)
    if lock is not None:
        held.callback(lock.release)

    ckpt, state = _resume_checkpoint(run_dir, cfg, backend) if resume is not None else (None, {})

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    model = TransformerLM.from_config(cfg.model).to(device)
    if ckpt is not None and state.get("sharded"):  # before any rank reads a shard
        if "shard_files" not in state:
            raise CheckpointError(f"checkpoint {ckpt}: its shards have no checksums in trainer_state.json")
        verify_shards(shard_location(ckpt, state), state["shard_files"], backend.rank, backend.world_size)
    if ckpt is not None and not state.get("sharded"):
        load_state_dict_checked(model, load_model_weights(ckpt), str(ckpt))
    if cfg.compile:
        model = torch.compile(model)
    model = backend.wrap_model(model)
    backend.grad_accum = cfg.train.grad_accum
    optimizer = backend.make_optimizer(model, setup.optimizer_factory(cfg))
    data_rng = np.random.default_rng([cfg.seed, backend.rank])
    start_step, tokens, elapsed = 0, 0, 0.0
    if ckpt is not None:
        try:
            if state.get("sharded"):  # weights and optimizer state from the shards (any world size)
                backend.load_checkpoint(shard_location(ckpt, state), model, optimizer)
            else:
                optimizer.load_state_dict(load_rank_file(ckpt, "optimizer", backend.rank))
        except (ValueError, KeyError, RuntimeError) as e:
            raise CheckpointError(f"checkpoint {ckpt}: optimizer state does not fit: {e}") from e
        if state.get("world_size", 1) == backend.world_size:  # else the data streams differ anyway
            restore_rng(load_rank_file(ckpt, "rng", backend.rank), data_rng)
        start_step, tokens, elapsed = state["step"], state["tokens"], state["time_s"]

    if backend.is_main:
        save_config(cfg, run_dir)  # on resume too: overrides such as a larger max_steps are recorded
        if cfg.data.tokenizer_dir and not (run_dir / "tokenizer").exists():
            shutil.copytree(cfg.data.tokenizer_dir, run_dir / "tokenizer")
        if resume is not None:
            _truncate(run_dir, start_step)  # a restart from step 0 drops the records of the lost start
    logger = build_part("metrics_logger", cfg.metrics_logger, run_dir, start_time_s=elapsed) \
        if backend.is_main else None

    # fixed validation batches, drawn the same way on every rank and in every run
    val_rng = np.random.default_rng([cfg.seed, 1_000_003])
    val_batches = [get_batch(val_data, micro_bs, ctx, device, generator=val_rng)
                   for _ in range(cfg.train.eval_batches)]
    byte_lengths = setup.token_byte_lengths(tokenizer, cfg.model.vocab_size)
    val_bytes = None if byte_lengths is None else int(sum(byte_lengths[y.cpu().numpy()].sum()
                                                          for _, y in val_batches))
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if cfg.dtype == "bfloat16" \
        else contextlib.nullcontext
    lr_at = setup.schedule(cfg, steps)
    flops_per_token = setup.training_flops_per_token(cfg)
    peak = _peak_flops(device)

    def evaluate() -> dict:
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad(), autocast():
            for x, y in val_batches:
                total += float(cross_entropy(model(x), y, reduction="sum"))
                count += y.numel()
        model.train()
        out = {"val_loss": total / count}
        if val_bytes:
            out["val_bpb"] = total / (math.log(2) * val_bytes)
        return out

    def checkpoint(step: int) -> Path:
        shards = None
        if backend.sharded_checkpoints:
            # each rank writes its shards (beside the step folder, or at the shard URL) before the step
            # folder is completed, so "latest" only ever names a step whose shards are all written
            shards = f"{shards_url}/step_{step:07d}" if shards_url else f"shards_{step:07d}"
            where = shards if shards_url else run_dir / "checkpoints" / shards
            if backend.is_main:  # what an interrupted save of this step left there
                remove_shards(where)
            if backend.world_size > 1:
                torch.distributed.barrier()
            backend.save_checkpoint(where, model, optimizer)
            # their checksums go into trainer_state.json, so the step folder's manifest covers them
            shard_files = shard_manifest(where, backend.rank, backend.world_size)
            before = shard_locations(completed_checkpoints(run_dir)) if backend.is_main else {}
        # full weights: every rank calls it (gathering shards is a collective)
        weights = {} if shards else _state_dict(backend, model)
        path = save_run_checkpoint(
            run_dir, step, model_state=weights if backend.is_main else None,
            optimizer_state={} if shards else optimizer.state_dict(), rng_state=capture_rng(data_rng),
            trainer_state={"step": step, "tokens": tokens, "time_s": logger.elapsed() if logger else 0.0,
                           "world_size": backend.world_size, "model": setup.model_config_dict(cfg),
                           "budgets": {k: getattr(cfg.train, k) for k in BUDGETS}, "sharded": shards,
                           **({"shard_files": shard_files} if shards else {})},
            config_toml=config_to_toml(cfg), rank=backend.rank, is_main=backend.is_main,
            keep=cfg.train.keep_checkpoints)
        if shards and backend.is_main:  # drop shards whose step folder was rotated away
            for step_dir, old in before.items():
                if not step_dir.exists():
                    remove_shards(old)
            kept = {f"shards_{p.name[5:]}" for p in path.parent.glob("step_*")}
            for old in path.parent.glob("shards_*"):  # and local ones no step folder names
                if old.name not in kept:
                    shutil.rmtree(old, ignore_errors=True)
        return path

    from tqdm.auto import tqdm

    bar = tqdm(total=steps, initial=start_step, unit="step", dynamic_ncols=True,
               disable=not (backend.is_main and cfg.progress))
    status, step, last = "completed", start_step, {}
    window_tokens, window_time = 0, 0.0
    model.train()
    with _StopSignals() as stop:
        while step < steps:
            t0 = time.perf_counter()
            lr = lr_at(step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss_sum = torch.zeros((), device=device)
            for micro in range(cfg.train.grad_accum):
                x, y = get_batch(train_data, micro_bs, ctx, device, generator=data_rng)
                # gradients sync once per step: every micro-step but the last skips the backend's sync
                final_micro = micro == cfg.train.grad_accum - 1
                with contextlib.nullcontext() if final_micro else backend.no_sync(model):
                    with autocast():
                        loss = cross_entropy(model(x), y)
                    backend.backward(model, loss)
                loss_sum += loss.detach()
            backend.after_backward(model)
            grad_norm = backend.clip_grad_norm(model, cfg.optimizer.grad_clip)
            step += 1
            will_log = step % cfg.train.log_every == 0 or step == steps
            will_eval = step % cfg.train.eval_every == 0 or step == steps
            will_save = step % cfg.train.checkpoint_every == 0 or step == steps or stop.received
            if will_log or will_eval or will_save or device.type == "cpu":
                train_loss = backend.all_reduce_mean(float(loss_sum) / cfg.train.grad_accum)
                if not (math.isfinite(train_loss) and math.isfinite(float(grad_norm))):
                    good = latest_checkpoint(run_dir)
                    status = "diverged"
                    _finish(run_dir, backend, status, step, tokens, last)
                    what = f"loss is {train_loss} (grad norm {float(grad_norm)}) at step {step}; stopped."
                    if ckpt is not None and good == ckpt:  # nothing saved since the resume: suspect it first
                        raise TrainingDiverged(
                            f"{what} This run was resumed from {ckpt} {step - start_step} step(s) ago: that "
                            f"checkpoint is the first suspect (resume from an older one, or start over). "
                            f"If it is sound, try a lower optimizer.lr or more warm-up.")
                    raise TrainingDiverged(
                        f"{what} Last good checkpoint: {good or 'none'}. Try a lower optimizer.lr or more "
                        "warm-up.")
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            tokens += tokens_per_step
            if device.type == "cuda":
                torch.cuda.synchronize()
            window_time += time.perf_counter() - t0
            window_tokens += tokens_per_step
            bar.update(1)
            if will_log:
                tps = window_tokens / max(window_time, 1e-9)
                record = {"tokens": tokens, "train_loss": train_loss, "lr": lr, "grad_norm": float(grad_norm),
                          "tokens_per_s": tps}
                if peak:
                    record["mfu"] = flops_per_token * tps / (peak * backend.world_size)
                window_tokens, window_time = 0, 0.0
                if logger:
                    logger.log(step, **record)
                val = {"val": f"{last['val_loss']:.3f}"} if last else {}
                bar.set_postfix(loss=f"{train_loss:.3f}", **val)
            if will_eval:
                last = evaluate()
                if logger:
                    logger.log(step, tokens=tokens, **last)
            if will_save:
                checkpoint(step)
            if stop.received:
                status = "interrupted"
                break
    bar.close()
    _finish(run_dir, backend, status, step, tokens, last)
    if logger:
        logger.close()
    if stop.received:  # an error, so that `lmforge train && next` does not carry on with half a model
        raise TrainingInterrupted(f"received signal {stop.received}; saved a checkpoint at step {step}. "
                                  f"Resume with: lmforge train --resume {run_dir}", stop.received)
    return run_dir


def _finish(run_dir: Path, backend, status: str, step: int, tokens: int, last: dict) -> None:
    if backend.is_main:
        atomic_write(run_dir / "summary.json",
                     json.dumps({"status": status, "step": step, "tokens": tokens, **last}, indent=1))
