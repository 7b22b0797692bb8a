"""One tokenizer for a data ablation, and each pipeline's output as a token file made with it.

Pipelines are compared through models trained on their outputs, so every output must be encoded by the
same tokenizer. It is a given one (``--tokenizer-dir``), or a byte-level BPE trained once on an equal
share of characters from each pipeline's output: a pipeline that keeps more text does not get to pick
the vocabulary. What the sample was (characters and documents per pipeline, its SHA-256) and how the
BPE was trained are recorded in ``tokenizer.json``; a rerun whose sample and settings are the same
reuses the tokenizer. A changed sample (another set of pipelines, a pipeline whose output changed)
trains a new one, and so, since every token file changes, new models.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from lmforge.core import atomic_open, atomic_write, get_part
from lmforge.tokenize import EOT

from .readers import read_jsonl

TOKENS = "ablation-tokens.bin"  # in each pipeline's folder, next to its final/ documents


def output_shards(folder: Path) -> list[Path]:
    """A finished pipeline's kept documents (the ablation runs every pipeline with jsonl.gz output)."""
    return sorted((folder / "final").glob("*.jsonl.gz"))


def _documents(folder: Path):
    for shard in output_shards(folder):
        for doc in read_jsonl(shard):
            yield doc.text.replace(EOT, "")  # as the pipeline's own tokenizer step does


def sample_output(folder: Path, chars: int) -> list[str]:
    """About ``chars`` characters of whole documents, spread evenly through one output (every k-th)."""
    total = sum(len(text) for text in _documents(folder))
    stride = max(1, math.ceil(total / max(chars, 1)))
    return [text for i, text in enumerate(_documents(folder)) if i % stride == 0]


def train_tokenizer(outputs: dict[str, Path], work: Path, vocab_size: int, sample_chars: int,
                    trainer: str = "python") -> tuple[Path, dict[str, Any]]:
    """The ablation's BPE (``work/tokenizer``) and its record; reused when the record is unchanged."""
    share = sample_chars // len(outputs)
    picked = {name: sample_output(folder, share) for name, folder in sorted(outputs.items())}
    sample = EOT.join(text for texts in picked.values() for text in texts)
    record = {"type": "bpe", "vocab_size": vocab_size, "special_tokens": [EOT], "pattern": "gpt2",
              "bpe_trainer": trainer, "sample_sha256": hashlib.sha256(sample.encode()).hexdigest(),
              "sample": {name: {"documents": len(texts), "chars": sum(map(len, texts))}
                         for name, texts in picked.items()}}
    tok_dir, record_path = work / "tokenizer", work / "tokenizer.json"
    if record_path.is_file() and json.loads(record_path.read_text()) == {**record, "reused": False}:
        return tok_dir, {**record, "reused": True}
    record_path.unlink(missing_ok=True)  # the record is the done marker: written last
    sample_path = work / "tokenizer-sample.txt"
    atomic_write(sample_path, sample)
    vocab, merges = get_part("bpe_trainer", trainer)([sample_path], vocab_size, [EOT], pattern="gpt2",
                                                     workers=1, progress=False)
    get_part("tokenizer", "bpe")(vocab, merges, [EOT], pattern="gpt2").save(tok_dir)
    sample_path.unlink()
    atomic_write(record_path, json.dumps({**record, "reused": False}, indent=1))
    return tok_dir, {**record, "reused": False}


def tokenize_output(folder: Path, input_key: str, tokenizer_dir: Path) -> dict[str, Any]:
    """A finished pipeline's kept documents as ``TOKENS`` in its folder, joined by the end-of-text token
    as the pipeline's own tokenizer step joins them; redone only when the pipeline's inputs or the
    tokenizer changed (the key in ``TOKENS.done``). Returns the token file's sidecar and path."""
    from lmforge.tokenize import encode_files_to_bin, load_tokenizer, tokenizer_fingerprint

    target, marker = folder / TOKENS, folder / f"{TOKENS}.done"
    key = f"{input_key}:{tokenizer_fingerprint(tokenizer_dir)}"
    if not (marker.is_file() and marker.read_text() == key):
        marker.unlink(missing_ok=True)
        text = folder / "ablation-tokens-input.txt"
        with atomic_open(text, "w") as f:  # streamed: an output may be larger than memory
            for i, doc in enumerate(_documents(folder)):
                f.write(EOT + doc if i else doc)  # the encoder adds the last end-of-text
        encode_files_to_bin(load_tokenizer(tokenizer_dir), [text], target, workers=1)
        text.unlink()
        atomic_write(marker, key)
    return {**json.loads(Path(f"{target}.json").read_text()), "path": str(target)}
