"""Stage one of the pipeline, per input shard: read, extract, filter, write, then mark done.

Expected per-document problems are skipped and counted by reason, one document at a time: a reader's
bad record or line (counted by the reader), an extractor that finds no text or raises
:class:`DocumentSkipped`, a filter's ``(False, reason)``. Any other exception is a bug: the shard
stops, its partial output is discarded, no done marker is written, and the returned result names the
step, the shard and the document so the run can fail loudly.

Kept documents are streamed to the shard's output as they pass (and dropped ones, with their reason,
to ``excluded/`` when the exclusion writer is on); both files appear atomically, the marker last.
The marker holds the shard's stats and its input's signature: a changed input is redone.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

from lmforge.core import PartRef, bind_part

from . import storage
from .documents import Document, DocumentSkipped, SkipCounter
from .parts import build

SCORE_BINS = 20
_BUILT: dict[str, Any] = {}


@dataclass(frozen=True)
class ShardJob:
    name: str
    input_path: str
    out_dir: str  # stage one's folder
    config: dict[str, Any]
    signature: dict[str, Any]  # the input's size and mtime or hash (see inputs.input_signature)
    excluded_dir: str | None = None  # where dropped documents go, with their reason (None: nowhere)
    byte_range: tuple[int, int] | None = None  # one byte-range shard of a large input


class StepStats:
    def __init__(self, name: str) -> None:
        self.name, self.docs_in, self.kept, self.seconds = name, 0, 0, 0.0
        self.dropped: dict[str, int] = {}
        self.noted: dict[str, int] = {}  # counted but not dropped (``charset_mismatch``)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def note(self, what: str) -> None:
        self.noted[what] = self.noted.get(what, 0) + 1

    def to_json(self) -> dict[str, Any]:
        out = {
            "step": self.name,
            "in": self.docs_in,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 4),
        }
        if self.noted:
            out["noted"] = dict(sorted(self.noted.items()))
        return out


def filter_label(step: str | dict[str, Any]) -> str:
    """``gopher``, ``classifier:nsfw``, ``classifier:fasttext(<model>)``: the filter's name in the stats."""
    ref = PartRef.parse(step, "filter")
    if ref.name != "classifier":
        return ref.name
    clf = PartRef.parse(ref.options.get("classifier", "?"), "filter classifier")
    model = clf.options.get("model")
    return f"classifier:{clf.name}" + (f"({model})" if model else "")


def build_steps(config: dict[str, Any]):
    """(extractor, [(label, filter)]) for a config dict, built once per process.

    A doc_filter part is a class: ``part(**options)`` builds it, ``.filter(doc)`` runs it."""
    key = json.dumps(config, sort_keys=True)
    if key not in _BUILT:
        extractor = bind_part("html_extractor", config["extract"]["extractor"], "extract.extractor")
        filters = [
            (filter_label(step), build("doc_filter", step, "filter")) for step in config.get("filters", [])
        ]
        _BUILT[key] = (extractor, filters)
    return _BUILT[key]


def _add_scores(hist: dict[str, list[int]], doc: Document) -> None:
    """Histogram every score a filter wrote, for kept and dropped documents alike."""
    for k, v in doc.metadata.items():
        if k.endswith("_score") and isinstance(v, int | float):
            bins = hist.setdefault(k, [0] * SCORE_BINS)
            bins[min(SCORE_BINS - 1, max(0, int(v * SCORE_BINS)))] += 1


class _JsonlStream:
    """Documents appended one at a time to an atomically published ``.jsonl.gz``."""

    def __init__(self, stack: contextlib.ExitStack, path: str) -> None:
        raw = stack.enter_context(storage.open_atomic(path))
        # mtime=0 keeps the bytes identical across runs (resume and executor parity tests).
        self.gz = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="wb", mtime=0))
        self.count = 0

    def write(self, doc: Document) -> None:
        self.gz.write((json.dumps(doc.to_json(), ensure_ascii=False) + "\n").encode("utf-8"))
        self.count += 1


def marker_path(out_dir: str, name: str) -> str:
    return storage.join(out_dir, f"{name}.done.json")


def shard_output(out_dir: str, name: str) -> str:
    return storage.join(out_dir, f"{name}.jsonl.gz")


