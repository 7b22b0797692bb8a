"""Issue 15's figures on CPU, 2 processes, gloo: (1) checkpoint memory per rank, full gather against a
sharded (DCP) save; (2) bytes handed to collectives per step with and without ``no_sync`` under gradient
accumulation; (3) our FSDP's step time with and without backward prefetch (median after 2 warm-up steps;
"blocked" = forward+backward time, where FSDP's gathers sit).

Usage: nice -n 10 uv run python tools/systems/bench_scaleout.py [--d-model 256 --layers 4 --accum 4]

(1) "gathered" is the full fp32 state every rank materialises for a full checkpoint (fsdp's
``full_state_dict``: the sum of the returned tensors) and the peak-RSS rise of that call; "DCP" is the
peak-RSS rise of ``save_checkpoint`` (each rank writes what it holds; measured first, since peak RSS only
grows) and the bytes it moved through collectives. (2) counts what our backends pass to
torch.distributed (payload per rank, not ring wire traffic); torch's own DDP is invisible to it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from lmforge.systems.bench.timing import format_table
from lmforge.systems.parallel.parity import run_backends


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--accum", type=int, default=4)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--out", default=".bench/systems/scaleout.json")
    args = ap.parse_args()
    model_kwargs = {"d_model": args.d_model, "layers": args.layers}
    batch = 2 * args.accum
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = run_backends([(n, n, {}) for n in ("fsdp", "zero1", "torch_fsdp2")], Path(tmp), world=2,
                            steps=args.steps, model_kwargs=model_kwargs, save_dcp=f"{tmp}/dcp")
    rows_ckpt = []
    for label, r in ckpt[0].items():
        s = r["stats"]
        rows_ckpt.append({"backend": label, "gathered_MiB": s["full_state_bytes"] / 2**20,
                          "gather_peak_rise_MiB": s["full_state_peak_rise_bytes"] / 2**20,
                          "dcp_peak_rise_MiB": s["save_peak_rise_bytes"] / 2**20,
                          "dcp_comm_bytes": s["save_comm_bytes"]})
    rows_comm = []
    for no_sync in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            res = run_backends([(n, n, {}) for n in ("ddp_overlap", "ddp_bucketed", "ddp_naive", "fsdp")],
                               Path(tmp), world=2, steps=args.steps, model_kwargs=model_kwargs, batch=batch,
                               grad_accum=args.accum, no_sync=no_sync)
        for label, r in res[0].items():
            rows_comm.append({"backend": label, "no_sync": no_sync,
                              "MiB_per_step": r["stats"]["comm_bytes"] / args.steps / 2**20})
    rows_prefetch = []
    with tempfile.TemporaryDirectory() as tmp:
        res = run_backends([("prefetch", "fsdp", {}), ("no_prefetch", "fsdp", {"backward_prefetch": False})],
                           Path(tmp), world=2, steps=args.steps + 6, model_kwargs=model_kwargs)
    for label, r in res[0].items():
        s = r["stats"]
        step = statistics.median(s["step_s"][2:])
        blocked = [a - b - c for a, b, c in zip(s["step_s"], s["sync_s"], s["optimizer_s"])]
        fwd_bwd = statistics.median(blocked[2:])
        rows_prefetch.append({"fsdp": label, "step_ms": step * 1e3, "fwd_bwd_ms": fwd_bwd * 1e3})
    print(f"(1) checkpoint memory per rank, d_model {args.d_model}, {args.layers} layers, 2 ranks")
    print(format_table(rows_ckpt, list(rows_ckpt[0])))
    print(f"\n(2) bytes to collectives per step, grad_accum {args.accum}, 2 ranks")
    print(format_table(rows_comm, list(rows_comm[0])))
    print("\n(3) our FSDP, backward prefetch")
    print(format_table(rows_prefetch, list(rows_prefetch[0])))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "checkpoint": rows_ckpt, "comm": rows_comm,
                               "prefetch": rows_prefetch}, indent=1))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
