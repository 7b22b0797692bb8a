"""Shared fixtures: a small BPE trained in-process, and GPT-2's released files from the tiktoken cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from lmforge.tokenize.sample_texts import english_text

GPT2_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"


def tiktoken_cache_dir() -> Path | None:
    env = os.environ.get("TIKTOKEN_CACHE_DIR")
    repo_root = Path(__file__).resolve().parents[3]
    for candidate in ([Path(env)] if env else []) + [repo_root.parent / "shared" / "tiktoken_cache"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def gpt2_files() -> tuple[Path, Path]:
    """(encoder.json, vocab.bpe) as tiktoken cached them (tiktoken names cache files by sha1 of the URL)."""
    cache = tiktoken_cache_dir()
    if cache is None:
        pytest.skip("no tiktoken cache (set TIKTOKEN_CACHE_DIR or provide ../shared/tiktoken_cache)")
    paths = tuple(cache / hashlib.sha1((GPT2_URL + name).encode()).hexdigest()
                  for name in ("encoder.json", "vocab.bpe"))
    if not all(p.is_file() for p in paths):
        pytest.skip(f"GPT-2 files are not in the tiktoken cache {cache}")
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    return paths


@pytest.fixture(scope="session")
def tiktoken_gpt2(gpt2_files):
    import tiktoken

    return tiktoken.get_encoding("gpt2")


@pytest.fixture(scope="session")
def gpt2_bpe(gpt2_files):
    from lmforge.tokenize import BPETokenizer

    return BPETokenizer.from_files(*gpt2_files, special_tokens=["<|endoftext|>"])


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    docs = english_text(60_000).split("\n\n")
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("<|endoftext|>".join(docs) + " 日本語 😀 café", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_bpe(corpus_file):
    from lmforge.tokenize import BPETokenizer, train_bpe

    vocab, merges = train_bpe(corpus_file, 600, ["<|endoftext|>"], workers=1)
    return BPETokenizer(vocab, merges, ["<|endoftext|>"])
