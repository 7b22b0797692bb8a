"""BPE training: lmforge's trainers against HF ``tokenizers`` and rustbpe (nanochat's), same file, same run.

    nice -n 10 uv run python tools/tokenize/bench_train.py --input /tmp/lmf_corpus/english.txt \\
        --vocab 10000 32000 --reps 3

Contenders: lmforge's ``python`` bpe_trainer (the reference), its ``numba`` bpe_trainer (the fast path),
HF ``tokenizers``' BpeTrainer (ByteLevel pre-tokenizer) and ``rustbpe`` (GPT-2 pattern; it has no
special tokens, so it gets the documents split at ``<|endoftext|>`` and one token less of vocabulary:
the same number of merges). Each run is a fresh process (so peak memory is its own: the proportional
set size of the process and all its children, sampled every 10 ms); runs alternate between the
contenders and the table shows medians. Wall time is the training call (for rustbpe: reading and
splitting the file too; imports excluded; the numba path includes importing numba and loading its
compiled code from the on-disk cache, which one untimed warm-up run fills). Ratios: each lmforge
trainer's time and memory over HF's and over rustbpe's. Also times vocabulary 500 on ~130 KB of English
prose (in-process, median of 5).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench_common import DEFAULT_OUT, median, print_table, run_snippet, save_json

OURS = """
import json, time
from lmforge.core import get_part
train_bpe = get_part("bpe_trainer", {trainer!r})
t = time.perf_counter()
vocab, merges = train_bpe({path!r}, {vocab}, ["<|endoftext|>"], workers={workers})
wall = time.perf_counter() - t
if {save!r}:
    from lmforge.tokenize import BPETokenizer
    BPETokenizer(vocab, merges, ["<|endoftext|>"]).save({save!r})
