"""The typed pipeline config (``lmforge data run --config pipeline.toml``).

Example::

    output_dir = "runs/data/crawl1"
    keep_intermediate = false             # true: keep stage1/ and dedup-*/ document files after the run

    [input]
    paths = ["crawl/*.warc.gz"]          # files, folders or globs (local or s3://, memory:// URLs)
    format = "auto"                       # auto | warc | wet | jsonl | text
    shard_bytes = 4_194_304               # bigger files become byte-range shards (0: one per file)

    [extract]
    extractor = "resiliparse"             # an html_extractor part

    # Every part below is picked the one way parts are picked in lmforge (core's PartRef): its name,
    # or a table with the name and the part's options.
    [[filters]]                           # doc_filter parts, applied in order
    name = "length"
    min_chars = 1
    max_chars = 1_000_000
    [[filters]]
    name = "language"
    languages = ["en"]
    min_score = 0.65
    [[filters]]
    name = "gopher"
    [[filters]]
    name = "classifier"
    classifier = "quality"                # a classifier part; {name = "fasttext", model = "..."} too
    drop_label = "cc"
    min_score = 0.5
    [[filters]]
    name = "pii_mask"

    [[dedup]]                             # deduper parts, applied in order over all shards
    name = "exact_line"
    [[dedup]]
    name = "minhash"
    num_hashes = 128
    num_bands = 32
    ngrams = 5
    jaccard_threshold = 0.8

    [output]
    format = "jsonl.gz"                   # jsonl | jsonl.gz | parquet
    exclusions = false                    # true: dropped documents with their reason in excluded/

    [tokenize]
    tokenizer_dir = "runs/tok"            # a saved tokenizer folder; leave out to skip tokenizing

    [executor]
    name = "local"                        # local | ray  (or executor = "ray")
    workers = 0                           # 0 = all cores
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmforge.core import PartRef


@dataclass
class InputConfig:
    paths: list[str] = field(default_factory=list)
    format: str = "auto"
    # Files larger than this are read as several byte-range shards (WARC / WET records, lines of an
    # uncompressed JSONL), so one big input still keeps every worker busy. 0: one shard per file.
    shard_bytes: int = 4 * 1024 * 1024


@dataclass
class ExtractConfig:
    extractor: PartRef = field(default_factory=lambda: PartRef("resiliparse"))  # an html_extractor part


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
class PipelineConfig:
    output_dir: str = ""
    input: InputConfig = field(default_factory=InputConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    filters: list[PartRef] = field(default_factory=list)  # doc_filter parts
    dedup: list[PartRef] = field(default_factory=list)  # deduper parts
    output: OutputConfig = field(default_factory=OutputConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    executor: PartRef = field(default_factory=lambda: PartRef("local"))  # an executor part
    keep_intermediate: bool = False  # keep stage1/ and dedup-*/ document files after the run
