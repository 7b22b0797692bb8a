"""Readers: WARC / WET through FastWARC, JSONL(.gz) and plain text, each yielding Documents.

Bad input never raises out of a reader: it is skipped and counted in a ``SkipCounter`` under its
reason. WARC files are read record by record; when the stream breaks (a corrupt gzip member, a
garbled header) the reader searches forward for the next record start (a gzip member header in a
``.gz`` file, ``WARC/1.`` in a plain one) and carries on, so one bad record costs only itself.
"""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from . import storage
from .documents import Document, SkipCounter

# Pages larger than this are skipped as "record_too_large": real HTML rarely exceeds it, and one
# gigantic record would otherwise dominate a worker's memory and time.
MAX_RECORD_BYTES = 10 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b\x08"
_MAX_RESYNCS = 10_000


def _is_gzip(path: str) -> bool:
    with storage.open_read(path) as f:
        return f.read(3) == _GZIP_MAGIC


def _plain_record_end(m, start: int, content_length: int) -> int:
    """Where an uncompressed record starting at ``start`` ends: headers, blank line, block, CRLF CRLF."""
    header_end = m.find(b"\r\n\r\n", start)
    return -1 if header_end < 0 else header_end + 4 + content_length + 4


def _iter_records(
    path: str, record_type, skipped: SkipCounter, start: int = 0, end: int | None = None
) -> Iterator:
    """FastWARC records of ``record_type``, resyncing past corrupt stretches.

    FastWARC skips unparseable bytes in an uncompressed file silently, so there the byte gap between
    one record's end and the next record's start is checked: a gap is a corrupt record, counted.
    A trailing record start that yielded nothing is a truncated record. With ``start`` / ``end``
    only records that start in that byte range are read (a byte-range shard; ``start`` is a record
    start found by :func:`split_points`).
    """
    from fastwarc.warc import ArchiveIterator

    size = storage.size(path)
    if size == 0:
        return
    gz = _is_gzip(path)
    end = size if end is None else min(end, size)
    offset = start
    with storage.byte_view(path) as m:  # an mmap locally; windows read on demand from object storage
        for _ in range(_MAX_RESYNCS):
            last_start, expected_next = offset, offset
            with storage.open_read(path) as f:
                f.seek(offset)
                try:
                    # Every record type is iterated (and filtered here) so that ``last_start`` tracks
                    # the last record that parsed, wherever the stream breaks.
                    for record in ArchiveIterator(f, parse_http=False):
                        pos = record.stream_pos
                        last_start = pos + offset if pos < offset else pos  # absolute either way
                        if last_start >= end:
                            return  # the next range's first record
                        if not gz:
                            if last_start > expected_next + 4:
                                skipped.add("corrupt_record")
                            expected_next = _plain_record_end(m, last_start, record.content_length or 0)
                        if record.headers.get("Content-Length") is None:
                            skipped.add("truncated_record")  # its header block was cut off
                        elif record.record_type == record_type:
                            yield record
                except OSError:
                    skipped.add("corrupt_record")
                else:
                    if (
                        m.find(_GZIP_MAGIC, last_start + 1, end) >= 0
                        if gz
                        else end > expected_next + 4 and m.find(b"WARC/1.", expected_next, end) >= 0
                    ):
                        skipped.add("truncated_record")
                    return
            nxt = m.find(_GZIP_MAGIC if gz else b"WARC/1.", max(last_start, offset) + 1, end)
            if nxt < 0:
                return
            offset = nxt


def _target_uri(record) -> str | None:
    uri = record.headers.get("WARC-Target-URI")
    # wget writes WARC 1.0 target URIs inside angle brackets.
    return uri[1:-1] if uri and uri.startswith("<") and uri.endswith(">") else uri


