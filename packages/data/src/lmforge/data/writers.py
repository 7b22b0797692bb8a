"""Writers: JSONL (optionally gzipped) and Parquet (polars), each atomic (temp file + rename)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from pathlib import Path

from . import storage
from .documents import Document


def write_jsonl(docs: Iterable[Document], path: str | Path) -> int:
    """Write one JSON object per line; gzip when ``path`` ends in ``.gz``. Returns the count."""
    path = str(path)
    n = 0
    with storage.open_atomic(path) as raw:
        # mtime=0 keeps gzip output byte-identical across runs (resume and executor parity tests).
        out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.endswith(".gz") else raw
        for doc in docs:
            out.write((json.dumps(doc.to_json(), ensure_ascii=False) + "\n").encode("utf-8"))
            n += 1
        if out is not raw:
            out.close()  # writes the gzip trailer; the underlying temp file stays open for the rename
    return n


def write_parquet(docs: Iterable[Document], path: str | Path) -> int:
    """Write columns id, text, metadata (a JSON string: metadata keys differ between documents)."""
    import polars as pl

    rows = list(docs)
    frame = pl.DataFrame(
        {
            "id": [d.id for d in rows],
            "text": [d.text for d in rows],
            "metadata": [json.dumps(d.metadata, ensure_ascii=False, sort_keys=True) for d in rows],
        },
        schema={"id": pl.String, "text": pl.String, "metadata": pl.String},
    )
    with storage.open_atomic(path) as f:
        frame.write_parquet(f)
    return len(rows)


def read_parquet(path: str | Path) -> list[Document]:
    import polars as pl

    frame = pl.read_parquet(io.BytesIO(storage.read_bytes(path)))
    return [
        Document(text=t, id=i, metadata=json.loads(m))
        for i, t, m in zip(frame["id"], frame["text"], frame["metadata"])
    ]


WRITERS = {
    "jsonl": (write_jsonl, ".jsonl"),
    "jsonl.gz": (write_jsonl, ".jsonl.gz"),
    "parquet": (write_parquet, ".parquet"),
}
