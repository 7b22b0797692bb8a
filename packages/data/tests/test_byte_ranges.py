"""One large input becomes byte-range shards (so workers = N uses N cores) with the same documents."""

from __future__ import annotations

import json

import pytest

from lmforge.core import load_config
from lmforge.data import SkipCounter, read_jsonl
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import PipelineConfig
from lmforge.data.readers import read_documents, split_points
from lmforge.data.shard_dedup import _drop_lines


def _ranges(path, fmt, shard_bytes):
    starts = split_points(path, fmt, shard_bytes)
    return list(zip(starts, [*starts[1:], path.stat().st_size]))


def _read_split(path, fmt, shard_bytes):
    docs, skipped = [], SkipCounter()
    for byte_range in _ranges(path, fmt, shard_bytes):
        docs += list(read_documents(path, fmt, skipped, byte_range))
    return docs, skipped.counts


def test_jsonl_ranges_read_every_line_once(tmp_path):
    path = tmp_path / "big.jsonl"
    lines = [json.dumps({"text": f"document number {i} " + "x" * (i % 50)}) for i in range(3000)]
    lines[1234] = "{broken"
    path.write_text("\n".join(lines) + "\n")
    whole_skipped = SkipCounter()
    whole = list(read_jsonl(path, whole_skipped))
    assert len(_ranges(path, "jsonl", 10_000)) > 10
    split, counts = _read_split(path, "jsonl", 10_000)
    assert [(d.id, d.text) for d in split] == [(d.id, d.text) for d in whole]
    assert counts == whole_skipped.counts == {"bad_json": 1}


@pytest.mark.parametrize("name", ["crawl-0.warc.gz", "plain.warc", "crawl-cut.warc.gz"])
def test_warc_ranges_read_every_record_once(tmp_path, warc_maker, crawl_builder, name):
    crawl_builder(tmp_path, warc_maker, n_shards=4, docs_per_shard=40)
    if name == "plain.warc":
        import gzip

        (tmp_path / name).write_bytes(gzip.decompress((tmp_path / "crawl-0.warc.gz").read_bytes()))
    path = tmp_path / name
    whole_skipped = SkipCounter()
    whole = list(read_documents(path, "warc", whole_skipped))
    shard_bytes = max(2000, path.stat().st_size // 7)
    assert len(_ranges(path, "warc", shard_bytes)) >= 4
    split, counts = _read_split(path, "warc", shard_bytes)
    assert [(d.id, d.text) for d in split] == [(d.id, d.text) for d in whole] and len(whole) > 20
    assert counts == whole_skipped.counts


def test_one_input_file_uses_every_worker_with_the_same_output(tmp_path, warc_maker, crawl_builder):
    crawl_builder(tmp_path / "in", warc_maker, n_shards=1, docs_per_shard=60)
    (tmp_path / "in" / "crawl-cut.warc.gz").unlink()
    src = tmp_path / "in" / "crawl-0.warc.gz"

    def run(out, shard_bytes, workers):
        cfg = load_config(
            PipelineConfig,
            data={
                "output_dir": str(tmp_path / out),
                "input": {"paths": [str(src)], "shard_bytes": shard_bytes},
                "filters": [{"name": "length", "min_chars": 20}, {"name": "gopher"}],
                "dedup": [{"name": "exact_line"}],
                "executor": {"name": "local", "workers": workers, "progress": False},
            },
        )
        stats = run_pipeline(cfg)
        docs = [d for f in sorted((tmp_path / out / "final").glob("*.jsonl.gz")) for d in read_jsonl(f)]
        return stats, [(d.id, d.text) for d in docs]

    one, one_docs = run("one", 0, 1)
    split, split_docs = run("split", src.stat().st_size // 4, 2)
    assert one["shards"] == 1 and split["shards"] >= 4
    assert split_docs == one_docs and len(one_docs) > 40
    assert [s["kept"] for s in split["steps"]] == [s["kept"] for s in one["steps"]]


def test_line_dedup_collapses_the_blank_lines_it_leaves():
    def lines(text):
        return text.splitlines(keepends=True)

    assert _drop_lines(lines("a\n\nDUP\n\nc\n"), [0, 0, 1, 0, 0]) == "a\n\nc\n"
    assert _drop_lines(lines("DUP\n\na\n\n\nb\n"), [1, 0, 0, 0, 0, 0]) == "a\n\n\nb\n"  # own runs stay
    assert _drop_lines(lines("a\n\nb\n\nDUP\n"), [0, 0, 0, 0, 1]) == "a\n\nb\n"
    assert _drop_lines(lines("a\n\n\nb\n"), [0, 0, 0, 0]) == "a\n\n\nb\n"
