"""Encoding throughput: ``bpe`` (pure Python), ``bpe-fast`` (numba) and ``bpe-tiktoken`` against
tiktoken's gpt2, same text.

    nice -n 10 uv run python tools/tokenize/bench_encode.py --input /tmp/lmf_corpus/english.txt --mb 20

All use GPT-2's released vocabulary and merges, so ids must be identical (checked every run).
One process: ``encode`` of the whole text, cold: ``bpe`` starts each run with an empty pre-token cache,
``bpe-fast`` keeps no cache between calls (its compiled code is loaded once, before timing, by encoding
one word). All cores: the text is cut at safe places into pieces; ``bpe`` and ``bpe-fast`` encode them
in forked processes, tiktoken and ``bpe-tiktoken`` with their own thread pool (``encode_batch``).
Medians of ``--reps``; the ratio is each median speed over tiktoken's. Then where ``bpe-fast``'s time
goes: UTF-8 encoding, the compiled pre-tokenizer alone, the whole compiled call, and the id list.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path

from bench_common import DEFAULT_OUT, median, print_table, save_json
from gpt2_reference import gpt2_files

EOT = "<|endoftext|>"
_WORKER_TOK: list = []


def _encode_in_worker(text: str) -> list[int]:
    return _WORKER_TOK[0].encode(text)


def split_safely(text: str, n: int) -> list[str]:
    from lmforge.tokenize.cuts import last_safe_cut

    pieces, rest = [], text
    size = len(text) // n + 1
    while len(rest) > size:
        cut = last_safe_cut(rest[:size], [EOT])
        if cut == 0:
            break
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return pieces + [rest]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_text(name: str, text: str, reference, fast, files, cores: int, reps: int) -> list[dict]:
    from lmforge.tokenize import BPETokenizer, NumbaBPETokenizer

    mb = len(text.encode("utf-8")) / 1e6
    pieces = split_safely(text, cores * 8)
    expected = reference.encode(text, allowed_special="all")
    results: dict[str, list[float]] = {}

    def record(label, seconds, ids):
        assert ids == expected, f"{label} gave different ids"
        results.setdefault(label, []).append(mb / seconds)

    def flat(batches):
        return [i for ids in batches for i in ids]

    def parallel():
        with mp.get_context("fork").Pool(cores) as pool:
            return flat(pool.map(_encode_in_worker, pieces, chunksize=1))

    for _ in range(reps):
        record("tiktoken gpt2, 1 process", *timed(lambda: reference.encode(text, allowed_special="all")))
        record("bpe-tiktoken, 1 process", *timed(lambda: fast.encode(text)))
        ours = BPETokenizer.from_files(*files, ["<|endoftext|>"])  # an empty pre-token cache each run
        record("bpe (pure Python), 1 process", *timed(lambda tok=ours: tok.encode(text)))
        numba_tok = NumbaBPETokenizer.from_files(*files, ["<|endoftext|>"])
        numba_tok.encode("warm")  # loads the compiled code; no pre-token is cached between calls
        record("bpe-fast (numba), 1 process", *timed(lambda tok=numba_tok: tok.encode(text)))
        record(f"tiktoken gpt2, {cores} threads", *timed(lambda: flat(reference.encode_batch(
            pieces, num_threads=cores, allowed_special="all"))))
        record(f"bpe-tiktoken, {cores} threads",
               *timed(lambda: flat(fast.encode_batch(pieces, num_threads=cores))))
        _WORKER_TOK[:] = [BPETokenizer.from_files(*files, ["<|endoftext|>"])]
        record(f"bpe (pure Python), {cores} processes", *timed(parallel))
        _WORKER_TOK[:] = [numba_tok]
        record(f"bpe-fast (numba), {cores} processes", *timed(parallel))
    base_1 = median(results["tiktoken gpt2, 1 process"])
    base_n = median(results[f"tiktoken gpt2, {cores} threads"])
    rows = []
    for label, speeds in results.items():
        base = base_1 if "1 process" in label else base_n
        rows.append({"file": name, "mb": mb, "tokenizer": label, "mb_per_s": median(speeds),
                     "ratio_vs_tiktoken": median(speeds) / base, "runs_mb_per_s": speeds,
                     "ids_identical": True})
    return rows


def fast_breakdown(name: str, text: str, tok, reps: int) -> list[dict]:
    """Seconds (medians) of each step of ``bpe-fast``'s encode, and the share of its whole encode."""
    import numpy as np

    from lmforge.tokenize.gpt2_scan import char_classes, piece_ends

    data = text.encode("utf-8")
    buf = np.frombuffer(data, np.uint8)
    kernel, tables = tok._load_kernel()
    one = (np.zeros(1, np.int64), np.full(1, len(data), np.int64), np.full(1, -1, np.int64))
    ids = kernel(buf, *one, *tables)
    steps = {
        "whole encode": lambda: tok.encode(text),
        "utf-8 encode of the text": lambda: text.encode("utf-8"),
        "pre-tokenize only (compiled scanner)": lambda: piece_ends(buf, 0, len(data), char_classes()),
        "compiled call (pre-tokenize, cache, merges)": lambda: kernel(buf, *one, *tables),
        "ids array -> list": ids.tolist,
    }
    seconds = {label: median([timed(fn)[0] for _ in range(reps)]) for label, fn in steps.items()}
    whole = seconds["whole encode"]
    return [{"file": name, "step": label, "seconds": s, "share_of_encode": s / whole}
            for label, s in seconds.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, nargs="+", required=True)
    ap.add_argument("--mb", type=float, default=20.0, help="use the first MB of each input")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT / "encode.json")
    args = ap.parse_args()

    import tiktoken

    from lmforge.tokenize.tiktoken_backend import TiktokenBPETokenizer

    enc_path, bpe_path = gpt2_files()
    reference = tiktoken.get_encoding("gpt2")
    fast = TiktokenBPETokenizer.from_files(enc_path, bpe_path, [EOT])
    cores = os.cpu_count() or 1
    from lmforge.tokenize import NumbaBPETokenizer

    rows, steps = [], []
    for path in args.input:
        text = path.read_text(encoding="utf-8", errors="replace")[: int(args.mb * 1e6)]
        rows += bench_text(path.name, text, reference, fast, (enc_path, bpe_path), cores, args.reps)
        steps += fast_breakdown(path.name, text, NumbaBPETokenizer.from_files(enc_path, bpe_path, [EOT]),
                                args.reps)
        print(f"{path.name}: done", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {cores} cores")
    print_table(["file", "MB", "tokenizer", "MB/s", "ratio vs tiktoken", "ids identical"],
                [[r["file"], r["mb"], r["tokenizer"], r["mb_per_s"], r["ratio_vs_tiktoken"],
                  r["ids_identical"]] for r in rows])
    print()
    print_table(["file", "bpe-fast step", "s", "share of encode"],
                [[r["file"], r["step"], r["seconds"], r["share_of_encode"]] for r in steps])
    save_json({"cores": cores, "load_average": os.getloadavg(), "rows": rows, "bpe_fast_steps": steps},
              args.out)


if __name__ == "__main__":
    main()
