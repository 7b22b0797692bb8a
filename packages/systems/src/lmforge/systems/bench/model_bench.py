"""End-to-end model benchmark: forward, forward+backward, or a full training step.

Warm-up calls, then timed calls with device synchronisation; peak memory per phase (forward, backward,
optimizer step) beside the model package's memory accounting; optionally a torch.profiler table and
Chrome trace, a CUDA memory snapshot, and a report of which ops ran in which dtype. Sizes that cannot
fit are reported (estimated need vs available memory, or the out-of-memory error), not crashed on.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from .annotate import DtypeReport, add_module_ranges, named_range
from .memory import CudaMemorySnapshot, available_bytes, current_bytes, peak_bytes, reset_peak
from .presets import BATCH, model_config
from .tensor_memory import LiveTensorBytes
from .timing import summarize, synchronize, time_calls

MODES = ("fwd", "fwdbwd", "step")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def is_oom(e: BaseException) -> bool:
    return isinstance(e, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in str(e).lower()


def estimate_bytes(cfg, batch: int, context: int, mode: str, dtype: str) -> dict:
    from lmforge.model.accounting import memory_bytes

    est = memory_bytes(cfg, batch_size=batch, context_length=context, param_dtype="float32",
                       activation_dtype="bfloat16" if dtype == "bf16" else "float32")
    need = est["weights"] + est["activations"] * (mode != "fwd")
    if mode != "fwd":
        need += est["gradients"]
    if mode == "step":
        need += est["optimizer_state"]
    return {**est, "needed_for_mode": need}


class Runner:
    """Builds the model and the three phases for one configuration."""

    def __init__(self, cfg, device: torch.device, batch: int, dtype: str, compile: bool):
        from lmforge.core import get_part
        from lmforge.model import TransformerLM, cross_entropy

        torch.manual_seed(0)
        self.model = TransformerLM.from_config(cfg).to(device)
        self.forward_module = torch.compile(self.model) if compile else self.model
        self.optimizer = get_part("optimizer", "adamw")(self.model.parameters(), lr=1e-4)
        self.x = torch.randint(0, cfg.vocab_size, (batch, cfg.context_length), device=device)
        self.y = torch.randint(0, cfg.vocab_size, (batch, cfg.context_length), device=device)
        self.cross_entropy = cross_entropy
        self.autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if dtype == "bf16" \
            else contextlib.nullcontext
        self.device = device

    def forward(self):
        with named_range("forward"), self.autocast():
            return self.cross_entropy(self.forward_module(self.x), self.y)

    def backward(self, loss):
        with named_range("backward"):
            loss.backward()

    def step(self):
        with named_range("optimizer_step"):
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)

    def call(self, mode: str):
        if mode == "fwd":
            self.forward()
            return
        loss = self.forward()
        self.backward(loss)
        if mode == "step":
            self.step()
        else:
            self.model.zero_grad(set_to_none=True)

    def phase_memory(self) -> dict:
        """Peak bytes during each phase of one training step, and the rise over the phase's start.

        CUDA: allocator peaks (everything allocated). CPU: tensor bytes live at the phase's peak,
        counting weights, gradients and optimizer state at their actual size plus what the phase
        allocates (tracked by a dispatch mode), and separately the process's peak resident set."""
        out, rise, rss = {}, {}, {}
        loss = None

        def forward():
            nonlocal loss
            loss = self.forward()

        phases = (("forward", forward), ("backward", lambda: self.backward(loss)),
                  ("optimizer_step", self.step))
        if self.device.type == "cuda":
            for name, fn in phases:
                reset_peak(self.device)
                start = current_bytes(self.device)
                fn()
                synchronize(self.device)
                out[name] = peak_bytes(self.device)
                rise[name] = out[name] - start
            return {"peak": out, "rise": rise}
        with LiveTensorBytes() as tracker:
            for name, fn in phases:
                resident = self.resident_bytes()
                tracker.reset_peak()
                start = tracker.live
                reset_peak(self.device)
                fn()
                out[name] = resident + tracker.peak
                rise[name] = tracker.peak - start
                rss[name] = peak_bytes(self.device)
        return {"peak": out, "rise": rise, "process_rss_peak": rss}

    def resident_bytes(self) -> int:
        """Weights, gradients and optimizer state that exist outside the tracked phase."""
        total = 0
        for p in self.model.parameters():
            total += p.numel() * p.element_size()
            if p.grad is not None:
                total += p.grad.numel() * p.grad.element_size()
        for state in self.optimizer.state.values():
            total += sum(t.numel() * t.element_size() for t in state.values() if torch.is_tensor(t))
        return total


