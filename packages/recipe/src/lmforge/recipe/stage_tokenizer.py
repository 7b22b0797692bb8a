"""Stage ``tokenizer``: byte-level BPE trained on the kept documents, then the token file.

Documents are joined by ``<|endoftext|>`` (a special token, so no merge crosses a document boundary),
and the same text is encoded into ``tokens.bin`` for pretraining.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lmforge.core import atomic_write
from lmforge.data import read_jsonl
from lmforge.tokenize import EOT, GPT2_PATTERN, BPETokenizer, encode_files_to_bin, load_tokenizer, train_bpe

# GPT-2's pre-tokenizer with every digit a piece of its own (LLaMA's choice): numbers are spelled digit
# by digit, so "17" and "29" share their structure and a small model's arithmetic can generalize to
# operand pairs it never saw (with GPT-2's pattern, frequent numbers become single opaque tokens).
GPT2_DIGITS_PATTERN = GPT2_PATTERN.replace(r" ?\p{N}++", r"\p{N}")


@dataclass
class TokenizerStageConfig:
    vocab_size: int = 2048
    pattern: str = "gpt2_digits"  # pre-tokenizer: gpt2_digits | gpt2 | cl100k | a regex
    workers: int = 1


def run(cfg: TokenizerStageConfig, kept_files: list[str], stage_dir: Path, log) -> dict:
    texts = [doc.text.replace(EOT, "") for path in kept_files for doc in read_jsonl(path)]
    corpus = stage_dir / "corpus.txt"
    atomic_write(corpus, EOT.join(texts))
    log(f"training BPE (vocabulary {cfg.vocab_size}) on {len(texts)} documents, "
        f"{corpus.stat().st_size / 1e6:.2f} MB")
    pattern = GPT2_DIGITS_PATTERN if cfg.pattern == "gpt2_digits" else cfg.pattern
    vocab, merges = train_bpe(corpus, cfg.vocab_size, [EOT], pattern=pattern, workers=cfg.workers)
    tok_dir = stage_dir / "tokenizer"
    BPETokenizer(vocab, merges, special_tokens=[EOT], pattern=pattern).save(tok_dir)
    tokens = stage_dir / "tokens.bin"
    meta = encode_files_to_bin(load_tokenizer(tok_dir), [corpus], tokens, workers=cfg.workers)
    n_bytes = corpus.stat().st_size
    return {
        "inputs": {"kept_files": kept_files},
        "outputs": {"tokenizer_dir": str(tok_dir), "tokens": str(tokens), "corpus": str(corpus)},
        "figures": {"documents": len(texts), "corpus bytes": n_bytes, "vocabulary": len(vocab),
                    "merges": len(merges), "tokens": meta["count"],
                    "bytes per token": round(n_bytes / max(meta["count"], 1), 3),
                    "pre-tokenizer": cfg.pattern},
        "parts": [("tokenizer", "bpe")],
    }