def read_warc(
    path: str | Path,
    skipped: SkipCounter | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
    byte_range: tuple[int, int] | None = None,
) -> Iterator[Document]:
    """HTTP response records of a ``.warc`` / ``.warc.gz`` file as Documents whose ``text`` is the raw
    payload bytes; metadata: url, record_id, date, content_type, charset, source."""
    from fastwarc.warc import WarcRecordType

    path, name = str(path), storage.name_of(path)
    skipped = skipped if skipped is not None else SkipCounter()
    for record in _iter_records(path, WarcRecordType.response, skipped, *(byte_range or (0, None))):
        try:
            declared = record.content_length
            if declared is not None and declared > max_record_bytes:
                skipped.add("record_too_large")
                continue
            record.parse_http()
            if not record.is_http:
                skipped.add("not_http")
                continue
            # A record cut short (truncated file, damaged member) fails its payload digest.
            if "WARC-Payload-Digest" in record.headers and not record.verify_payload_digest(consume=False):
                skipped.add("truncated_or_bad_digest")
                continue
            payload = record.reader.read()
            expected = record.http_headers.get("Content-Length")
            if expected and expected.isdigit() and len(payload) < int(expected):
                skipped.add("truncated_record")
                continue
            content_type = record.http_content_type or ""
            if content_type and "html" not in content_type and "xml" not in content_type:
                skipped.add("not_html")
                continue
            date = record.record_date
            yield Document(
                text=payload,
                id=record.record_id or f"{name}:{record.stream_pos}",
                metadata={
                    "url": _target_uri(record),
                    "record_id": record.record_id,
                    "date": date.isoformat() if date is not None else None,
                    "content_type": content_type or None,
                    "charset": record.http_charset,
                    "source": str(path),
                },
            )
        except (OSError, ValueError):
            skipped.add("corrupt_record")


def read_wet(
    path: str | Path, skipped: SkipCounter | None = None, byte_range: tuple[int, int] | None = None
) -> Iterator[Document]:
    """Conversion (plain-text) records of a WET file as Documents with ``str`` text."""
    from fastwarc.warc import WarcRecordType

    path, name = str(path), storage.name_of(path)
    skipped = skipped if skipped is not None else SkipCounter()
    for record in _iter_records(path, WarcRecordType.conversion, skipped, *(byte_range or (0, None))):
        try:
            text = record.reader.read().decode("utf-8", errors="replace")
            yield Document(
                text=text,
                id=record.record_id or f"{name}:{record.stream_pos}",
                metadata={
                    "url": record.headers.get("WARC-Target-URI"),
                    "record_id": record.record_id,
                    "source": str(path),
                },
            )
        except (OSError, ValueError):
            skipped.add("corrupt_record")


@contextlib.contextmanager
def _open_binary(path: str):
    with storage.open_read(path) as f:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=f, mode="rb") as g:
                yield g
        else:
            yield f


def read_jsonl(
    path: str | Path, skipped: SkipCounter | None = None, byte_range: tuple[int, int] | None = None
) -> Iterator[Document]:
    """One Document per line of a ``.jsonl`` or ``.jsonl.gz`` file (field ``text``, optional ``id``).

    Lines are decoded one at a time, so a bad byte costs its own line (``undecodable``) and a line that
    is not a JSON object with a string ``text`` costs only itself (``bad_json``). ``byte_range``
    (uncompressed files; its start a line start from :func:`split_points`) reads the lines that start
    inside it. A document without an ``id`` gets ``<file name>:<byte offset of its line>``.
    """
    path, name = str(path), storage.name_of(path)
    skipped = skipped if skipped is not None else SkipCounter()
    start, end = byte_range or (0, None)
    with _open_binary(path) as f:  # a missing file raises: it is not bad input, it is no input
        try:
            if start:
                f.seek(start)
            pos = start
            for raw in f:
                if end is not None and pos >= end:
                    return
                line_at, pos = pos, pos + len(raw)
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    skipped.add("undecodable")
                    continue
                if not line.strip():
                    continue
                try:
                    yield Document.from_json(json.loads(line), fallback_id=f"{name}:{line_at}")
                except (ValueError, AttributeError):
                    skipped.add("bad_json")
        except (OSError, EOFError):  # a damaged gzip stream: what was read before it is kept
            skipped.add("corrupt_file")


