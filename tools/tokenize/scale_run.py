"""Scale run: train BPE at vocab 32k on 100 MB and 300 MB of real text; wall time and peak memory.

    nice -n 10 uv run python tools/tokenize/scale_run.py --work /tmp/lmf_corpus --mb 100 300

The corpus is built once per size (never committed), from distinct documents only (a sha1 of each is
kept, so nothing repeats): the English sources of ``../shared/DATA.md`` (the reST of ``python3.11-doc``
and ``linux-doc-6.1`` and the whole of GCIDE, from ``build_corpus.fetch``), then the standard library's
``.py`` files, then the ``.py`` files of the installed packages (this environment's site-packages),
documents separated by ``<|endoftext|>``, cut at the first document that reaches the size. Each
training runs in a fresh process; memory is the peak PSS of the whole process tree (``bench_common``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from bench_common import DEFAULT_OUT, print_table, run_snippet, save_json
from build_corpus import EOT, fetch

TRAIN = """
import json, time
from lmforge.core import get_part
t = time.perf_counter()
vocab, merges = get_part("bpe_trainer", {trainer!r})({path!r}, {vocab}, ["<|endoftext|>"])
print(json.dumps({{"wall_s": time.perf_counter() - t, "vocab": len(vocab)}}))
"""


def documents(work: Path) -> Iterator[str]:
    root = fetch(work)
    for base in ("usr/share/doc/python3.11/html/_sources", "usr/share/doc/linux-doc-6.1"):
        for p in sorted((root / base).rglob("*.rst.txt")):
            yield p.read_text(encoding="utf-8", errors="replace")
    with gzip.open(next((root / "usr/share/dictd").glob("gcide.dict.dz")), "rt", encoding="utf-8",
                   errors="replace") as f:
        yield from (d for d in f.read().split("\n\n\n") if d.strip())
    for key in ("stdlib", "purelib"):
        for p in sorted(Path(sysconfig.get_paths()[key]).rglob("*.py")):
            try:
                yield p.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue


def build(work: Path, mb: int) -> Path:
    out = work / f"scale-{mb}mb.txt"
    if out.is_file():
        return out
    seen: set[bytes] = set()
    size = 0
    with open(out, "w", encoding="utf-8") as f:
        for doc in documents(work):
            digest = hashlib.sha1(doc.encode("utf-8", errors="replace")).digest()
            if digest in seen or not doc.strip():
                continue
            seen.add(digest)
            f.write(doc + EOT)
            size += len(doc.encode("utf-8", errors="replace")) + len(EOT)
            if size >= mb * 1_000_000:
                break
    if size < mb * 1_000_000:
        raise SystemExit(f"only {size / 1e6:.0f} MB of distinct text found for the {mb} MB corpus")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/lmf_corpus"))
    ap.add_argument("--mb", type=int, nargs="+", default=[100, 300])
    ap.add_argument("--vocab", type=int, default=32_000)
    ap.add_argument("--trainer", default="numba")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT / "scale.json")
    args = ap.parse_args()
    rows = []
    for mb in args.mb:
        path = build(args.work, mb)
        run = run_snippet(TRAIN.format(trainer=args.trainer, path=str(path), vocab=args.vocab))
        rows.append({"mb": path.stat().st_size / 1e6, "vocab": run["vocab"], "trainer": args.trainer,
                     "wall_s": run["wall_s"], "cpu_s": run["cpu_s"], "peak_mb": run["peak_rss_mb"],
                     "load_average": os.getloadavg()})
        print(json.dumps(rows[-1]), flush=True)
    print_table(["MB", "vocab", "trainer", "wall s", "CPU s", "peak MB (tree PSS)", "load average"],
                [[r["mb"], r["vocab"], r["trainer"], r["wall_s"], r["cpu_s"], r["peak_mb"],
                  r["load_average"][0]] for r in rows])
    save_json({"rows": rows}, args.out)


if __name__ == "__main__":
    main()
