"""``lmforge data ablate`` on a real WARC: three pipelines, one model each at exactly equal FLOPs.

Input: the Debian ``python3.11-doc`` HTML crawled on 127.0.0.1 with wget (``crawl_debian_docs.py``;
``apt-get download python3.11-doc && dpkg-deb -x python3.11-doc_*.deb /tmp/debdocs/root`` when not
installed), or ``--warc``. One base config (every step below, written here) and three ``--variant``s:

- ``length``: extraction and a 200-character minimum only
- ``gopher``: plus English language ID (lid.176 score >= 0.65) and the Gopher quality rules
- ``gopher+dedup``: plus exact-line and MinHash deduplication (the base as it is)

The tokenizer is the command's
default, a BPE trained once on an equal sample of the three outputs. Held-out text: ``pydoc_data.topics``,
the same documentation as plain text rather than extracted HTML, so it is the target distribution (its
content also appears in the crawl, equally available to every pipeline).

    uv run python tools/data/warc_ablation.py --budget 6e11 --seeds 0,1 --out .bench/data/warc_ablation

The wall time printed covers everything: crawl, pipelines, tokenizer, token files, training, plot.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crawl_debian_docs import crawl, find_html_dir  # noqa: E402

STEPS = '''[[filters]]
name = "length"
min_chars = 200
[[filters]]
name = "language"
languages = ["en"]
min_score = 0.65
[[filters]]
name = "gopher"
[[dedup]]
name = "exact_line"
[[dedup]]
name = "minhash"
'''
VARIANTS = ["gopher+dedup", "gopher:dedup=[]",
            'length:filters=[{name="length", min_chars=200}]', "length:dedup=[]"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warc", default=None, help="An existing WARC (default: crawl the Debian docs now).")
    ap.add_argument("--budget", default="6e11", help="Training FLOPs per pipeline and seed.")
    ap.add_argument("--seeds", default="0,1", help="Each trains every pipeline once; ranked by the mean.")
    ap.add_argument("--out", default=".bench/data/warc_ablation")
    args, extra = ap.parse_known_args()  # anything else goes to `lmforge data ablate` as is

    import pydoc_data.topics

    from lmforge.core.cli import main as lmforge

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    warc = Path(args.warc) if args.warc else crawl(find_html_dir() or sys.exit("no Debian doc HTML"),
                                                   out / "crawl")
    print(f"WARC {warc} ({warc.stat().st_size / 1e6:.1f} MB), {time.perf_counter() - t0:.0f} s", flush=True)
    heldout = out / "heldout.txt"
    heldout.write_text("\n\n".join(pydoc_data.topics.topics.values()))
    base = out / "pipeline.toml"
    base.write_text(f'[input]\npaths = ["{warc.resolve()}"]\n{STEPS}')
    argv = ["data", "ablate", "--config", str(base), "--heldout", str(heldout), "--budget", args.budget,
            "--out", str(out / "ablation"), *extra]
    for seed in args.seeds.split(","):
        argv += ["--seed", seed]
    for variant in VARIANTS:
        argv += ["--variant", variant]
    try:
        lmforge(argv)
    finally:
        print(f"wall time, everything included: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
