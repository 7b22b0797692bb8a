"""lmforge.data: from raw web archives to a clean, deduplicated, tokenized training corpus."""

from .classifiers import (
    classify_nsfw,
    classify_quality,
    classify_toxic_speech,
    train_classifier,
)
from .dedup import exact_line_dedup, minhash_dedup, near_duplicate_clusters
from .documents import Document, SkipCounter
from .extract import decode_html, extract_text, extract_text_trafilatura
from .fetch_urls import fetch_urls
from .gopher import GopherQualityFilter, gopher_quality_filter, gopher_quality_reason
from .language import identify_language, identify_language_langid
from .minhash import normalize_text
from .pii import EMAIL_MASK, IP_MASK, PHONE_MASK, mask_emails, mask_ips, mask_phone_numbers, mask_pii
from .quality_examples import quality_examples
from .readers import read_documents, read_jsonl, read_text, read_warc, read_wet
from .unionfind import UnionFind
from .writers import read_parquet, write_jsonl, write_parquet

__all__ = [
    "EMAIL_MASK",
    "IP_MASK",
    "PHONE_MASK",
    "Document",
    "GopherQualityFilter",
    "SkipCounter",
    "UnionFind",
    "classify_nsfw",
    "classify_quality",
    "classify_toxic_speech",
    "decode_html",
    "exact_line_dedup",
    "extract_text",
    "extract_text_trafilatura",
    "fetch_urls",
    "gopher_quality_filter",
    "gopher_quality_reason",
    "identify_language",
    "identify_language_langid",
    "mask_emails",
    "mask_ips",
    "mask_phone_numbers",
    "mask_pii",
    "minhash_dedup",
    "near_duplicate_clusters",
    "normalize_text",
    "quality_examples",
    "read_documents",
    "read_jsonl",
    "read_parquet",
    "read_text",
    "read_warc",
    "read_wet",
    "train_classifier",
    "write_jsonl",
    "write_parquet",
]
