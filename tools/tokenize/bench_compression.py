"""Compression (UTF-8 bytes per token) of our trained 10k / 32k BPE tokenizers against GPT-2's.

    nice -n 10 uv run python tools/tokenize/bench_compression.py --input /tmp/lmf_corpus/english.txt \\
        /tmp/lmf_corpus/stdlib.txt --tokenizers .bench/tokenize/tokenizers/english-10000 ...

The tokenizers are the ones ``bench_train.py`` saved (trained on english.txt); each is run through the
``bpe-tiktoken`` part (same ids as ``bpe``, faster). Higher bytes/token = better compression.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_common import DEFAULT_OUT, print_table, save_json
from gpt2_reference import cache_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, nargs="+", required=True)
    ap.add_argument("--tokenizers", type=Path, nargs="+", required=True)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT / "compression.json")
    args = ap.parse_args()
    cache_dir()
    import tiktoken

    from lmforge.tokenize import load_tokenizer

    gpt2 = tiktoken.get_encoding("gpt2")
    toks = {d.name: load_tokenizer(d, part="bpe-tiktoken") for d in args.tokenizers}
    rows = []
    for path in args.input:
        text = path.read_text(encoding="utf-8", errors="replace")
        n_bytes = len(text.encode("utf-8"))
        gpt2_bpt = n_bytes / len(gpt2.encode(text, allowed_special="all"))
        rows.append({"file": path.name, "tokenizer": "gpt2 (50257)", "bytes_per_token": gpt2_bpt,
                     "ratio": 1.0})
        for name, tok in toks.items():
            bpt = n_bytes / len(tok.encode(text))
            rows.append({"file": path.name, "tokenizer": f"{name} ({tok.vocab_size})", "bytes_per_token": bpt,
                         "ratio": bpt / gpt2_bpt})
    print_table(["file", "tokenizer", "bytes/token", "ratio vs GPT-2"],
                [[r["file"], r["tokenizer"], r["bytes_per_token"], r["ratio"]] for r in rows])
    save_json({"rows": rows}, args.out)


if __name__ == "__main__":
    main()