def read_text(
    path: str | Path, skipped: SkipCounter | None = None, separator: str | None = None
) -> Iterator[Document]:
    """A plain-text file as one Document, or several split on ``separator``."""
    path, name = str(path), storage.name_of(path)
    skipped = skipped if skipped is not None else SkipCounter()
    try:
        data = storage.read_bytes(path)
        data = gzip.decompress(data) if path.endswith(".gz") else data
    except (OSError, EOFError):
        skipped.add("corrupt_file")
        return
    text = data.decode("utf-8", errors="replace")
    parts = text.split(separator) if separator else [text]
    for i, part in enumerate(parts):
        yield Document(text=part, id=f"{name}:{i}", metadata={"source": str(path)})


READERS = {"warc": read_warc, "wet": read_wet, "jsonl": read_jsonl, "text": read_text}


def guess_format(path: str | Path) -> str:
    name = storage.name_of(path).lower()
    if name.endswith((".warc", ".warc.gz")):
        return "warc"
    if name.endswith((".wet", ".wet.gz", ".warc.wet.gz")):
        return "wet"
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
        return "jsonl"
    return "text"


def read_documents(
    path: str | Path,
    fmt: str = "auto",
    skipped: SkipCounter | None = None,
    byte_range: tuple[int, int] | None = None,
) -> Iterator[Document]:
    """Documents of any supported file; ``fmt`` is ``auto`` (by suffix) or a key of ``READERS``;
    ``byte_range`` (from :func:`split_points`) reads one byte-range shard of a splittable file."""
    fmt = guess_format(path) if fmt == "auto" else fmt
    if fmt not in READERS:
        from lmforge.core import ConfigError

        raise ConfigError(f"unknown reader {fmt!r}; known: auto, {', '.join(READERS)}")
    if byte_range is None:
        return READERS[fmt](path, skipped)
    return READERS[fmt](path, skipped, byte_range=byte_range)


def split_points(path: str | Path, fmt: str, shard_bytes: int) -> list[int]:
    """Start offsets of byte-range shards of about ``shard_bytes`` each: ``[0]`` when the file is small
    or cannot be split (gzipped JSONL, plain text). Each start is a line start (JSONL) or a record
    start (WARC / WET, gzipped per record or not), so every document lies in exactly one range."""
    path = str(path)
    fmt = guess_format(path) if fmt == "auto" else fmt
    size = storage.size(path)
    if shard_bytes <= 0 or size <= shard_bytes or fmt == "text":
        return [0]
    if fmt == "jsonl" and _is_gzip(path):
        return [0]
    n = -(-size // shard_bytes)
    starts = [0]
    with storage.byte_view(path) as m:
        find = _next_line_start if fmt == "jsonl" else _next_record_start
        gz = _is_gzip(path)
        for k in range(1, n):
            at = find(m, max(k * size // n, starts[-1] + 1), gz)
            if at < 0:
                break
            if at > starts[-1]:
                starts.append(at)
    return starts


def _next_line_start(m, at: int, gz: bool) -> int:
    nl = m.find(b"\n", at - 1)
    return -1 if nl < 0 or nl + 1 >= len(m) else nl + 1


def _next_record_start(m, at: int, gz: bool) -> int:
    """The first offset >= ``at`` where a WARC record starts (checked, not just a matching byte pattern)."""
    import zlib

    while True:
        at = m.find(_GZIP_MAGIC if gz else b"WARC/1.", at)
        if at < 0:
            return -1
        if gz:
            try:
                head = zlib.decompressobj(wbits=31).decompress(m[at : at + 4096], 16)
            except zlib.error:
                head = b""
            if head.startswith(b"WARC/"):
                return at
        elif m[max(0, at - 4) : at] == b"\r\n\r\n":
            return at
        at += 1
