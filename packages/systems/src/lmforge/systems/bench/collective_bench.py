"""All-reduce benchmark: 1 MB to 1 GB of float32 across N processes, gloo (CPU) or NCCL (GPUs).

Reports the median time per all-reduce and the bus bandwidth 2 (n-1)/n * bytes / time (the convention
of nccl-tests: what each link carries in a ring all-reduce).
"""

from __future__ import annotations

import datetime
import os
import statistics
import time
from pathlib import Path

import torch
import torch.distributed as dist

SIZES_MB = (1, 4, 16, 64, 256, 1024)


def _worker(rank: int, world: int, port: int, backend: str, sizes_mb, warmup: int, steps: int, out: str):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group(backend, rank=rank, world_size=world, timeout=datetime.timedelta(seconds=300))
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    rows = []
    for mb in sizes_mb:
        n = int(mb * 2**20) // 4
        try:
            x = torch.ones(n, device=device)
        except (RuntimeError, MemoryError):
            rows.append({"size_mb": mb, "status": "OOM"})
            continue
        times = []
        for i in range(warmup + steps):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        t = torch.tensor([statistics.median(times)], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)  # the slowest rank defines the collective
        sec = float(t)
        rows.append({"size_mb": mb, "median_ms": sec * 1e3,
                     "busbw_gbps": 2 * (world - 1) / world * n * 4 / sec / 1e9, "status": "ok"})
        del x
    if rank == 0:
        torch.save(rows, out)
    dist.destroy_process_group()


def run_collective_bench(nprocs=(2,), backend: str = "gloo", sizes_mb=SIZES_MB, warmup: int = 2,
                         steps: int = 5, workdir: str = ".bench/systems") -> list[dict]:
    import torch.multiprocessing as mp

    from ..parallel.parity import free_port

    Path(workdir).mkdir(parents=True, exist_ok=True)
    rows = []
    for n in nprocs:
        out = str(Path(workdir) / f"collective_{backend}_{n}.pt")
        mp.start_processes(_worker, args=(n, free_port(), backend, tuple(sizes_mb), warmup, steps, out),
                           nprocs=n, start_method="spawn" if backend == "nccl" else "fork")
        rows += [{"backend": backend, "world": n, **r} for r in torch.load(out)]
    return rows
