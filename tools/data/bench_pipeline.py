"""Whole-pipeline throughput on a real WARC (Debian doc HTML crawled on 127.0.0.1 with wget).

Runs ``lmforge data run``'s pipeline with one worker (so documents/s is per core): read, extract,
length, language, Gopher, the quality / nsfw / toxic classifiers, PII masking, exact line and
MinHash dedup, JSONL output and BPE tokenization into the token file `lmforge train` reads; prints
documents/s per core and each step's share of the time, and saves JSON.

    nice -n 10 uv run python tools/data/bench_pipeline.py --out .bench/data_pipeline.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from crawl_debian_docs import crawl, find_html_dir  # noqa: E402

EOT = "<|endoftext|>"


def _cpu() -> float:
    """CPU seconds of this process and its finished children (robust to a busy machine)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _tokenizer(folder: Path) -> Path:
    """A byte-level BPE (vocab 2,000) trained on the Python docs' pydoc topics, not on the crawl."""
    import pydoc_data.topics

    from lmforge.tokenize import BPETokenizer, train_bpe

    corpus = folder / "corpus.txt"
    corpus.write_text(EOT.join(pydoc_data.topics.topics.values()))
    vocab, merges = train_bpe(corpus, 2000, [EOT])
    BPETokenizer(vocab, merges, special_tokens=[EOT]).save(folder / "tokenizer")
    return folder / "tokenizer"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warc", default=None, help="an existing WARC (default: crawl the Debian docs now)")
    ap.add_argument("--html", default=None)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-tokenize", action="store_true")
    ap.add_argument("--out", default=".bench/data_pipeline.json")
    args = ap.parse_args()

    from lmforge.core import load_config
    from lmforge.data.pipeline import run_pipeline
    from lmforge.data.pipeline_config import PipelineConfig
    from lmforge.data.stats_report import format_table

    work = Path(tempfile.mkdtemp(prefix="lmforge-bench-pipeline-"))
    try:
        if args.warc:
            warc = Path(args.warc)
        else:
            html = Path(args.html) if args.html else find_html_dir()
            if html is None:
                sys.exit("no Debian doc HTML found (apt-get download python3.11-doc; dpkg-deb -x; --html)")
            warc = crawl(html, work / "crawl")
        from lmforge.data.classifiers import model_path, train_classifier

        if not model_path("quality").is_file():  # the demo quality model, outside the timed run
            train_classifier("quality")
        tok = None if args.no_tokenize else _tokenizer(work)
        cfg = load_config(
            PipelineConfig,
            data={
                "output_dir": str(work / "run"),
                "input": {"paths": [str(warc)]},
                "filters": [
                    {"name": "length", "min_chars": 200},
                    {"name": "language", "languages": ["en"], "min_score": 0.65},
                    {"name": "gopher"},
                    {"name": "classifier", "classifier": "nsfw", "drop_label": "nsfw", "min_score": 0.9},
                    {
                        "name": "classifier",
                        "classifier": "toxic_speech",
                        "drop_label": "toxic",
                        "min_score": 0.9,
                    },
                    {"name": "classifier", "classifier": "quality", "drop_label": "cc", "min_score": 0.5},
                    {"name": "pii_mask"},
                ],
                "dedup": [{"name": "exact_line"}, {"name": "minhash"}],
                "tokenize": {"tokenizer_dir": str(tok) if tok else None},
                "executor": {"name": "local", "workers": args.workers, "progress": False},
            },
        )
        t0, c0 = time.perf_counter(), _cpu()
        stats = run_pipeline(cfg)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        docs_in = stats["steps"][0]["in"]
        step_seconds = {s["step"]: s["seconds"] for s in stats["steps"]}
        tokens_s = max(0.0, wall - sum(step_seconds.values()))  # the rest: tokenizing, final write, startup
        step_seconds["tokenize+final write+overhead"] = round(tokens_s, 3)
        total = sum(step_seconds.values())
        result = {
            "warc": str(warc),
            "warc_mb": round(warc.stat().st_size / 1e6, 2),
            "workers": args.workers,
            "records_in": docs_in,
            "kept": stats["kept"],
            "wall_seconds": round(wall, 2),
            "docs_per_second_per_core": round(docs_in / wall / args.workers, 1),
            "cpu_seconds": round(cpu, 2) if args.workers == 1 else None,
            "docs_per_cpu_second": round(docs_in / cpu, 1) if args.workers == 1 else None,
            "time_share": {k: round(v / total, 4) for k, v in step_seconds.items()},
            "tokens": stats.get("tokens"),
            "steps": stats["steps"],
        }
        print(format_table(stats))
        print(
            f"\n{docs_in} records in {wall:.1f} s with {args.workers} worker(s): "
            f"{result['docs_per_second_per_core']} docs/s per core (wall)"
            + (f", {result['docs_per_cpu_second']} docs per CPU second" if args.workers == 1 else "")
        )
        for k, v in sorted(result["time_share"].items(), key=lambda kv: -kv[1]):
            print(f"  {k:<32}{100 * v:6.1f} %")
        if tok:
            from lmforge.tokenize import open_token_file

            arr = open_token_file(work / "run" / "tokens.bin")
            print(f"token file: {len(arr)} tokens, readable by lmforge.tokenize.open_token_file")
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
