"""A data ablation on a real WARC: three pipelines, one model each at exactly equal FLOPs.

Input: the Debian ``python3.11-doc`` HTML crawled on 127.0.0.1 with wget (``tools/data``'s crawler;
``apt-get download python3.11-doc && dpkg-deb -x python3.11-doc_*.deb /tmp/debdocs/root`` when not
installed). Pipelines (the data package's ``run_pipeline``, one worker each):

- ``length``: extraction and a 200-character minimum only
- ``gopher``: plus English language ID and the Gopher quality rules
- ``gopher+dedup``: plus exact-line and MinHash deduplication

Tokenizer: the data benchmark's byte-level BPE (vocabulary 2,000, trained on ``pydoc_data.topics``).
Held-out text: ``pydoc_data.topics`` itself, the same documentation as plain text rather than
extracted HTML, so it is the target distribution (its content also appears in the crawl, equally
available to every pipeline). Then ``lmforge.scaling.ablate.run_ablation`` trains the same model on
each pipeline's tokens for ``--budget`` FLOPs and prints the table.

    uv run python tools/scaling/warc_ablation.py --budget 5e11 --out .bench/scaling/warc_ablation

Measured (8.5 MB WARC of 547 pages; d_model 64, 2 layers, context 64, batch 16; 5e11 FLOPs = 332,800
tokens seen per pipeline; shared 2-core machine at load average ~13): crawl and three pipelines
287 s, three trainings 241 s, 8.8 minutes in all. Held-out bits per byte (seed 0 / seed 1, whose
held-out batches differ):

    pipeline        kept tokens  epochs  bits/byte (seed 0)  bits/byte (seed 1)
    gopher+dedup      2,801,952    0.12              2.4168              2.4869
    gopher            3,630,767    0.09              2.4338              2.5112
    length            4,833,197    0.07              2.4963              2.5298

Both seeds rank the pipelines the same way: each filtering step helps at equal compute.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

TOOLS_DATA = Path(__file__).resolve().parents[1] / "data"
sys.path.insert(0, str(TOOLS_DATA))

from bench_pipeline import _tokenizer  # noqa: E402  (the data benchmark's tokenizer, reused as is)
from crawl_debian_docs import crawl, find_html_dir  # noqa: E402

PIPELINES = {
    "length": {"filters": [{"name": "length", "min_chars": 200}], "dedup": []},
    "gopher": {"filters": [{"name": "length", "min_chars": 200},
                           {"name": "language", "languages": ["en"], "min_score": 0.65},
                           {"name": "gopher"}], "dedup": []},
    "gopher+dedup": {"filters": [{"name": "length", "min_chars": 200},
                                 {"name": "language", "languages": ["en"], "min_score": 0.65},
                                 {"name": "gopher"}],
                     "dedup": [{"name": "exact_line"}, {"name": "minhash"}]},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warc", default=None, help="An existing WARC (default: crawl the Debian docs now).")
    ap.add_argument("--budget", type=float, default=5e11)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--num-layers", type=int, default=2)
    ap.add_argument("--context-length", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0, help="Init and batch order, same for every pipeline.")
    ap.add_argument("--out", default=".bench/scaling/warc_ablation")
    args = ap.parse_args()

    import pydoc_data.topics

    from lmforge.core import load_config
    from lmforge.data.pipeline import run_pipeline
    from lmforge.data.pipeline_config import PipelineConfig
    from lmforge.scaling.ablate import format_ablation, run_ablation

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    warc = Path(args.warc) if args.warc else crawl(find_html_dir() or sys.exit("no Debian doc HTML"),
                                                   out / "crawl")
    tok = _tokenizer(out) if not (out / "tokenizer").is_dir() else out / "tokenizer"
    heldout = out / "heldout.txt"
    heldout.write_text("\n\n".join(pydoc_data.topics.topics.values()))
    tokens = {}
    for name, steps in PIPELINES.items():
        cfg = load_config(PipelineConfig, data={
            "output_dir": str(out / "pipelines" / name), "input": {"paths": [str(warc)]}, **steps,
            "tokenize": {"tokenizer_dir": str(tok)},
            "executor": {"name": "local", "workers": 1, "progress": False}})
        stats = run_pipeline(cfg)
        tokens[name] = out / "pipelines" / name / cfg.tokenize.out
        print(f"{name}: {stats['steps'][0]['in']} documents in -> {tokens[name]}", flush=True)
    t1 = time.perf_counter()
    model = {"context_length": args.context_length, "d_model": args.d_model, "num_layers": args.num_layers,
             "num_heads": max(1, args.d_model // 32)}
    report = run_ablation(tokens, heldout, tok, args.budget, model, out / f"ablation-seed{args.seed}",
                          batch_size=args.batch_size, seed=args.seed)
    print(format_ablation(report))
    print(f"pipelines {t1 - t0:.0f} s, training and evaluation {time.perf_counter() - t1:.0f} s; "
          f"plot {report['plot']}")


if __name__ == "__main__":
    main()
