"""Find GPT-2's released ``encoder.json`` / ``vocab.bpe`` inside a tiktoken cache (named by URL sha1)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bench_common import REPO

URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"


def cache_dir() -> Path:
    env = os.environ.get("TIKTOKEN_CACHE_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "tiktoken_cache"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(path)
    return path


def gpt2_files() -> tuple[Path, Path]:
    d = cache_dir()
    return tuple(d / hashlib.sha1((URL + n).encode()).hexdigest() for n in ("encoder.json", "vocab.bpe"))
