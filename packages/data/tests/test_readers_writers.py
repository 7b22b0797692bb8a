import gzip
import json

from lmforge.data import (
    Document,
    SkipCounter,
    read_documents,
    read_jsonl,
    read_parquet,
    read_text,
    read_warc,
    write_jsonl,
    write_parquet,
)


def _pages(page_maker, n):
    return [
        (f"http://site.test/{i}", page_maker(f"p{i}", [f"Body {i}."]), "text/html; charset=utf-8")
        for i in range(n)
    ]


def test_warc_reads_responses_with_metadata(tmp_path, warc_maker, page_maker):
    pages = _pages(page_maker, 3) + [("http://site.test/img", b"\x89PNG....", "image/png")]
    for name in ["a.warc.gz", "a.warc"]:
        skipped = SkipCounter()
        docs = list(read_warc(warc_maker(tmp_path / name, pages), skipped))
        assert [d.metadata["url"] for d in docs] == [f"http://site.test/{i}" for i in range(3)]
        assert all(isinstance(d.text, bytes) and b"Body" in d.text for d in docs)
        meta = docs[0].metadata
        assert meta["content_type"] == "text/html" and meta["charset"] == "utf-8"
        assert meta["record_id"].startswith("<urn:uuid:") and meta["date"][:2] == "20"
        assert skipped.counts == {"not_html": 1}


def test_corrupt_and_truncated_warc_records_are_skipped_and_counted(tmp_path, warc_maker, page_maker):
    for name in ["c.warc.gz", "c.warc"]:
        path = warc_maker(tmp_path / name, _pages(page_maker, 6))
        good = list(read_warc(path))
        data = bytearray(path.read_bytes())
        # Garble the third response record (records are request/response pairs).
        start = good[2].metadata["record_id"]
        idx = data.find(b"WARC/1.", 0)
        if name.endswith(".gz"):
            members = [i for i in range(len(data)) if data[i : i + 3] == b"\x1f\x8b\x08"]
            idx = members[5]  # sixth member = third response
            for k in range(idx + 20, idx + 60):
                data[k] ^= 0x5A
        else:
            idx = data.rfind(b"WARC/1.", 0, data.find(start.encode()))
            data[idx : idx + 8] = b"GARBAGE!"  # the response's version line: no longer a record start
        broken = tmp_path / ("broken-" + name)
        broken.write_bytes(bytes(data))
        skipped = SkipCounter()
        urls = [d.metadata["url"] for d in read_warc(broken, skipped)]
        assert "http://site.test/5" in urls and "http://site.test/2" not in urls
        assert len(urls) == 5 and skipped.counts.get("corrupt_record", 0) >= 1
        # Truncated mid-record: earlier records survive, the run does not raise.
        cut = tmp_path / ("cut-" + name)
        cut.write_bytes(bytes(path.read_bytes()[: int(len(path.read_bytes()) * 0.7)]))
        skipped = SkipCounter()
        got = list(read_warc(cut, skipped))
        assert 2 <= len(got) < 6
        damaged = ("truncated_record", "corrupt_record", "truncated_or_bad_digest")
        assert sum(skipped.counts.get(r, 0) for r in damaged) >= 1, skipped.counts


def test_jsonl_gz_roundtrip_and_bad_lines(tmp_path):
    docs = [Document(text=f"caf\u00e9 {i}", id=str(i), metadata={"k": i}) for i in range(3)]
    for name in ["d.jsonl", "d.jsonl.gz"]:
        assert write_jsonl(docs, tmp_path / name) == 3
        back = list(read_jsonl(tmp_path / name))
        assert [(d.id, d.text, d.metadata) for d in back] == [(d.id, d.text, d.metadata) for d in docs]
    with gzip.open(tmp_path / "d.jsonl.gz", "rb") as f:
        assert json.loads(f.readline())["text"] == "caf\u00e9 0"
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\nnot json\n{"no_text": 1}\n\n{"text": "ok2"}\n')
    skipped = SkipCounter()
    assert [d.text for d in read_documents(tmp_path / "bad.jsonl", skipped=skipped)] == ["ok", "ok2"]
    assert skipped.counts == {"bad_json": 2}


def test_parquet_roundtrip_and_text_reader(tmp_path):
    docs = [Document(text="x", id="1", metadata={"url": "u"}), Document(text="y", id="2")]
    write_parquet(docs, tmp_path / "d.parquet")
    assert read_parquet(tmp_path / "d.parquet") == docs
    (tmp_path / "t.txt").write_text("one<|sep|>two")
    assert [d.text for d in read_text(tmp_path / "t.txt", separator="<|sep|>")] == ["one", "two"]
