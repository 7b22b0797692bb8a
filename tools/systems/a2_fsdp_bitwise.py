"""The CS336 A2 FSDP fp32 question (issue 15): can a data-parallel / sharded step equal the single-process
step bit for bit (torch.equal), and where does the one-ulp difference come from?

Experiment on one Linear layer's weight gradient, fp32, CPU, one thread (the reference's own GEMM):
  full   = dY_full^T @ X_full with the loss mean over 2B rows (the non-parallel model)
  shards = rank r computes dY_r^T @ X_r with its loss mean over B rows, then sum over ranks and / world
           (what reduce-scatter / all-reduce do, in both summation orders of the two partials)
It separates the two suspects: (a) where 1/world is applied, (b) the reduction order over the batch.

    uv run python tools/systems/a2_fsdp_bitwise.py
"""

from __future__ import annotations

import torch


def main() -> None:
    torch.set_num_threads(1)
    trials, ulps, scale_equal, scale_total, full_equal = 200, [], 0, 0, 0
    for seed in range(trials):
        g = torch.Generator().manual_seed(seed)
        b, d_in, d_out, world = 8, 32, 16, 2  # A2's toy model sizes are of this order
        x = torch.randn(world * b, d_in, generator=g)
        dy = torch.randn(world * b, d_out, generator=g)
        # (a) scaling: dY of a mean over 2B rows vs over B rows, then / world after the sum
        a = dy / (world * b)
        c = (dy / b) / world
        scale_equal += int(torch.equal(a, c))
        scale_total += 1
        # (b) reduction order: one GEMM over 2B rows vs two GEMMs over B rows summed
        full = a.t() @ x
        parts = [(dy[r * b:(r + 1) * b] / b).t() @ x[r * b:(r + 1) * b] for r in range(world)]
        sharded = (parts[0] + parts[1]) / world
        full_equal += int(torch.equal(full, sharded))
        diff = (full - sharded).abs().max()
        ulps.append(float(diff / torch.finfo(torch.float32).eps / full.abs().max()))
    # (c) the sharded sum equals a reference whose GEMM reduces the two halves separately, bit for bit
    g = torch.Generator().manual_seed(0)
    x, dy = torch.randn(16, 32, generator=g), torch.randn(16, 16, generator=g)
    halves_ref = ((dy[:8] / 8).t() @ x[:8] + (dy[8:] / 8).t() @ x[8:]) / 2
    halves_par = ((dy[8:] / 8).t() @ x[8:] + (dy[:8] / 8).t() @ x[:8]) / 2  # other rank order: + commutes
    # (d) with the accumulation exact (fp64) and one rounding at the end, both orders agree
    exact_full = ((dy.double() / 16).t() @ x.double()).float()
    exact_sharded = ((((dy[:8].double() / 8).t() @ x[:8].double()) + ((dy[8:].double() / 8).t()
                                                                         @ x[8:].double())) / 2).float()
    print(f"(a) 1/world after the sum vs 1/(world*B) before: bitwise equal in {scale_equal}/{scale_total} "
          "trials (dividing by a power of two is exact)")
    print(f"(b) one GEMM over 2B rows vs per-rank GEMMs summed: bitwise equal in {full_equal}/{trials}; "
          f"max difference {max(ulps):.2f} ulp of the largest entry (median {sorted(ulps)[trials // 2]:.2f})")
    print(f"(c) per-half reference vs the sharded sum (either rank order): equal = "
          f"{torch.equal(halves_ref, halves_par)}")
    print(f"(d) fp64 accumulation rounded once: full == sharded: {torch.equal(exact_full, exact_sharded)}")


if __name__ == "__main__":
    main()