def process_shard(job: ShardJob) -> dict[str, Any]:
    """Run stage one on one shard; returns its stats (also written as the done marker), or
    ``{"shard", "failed": {step, document, error, traceback}}`` when a step raised unexpectedly."""
    out_dir = job.out_dir
    marker = marker_path(out_dir, job.name)
    if storage.isfile(marker) and storage.isfile(shard_output(out_dir, job.name)):
        stats = json.loads(storage.read_text(marker))
        if stats.get("input_signature") == job.signature:
            return stats
        storage.remove(marker)  # its input changed: redo
    where = {"step": "read", "document": None}
    try:
        return _run_shard(job, out_dir, marker, where)
    except Exception as e:  # a bug: reported with its place, never counted as a drop
        return {
            "shard": job.name,
            "input": job.input_path,
            "failed": {
                **where,
                "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(),
            },
        }


def _run_shard(job: ShardJob, out_dir: str, marker: str, where: dict[str, Any]) -> dict[str, Any]:
    from .readers import read_documents

    config = job.config
    extractor, filters = build_steps(config)
    read, extract = StepStats("read"), StepStats("extract")
    steps = [StepStats(f"filter:{label}") for label, _ in filters]
    skipped = SkipCounter()
    hist: dict[str, list[int]] = {}
    with contextlib.ExitStack() as stack:
        kept = _JsonlStream(stack, shard_output(out_dir, job.name))
        excluded = (
            _JsonlStream(stack, storage.join(job.excluded_dir, f"{job.name}.jsonl.gz"))
            if job.excluded_dir
            else None
        )
        docs = read_documents(job.input_path, config["input"].get("format", "auto"), skipped, job.byte_range)
        t = time.perf_counter()
        for doc in docs:
            read.seconds += time.perf_counter() - t
            read.docs_in += 1
            read.kept += 1
            where["document"] = doc.id
            dropped = _extract(doc, extractor, extract, where)
            if dropped is None:
                for (_, f), st in zip(filters, steps):
                    where["step"] = st.name
                    dropped = _apply(f, doc, st)
                    if dropped is not None:
                        dropped = (st.name, dropped)
                        break
            if dropped is None:
                kept.write(doc)
            elif excluded is not None:
                _write_excluded(excluded, doc, *dropped)
            _add_scores(hist, doc)
            where["step"], where["document"] = "read", f"after {doc.id}"
            t = time.perf_counter()
        read.seconds += time.perf_counter() - t
    for reason, n in skipped.counts.items():
        read.docs_in += n
        read.drop(reason, n)
    write = StepStats("write")
    write.docs_in = write.kept = kept.count
    stats = {
        "shard": job.name,
        "input": job.input_path,
        "input_signature": job.signature,
        "kept": kept.count,
        "steps": [s.to_json() for s in [read, extract, *steps, write]],
        "scores": hist,
    }
    storage.write_atomic(marker, json.dumps(stats, indent=1))
    return stats


def _write_excluded(stream: _JsonlStream, doc: Document, step: str, reason: str) -> None:
    if isinstance(doc.text, bytes):
        from .extract import decode_html

        doc.text = decode_html(doc.text, doc.metadata.get("charset"))
    doc.metadata["excluded_step"], doc.metadata["excluded_reason"] = step, reason
    stream.write(doc)


def _apply(f, doc: Document, stats: StepStats) -> str | None:
    """Run one filter; the drop reason, or None when the document passes."""
    t0 = time.perf_counter()
    stats.docs_in += 1
    try:
        result = f.filter(doc)
    except DocumentSkipped as e:
        result = (False, e.reason)
    finally:
        stats.seconds += time.perf_counter() - t0
    if result is True or (isinstance(result, tuple) and result[0]):
        stats.kept += 1
        return None
    if result is False:
        result = (False, stats.name.removeprefix("filter:"))
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str)):
        raise TypeError(
            f"{stats.name} returned {result!r}; a doc_filter returns True, False or (False, reason)"
        )
    stats.drop(result[1])
    return result[1]


def _extract(doc: Document, extractor, stats: StepStats, where: dict[str, Any]) -> tuple[str, str] | None:
    """Decode and extract raw HTML in place; ``("extract", reason)`` when the document is dropped."""
    where["step"] = "extract"
    t0 = time.perf_counter()
    stats.docs_in += 1
    try:
        if isinstance(doc.text, bytes):
            from .extract import decode_html_checked

            page, mismatch = decode_html_checked(doc.text, doc.metadata.get("charset"))
            if mismatch:
                stats.note("charset_mismatch")
            try:
                text = extractor(page)
            except DocumentSkipped as e:
                stats.drop(e.reason)
                return "extract", e.reason
            if text is None:
                stats.drop("no_text")
                return "extract", "no_text"
            doc.text = text
        stats.kept += 1
        return None
    finally:
        stats.seconds += time.perf_counter() - t0
