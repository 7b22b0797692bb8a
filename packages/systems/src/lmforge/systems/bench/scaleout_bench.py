"""Issue 15's scale-out figures, each as before / after with the ratio (CPU, 2 gloo processes, forked):

(1) checkpoint: what one rank materialises and moves for a full checkpoint (every fp32 weight gathered:
    the bytes returned by ``full_state_dict`` and that call's peak-RSS rise) against a sharded save
    (``save_checkpoint`` through DCP: its peak-RSS rise and the bytes it hands to collectives). The DCP
    save is measured first: peak RSS only grows, so the later gather's rise is understated.
(2) communication: bytes handed to torch.distributed collectives per optimizer step under gradient
    accumulation, without ``no_sync`` (every micro-step syncs) and with it; for DeepSpeed ZeRO-2, its
    reduce-scatter after every micro-step against one coalesced reduction per step. Payload per rank, not
    ring wire traffic; torch's own DDP reducer is invisible to the counter, so it is not listed.
(3) our FSDP without and with backward prefetch: median step time after 2 warm-up steps, and the sync
    share (the step's time in ``after_backward``, waiting on the gradient reduce-scatters).
"""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
from pathlib import Path

from ..parallel.parity import run_backends

CHECKPOINT_BACKENDS = ("fsdp", "zero1", "torch_fsdp2")
NO_SYNC_BACKENDS = ("ddp_overlap", "ddp_bucketed", "ddp_naive", "fsdp")
MiB = 2**20


def _ratio(before: float, after: float) -> float | str:
    if after == 0:
        return "inf" if before else "-"
    return before / after


def _errors(results: list[dict]) -> None:
    for rank, per_label in enumerate(results):
        for label, r in per_label.items():
            if "error" in r:
                raise RuntimeError(f"{label} failed on rank {rank}:\n{r['error']}")


def checkpoint_rows(model_kwargs: dict, steps: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        res = run_backends([(n, n, {}) for n in CHECKPOINT_BACKENDS], Path(tmp), world=2, steps=steps,
                           model_kwargs=model_kwargs, save_dcp=f"{tmp}/dcp")
    _errors(res)
    rows = []
    for label, r in res[0].items():
        s = r["stats"]
        rows.append({"backend": label, "figure": "MiB gathered per rank",
                     "before (full)": s["full_state_bytes"] / MiB, "after (DCP)": s["save_comm_bytes"] / MiB,
                     "ratio": _ratio(s["full_state_bytes"], s["save_comm_bytes"])})
        rows.append({"backend": label, "figure": "peak RSS rise MiB",
                     "before (full)": s["full_state_peak_rise_bytes"] / MiB,
                     "after (DCP)": s["save_peak_rise_bytes"] / MiB,
                     "ratio": _ratio(s["full_state_peak_rise_bytes"], s["save_peak_rise_bytes"])})
    return rows


def _comm_per_step(jobs: list, model_kwargs: dict, steps: int, accum: int, no_sync: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        res = run_backends(jobs, Path(tmp), world=2, steps=steps, model_kwargs=model_kwargs,
                           batch=2 * accum, grad_accum=accum, no_sync=no_sync)
    _errors(res)
    return {label: r["stats"]["comm_bytes"] / steps / MiB for label, r in res[0].items()}


def comm_rows(model_kwargs: dict, steps: int, accum: int, deepspeed: bool) -> list[dict]:
    jobs = [(n, n, {}) for n in NO_SYNC_BACKENDS]
    before = _comm_per_step(jobs, model_kwargs, steps, accum, no_sync=False)
    after = _comm_per_step(jobs, model_kwargs, steps, accum, no_sync=True)
    rows = [{"backend": n, "before": "every micro-step", "after": "no_sync", "before MiB/step": before[n],
             "after MiB/step": after[n], "ratio": _ratio(before[n], after[n])} for n in NO_SYNC_BACKENDS]
    if deepspeed:
        ds = _comm_per_step([("per_micro", "deepspeed", {"stage": 2, "coalesce": False}),
                             ("coalesced", "deepspeed", {"stage": 2, "coalesce": True})],
                            model_kwargs, steps, accum, no_sync=True)
        rows.append({"backend": "deepspeed zero2", "before": "per micro-step", "after": "coalesced",
                     "before MiB/step": ds["per_micro"], "after MiB/step": ds["coalesced"],
                     "ratio": _ratio(ds["per_micro"], ds["coalesced"])})
    return rows


def prefetch_rows(model_kwargs: dict, steps: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        res = run_backends([("no_prefetch", "fsdp", {"backward_prefetch": False}), ("prefetch", "fsdp", {})],
                           Path(tmp), world=2, steps=steps + 2, model_kwargs=model_kwargs)
    _errors(res)
    measured = {}
    for label, r in res[0].items():
        s = r["stats"]
        step = statistics.median(s["step_s"][2:])
        measured[label] = (step * 1e3, statistics.median(s["sync_s"][2:]) / step)
    (b_ms, b_share), (a_ms, a_share) = measured["no_prefetch"], measured["prefetch"]
    return [{"figure": "step ms (median)", "before (no prefetch)": b_ms, "after (prefetch)": a_ms,
             "ratio": _ratio(b_ms, a_ms)},
            {"figure": "sync share", "before (no prefetch)": b_share, "after (prefetch)": a_share,
             "ratio": _ratio(b_share, a_share)}]


def run_scaleout_bench(d_model: int = 256, layers: int = 4, accum: int = 4, steps: int = 6,
                       deepspeed: bool | None = None) -> dict:
    """All three tables; ``deepspeed`` None: include the DeepSpeed row where it is installed."""
    if deepspeed is None:
        deepspeed = importlib.util.find_spec("deepspeed") is not None
    model_kwargs = {"d_model": d_model, "layers": layers}
    return {"args": {"d_model": d_model, "layers": layers, "accum": accum, "steps": steps},
            "checkpoint": checkpoint_rows(model_kwargs, steps=2),
            "comm": comm_rows(model_kwargs, steps=2, accum=accum, deepspeed=deepspeed),
            "prefetch": prefetch_rows(model_kwargs, steps=steps)}
