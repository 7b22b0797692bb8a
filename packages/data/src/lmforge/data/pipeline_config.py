"""The typed pipeline config (``lmforge data run --config pipeline.toml``).

Example::

    output_dir = "runs/data/crawl1"
    keep_intermediate = false             # true: keep stage1/ and dedup-*/ document files after the run

    [input]
    paths = ["crawl/*.warc.gz"]          # files, folders or globs; each file is one shard
    format = "auto"                       # auto | warc | wet | jsonl | text
    shard_bytes = 4_194_304               # bigger files become byte-range shards (0: one per file)

    [extract]
    extractor = "resiliparse"             # an html_extractor part

    [[filters]]                           # doc_filter parts, applied in order
    name = "length"
    options = { min_chars = 1, max_chars = 1_000_000 }
    [[filters]]
    name = "language"
    options = { languages = ["en"], min_score = 0.65 }
    [[filters]]
    name = "gopher"
    [[filters]]
    name = "classifier"
    options = { classifier = "quality", drop_label = "cc", min_score = 0.5 }
    [[filters]]
    name = "pii_mask"

    [[dedup]]                             # deduper parts, applied in order over all shards
    name = "exact_line"
    [[dedup]]
    name = "minhash"
    options = { num_hashes = 128, num_bands = 32, ngrams = 5, jaccard_threshold = 0.8 }

    [output]
    format = "jsonl.gz"                   # jsonl | jsonl.gz | parquet
    exclusions = false                    # true: dropped documents with their reason in excluded/

    [tokenize]
    tokenizer_dir = "runs/tok"            # a saved tokenizer folder; leave out to skip tokenizing

    [executor]
    name = "local"                        # local | ray
    options = { workers = 0 }             # 0 = all cores
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class InputConfig:
    paths: list[str] = field(default_factory=list)
    format: str = "auto"
    # Files larger than this are read as several byte-range shards (WARC / WET records, lines of an
    # uncompressed JSONL), so one big input still keeps every worker busy. 0: one shard per file.
    shard_bytes: int = 4 * 1024 * 1024


@dataclass
class ExtractConfig:
    extractor: str = "resiliparse"


@dataclass
class StepConfig:
    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutputConfig:
    format: str = "jsonl.gz"
    exclusions: bool = False  # also write dropped documents, with step and reason, to excluded/


@dataclass
class TokenizeConfig:
    tokenizer_dir: str | None = None
    tokenizer: str | None = None  # a tokenizer part name, overriding the one the folder's meta names
    out: str = "tokens.bin"
    workers: int = 1


@dataclass
class ExecutorConfig:
    name: str = "local"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class PipelineConfig:
    output_dir: str = ""
    input: InputConfig = field(default_factory=InputConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    filters: list[StepConfig] = field(default_factory=list)
    dedup: list[StepConfig] = field(default_factory=list)
    output: OutputConfig = field(default_factory=OutputConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    keep_intermediate: bool = False  # keep stage1/ and dedup-*/ document files after the run