def run_model_bench(size: str = "small", context: int = 128, mode: str = "fwdbwd", dtype: str = "fp32",
                    compile: bool = False, attention: str = "reference", norm: str = "rmsnorm",
                    warmup: int = 2, steps: int = 5, device: str = "auto", batch: int = BATCH,
                    checkpoint_activations: int = 0, profile: bool = False,
                    out_dir: str | Path | None = None, vocab_size: int | None = None) -> dict:
    from lmforge.core import LmforgeError

    if mode not in MODES:
        raise LmforgeError(f"mode must be one of {MODES}, got {mode!r}")
    dev = resolve_device(device)
    kwargs = {} if vocab_size is None else {"vocab_size": vocab_size}
    cfg = model_config(size, context, attention, norm, checkpoint_activations, **kwargs)
    result = {"size": size, "context": context, "mode": mode, "dtype": dtype, "compile": compile,
              "attention": attention, "norm": norm, "batch": batch, "device": str(dev),
              "checkpoint_activations": checkpoint_activations}
    est = estimate_bytes(cfg, batch, context, mode, dtype)
    result["estimate_bytes"] = est
    avail = available_bytes(dev)
    if avail is not None and est["needed_for_mode"] > 0.9 * avail:
        result["status"] = (f"does not fit: needs ~{est['needed_for_mode'] / 2**30:.1f} GiB, "
                            f"{avail / 2**30:.1f} GiB available")
        return result
    out_dir = Path(out_dir) if out_dir else None
    try:
        runner = Runner(cfg, dev, batch, dtype, compile)
        seconds = time_calls(lambda: runner.call(mode), dev, warmup, steps)
        result.update(summarize(seconds))
        result["tokens_per_s"] = batch * context / result["median_s"]
        snapshot = CudaMemorySnapshot(dev) if out_dir else None
        phases = runner.phase_memory()
        result["peak_bytes"], result["phase_rise_bytes"] = phases["peak"], phases["rise"]
        if "process_rss_peak" in phases:
            result["process_rss_peak_bytes"] = phases["process_rss_peak"]
        if snapshot is not None and snapshot.enabled:
            out_dir.mkdir(parents=True, exist_ok=True)
            result["memory_snapshot"] = str(snapshot.dump(out_dir / "memory_snapshot.pickle"))
        with DtypeReport() as report:
            runner.call("step" if mode == "step" else "fwdbwd")
        result["dtype_report"] = report.rows()
        if profile:
            result.update(profile_steps(runner, mode, dev, out_dir or Path(".bench/systems/profile")))
        result["status"] = "ok"
    except Exception as e:  # an OOM is a result, anything else a bug
        if not is_oom(e):
            raise
        result["status"] = f"out of memory: {str(e).splitlines()[0][:120]}"
    finally:
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return result


def profile_steps(runner: Runner, mode: str, device: torch.device, out_dir: Path, steps: int = 2) -> dict:
    from torch.profiler import ProfilerActivity, profile

    out_dir.mkdir(parents=True, exist_ok=True)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    handles = add_module_ranges(runner.model)
    try:
        with profile(activities=activities, record_shapes=True, profile_memory=True) as prof:
            for _ in range(steps):
                runner.call(mode)
            synchronize(device)
    finally:
        for h in handles:
            h.remove()
    sort = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    table = prof.key_averages().table(sort_by=sort, row_limit=40)
    (out_dir / "profile_table.txt").write_text(table)
    trace = out_dir / "trace.json"
    prof.export_chrome_trace(str(trace))
    return {"profile_table": str(out_dir / "profile_table.txt"), "chrome_trace": str(trace),
            "profile_top": table.splitlines()[:15]}