print(json.dumps({{"wall_s": wall, "vocab": len(vocab)}}))
"""

HF = """
import json, time
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
trainer = trainers.BpeTrainer(vocab_size={vocab}, special_tokens=["<|endoftext|>"], show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
t = time.perf_counter()
tok.train([{path!r}], trainer)
print(json.dumps({{"wall_s": time.perf_counter() - t, "vocab": tok.get_vocab_size()}}))
"""

RUSTBPE = """
import json, time
import rustbpe
from lmforge.tokenize.patterns import GPT2_PATTERN
t = time.perf_counter()
with open({path!r}, encoding="utf-8", errors="replace") as f:
    docs = f.read().split("<|endoftext|>")
tok = rustbpe.Tokenizer()
tok.train_from_iterator(iter(docs), {vocab} - 1, pattern=GPT2_PATTERN)
print(json.dumps({{"wall_s": time.perf_counter() - t, "vocab": tok.vocab_size + 1}}))
"""

CONTENDERS = ("python", "numba", "hf", "rustbpe")


def bench_file(path: Path, vocab: int, reps: int, workers: int | None, save_dir: Path | None) -> dict:
    runs: dict[str, list] = {name: [] for name in CONTENDERS}
    for rep in range(reps):
        save = str(save_dir / f"{path.stem}-{vocab}") if save_dir and rep == reps - 1 else ""
        for trainer in ("python", "numba"):
            runs[trainer].append(run_snippet(OURS.format(trainer=trainer, path=str(path), vocab=vocab,
                                                         workers=workers, save=save)))
        runs["hf"].append(run_snippet(HF.format(path=str(path), vocab=vocab)))
        runs["rustbpe"].append(run_snippet(RUSTBPE.format(path=str(path), vocab=vocab)))
    row = {"file": path.name, "mb": path.stat().st_size / 1e6, "vocab": vocab}
    for name in CONTENDERS:
        row[f"{name}_wall_s"] = median([r["wall_s"] for r in runs[name]])
        row[f"{name}_peak_mb"] = median([r["peak_rss_mb"] for r in runs[name]])
        row[f"{name}_cpu_s"] = median([r["cpu_s"] for r in runs[name]])
        row[f"{name}_runs"] = runs[name]
    for ours in ("python", "numba"):
        for other in ("hf", "rustbpe"):
            row[f"{ours}/{other}_wall"] = row[f"{ours}_wall_s"] / row[f"{other}_wall_s"]
            row[f"{ours}/{other}_mem"] = row[f"{ours}_peak_mb"] / row[f"{other}_peak_mb"]
            row[f"{ours}/{other}_cpu"] = row[f"{ours}_cpu_s"] / row[f"{other}_cpu_s"]
    return row


def warm_numba_cache() -> None:
    """Compile the numba merge loop once (on-disk cache), so the timed runs only load it."""
    import tempfile

    from lmforge.tokenize.bpe_fast import train_bpe_fast

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "w.txt").write_text("warm up the numba cache " * 20)
        train_bpe_fast(Path(d) / "w.txt", 270, [])


def bench_small(n_chars: int = 130_000) -> dict:
    import tempfile

    from lmforge.tokenize import train_bpe
    from lmforge.tokenize.sample_texts import english_text

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "english.txt"
        path.write_text(english_text(n_chars), encoding="utf-8")
        times = []
        for _ in range(5):
            t = time.perf_counter()
            train_bpe(path, 500, ["<|endoftext|>"])
            times.append(time.perf_counter() - t)
        return {"bytes": path.stat().st_size, "vocab": 500, "median_s": median(times), "times_s": times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, nargs="+", required=True)
    ap.add_argument("--vocab", type=int, nargs="+", default=[10_000, 32_000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="our pre-tokenization processes (default: all)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT / "train.json")
    ap.add_argument("--save-dir", type=Path, default=DEFAULT_OUT / "tokenizers",
                    help="where our trained tokenizers go (for bench_compression.py)")
    args = ap.parse_args()

    load_before = os.getloadavg()
    print(f"load average {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f} "
          f"on {os.cpu_count()} cores", flush=True)
    warm_numba_cache()
    small = bench_small()
    kb = small["bytes"] / 1e3
    print(f"vocab 500 on {kb:.0f} KB English: median {small['median_s']:.3f} s (target < 0.5 s)\n")
    rows = []
    for path in args.input:
        for vocab in args.vocab:
            rows.append(bench_file(path, vocab, args.reps, args.workers, args.save_dir))
            print(json.dumps({k: v for k, v in rows[-1].items() if not k.endswith("_runs")}), flush=True)
    print()
    print_table(["file", "MB", "vocab", "python s", "numba s", "HF s", "rustbpe s", "python/HF",
                 "python/rust", "numba/HF", "numba/rust"],
                [[r["file"], r["mb"], r["vocab"], r["python_wall_s"], r["numba_wall_s"], r["hf_wall_s"],
                  r["rustbpe_wall_s"], r["python/hf_wall"], r["python/rustbpe_wall"], r["numba/hf_wall"],
                  r["numba/rustbpe_wall"]] for r in rows])
    print("\nCPU seconds of the process tree (whole process, imports included)")
    print_table(["file", "vocab", "python", "numba", "HF", "rustbpe", "numba/HF", "numba/rust"],
                [[r["file"], r["vocab"], r["python_cpu_s"], r["numba_cpu_s"], r["hf_cpu_s"],
                  r["rustbpe_cpu_s"], r["numba/hf_cpu"], r["numba/rustbpe_cpu"]] for r in rows])
    print("\npeak memory of the process tree (PSS, MB)")
    print_table(["file", "vocab", "python", "numba", "HF", "rustbpe", "numba/HF", "numba/rust"],
                [[r["file"], r["vocab"], r["python_peak_mb"], r["numba_peak_mb"], r["hf_peak_mb"],
                  r["rustbpe_peak_mb"], r["numba/hf_mem"], r["numba/rustbpe_mem"]] for r in rows])
    load_after = os.getloadavg()
    print(f"\nload average at the end {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f}")
    save_json({"small": small, "rows": rows, "load_average_before": load_before,
               "load_average_after": load_after}, args.out)


if __name__ == "__main__":
    main()
