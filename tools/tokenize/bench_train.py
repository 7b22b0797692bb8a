"""BPE training: lmforge ``train_bpe`` against HF ``tokenizers``' BPE trainer, same file, same run.

    nice -n 10 uv run python tools/tokenize/bench_train.py --input /tmp/lmf_corpus/english.txt \\
        --vocab 10000 32000 --reps 3

Each trainer runs in a fresh process (so peak memory is its own: the proportional set size of the
process and all its children, sampled every 10 ms); runs alternate between the two trainers and the
table shows medians. Wall time is the training call only (imports excluded) for both. Also times
vocabulary 500 on ~130 KB of English prose (in-process, median of 5).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench_common import DEFAULT_OUT, median, print_table, run_snippet, save_json

OURS = """
import json, time
from lmforge.tokenize import train_bpe
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


def bench_file(path: Path, vocab: int, reps: int, workers: int | None, save_dir: Path | None) -> dict:
    ours, hf = [], []
    for rep in range(reps):
        save = str(save_dir / f"{path.stem}-{vocab}") if save_dir and rep == reps - 1 else ""
        ours.append(run_snippet(OURS.format(path=str(path), vocab=vocab, workers=workers, save=save)))
        hf.append(run_snippet(HF.format(path=str(path), vocab=vocab)))
    row = {"file": path.name, "mb": path.stat().st_size / 1e6, "vocab": vocab}
    for name, runs in (("ours", ours), ("hf", hf)):
        row[f"{name}_wall_s"] = median([r["wall_s"] for r in runs])
        row[f"{name}_peak_rss_mb"] = median([r["peak_rss_mb"] for r in runs])
        row[f"{name}_runs"] = runs
    row["wall_ratio"] = row["ours_wall_s"] / row["hf_wall_s"]
    row["rss_ratio"] = row["ours_peak_rss_mb"] / row["hf_peak_rss_mb"]
    return row


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

    small = bench_small()
    kb = small["bytes"] / 1e3
    print(f"vocab 500 on {kb:.0f} KB English: median {small['median_s']:.3f} s (target < 0.5 s)\n")
    rows = []
    for path in args.input:
        for vocab in args.vocab:
            rows.append(bench_file(path, vocab, args.reps, args.workers, args.save_dir))
            print(json.dumps({k: v for k, v in rows[-1].items() if not k.endswith("_runs")}), flush=True)
    print()
    print_table(["file", "MB", "vocab", "ours s", "HF s", "time ratio", "ours MB", "HF MB", "RSS ratio"],
                [[r["file"], r["mb"], r["vocab"], r["ours_wall_s"], r["hf_wall_s"], r["wall_ratio"],
                  r["ours_peak_rss_mb"], r["hf_peak_rss_mb"], r["rss_ratio"]] for r in rows])
    save_json({"small": small, "rows": rows}, args.out)


if __name__ == "__main__":
    main()
