"""Stage one of the pipeline, per input shard: read, extract, filter, write (atomically, then marked).

Each step counts what it drops by reason; an exception inside a step drops that one document under
``<step>_error`` instead of stopping the run. The shard's output and its stats marker are written
atomically, the marker last, so a shard with a marker is complete and a rerun skips it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from lmforge.core import atomic_write

from .documents import Document, SkipCounter

SCORE_BINS = 20
_BUILT: dict[str, Any] = {}


class StepStats:
    def __init__(self, name: str) -> None:
        self.name, self.docs_in, self.kept, self.seconds = name, 0, 0, 0.0
        self.dropped: dict[str, int] = {}

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "in": self.docs_in,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 4),
        }


def build_steps(config: dict[str, Any]):
    """(extractor, [(name, filter)]) for a config dict, built once per process."""
    from lmforge.core import get_part

    key = json.dumps(config, sort_keys=True)
    if key not in _BUILT:
        extractor = get_part("html_extractor", config["extract"]["extractor"])
        filters = []
        for step in config.get("filters", []):
            part = get_part("doc_filter", step["name"])(**step.get("options", {}))
            label = (
                step["name"]
                if step["name"] != "classifier"
                else f"classifier:{step['options']['classifier']}"
            )
            filters.append((label, part))
        _BUILT[key] = (extractor, filters)
    return _BUILT[key]


def _add_scores(hist: dict[str, list[int]], doc: Document) -> None:
    """Histogram every score a filter wrote, for kept and dropped documents alike."""
    for k, v in doc.metadata.items():
        if k.endswith("_score") and isinstance(v, int | float):
            bins = hist.setdefault(k, [0] * SCORE_BINS)
            bins[min(SCORE_BINS - 1, max(0, int(v * SCORE_BINS)))] += 1


def process_shard(job: tuple[str, str, str, dict[str, Any]]) -> dict[str, Any]:
    """Run stage one on one shard; returns (and writes as the done marker) the shard's stats."""
    from .readers import read_documents
    from .writers import write_jsonl

    shard_name, input_path, out_dir, config = job
    out_dir_p = Path(out_dir)
    marker = out_dir_p / f"{shard_name}.done.json"
    if marker.is_file():
        return json.loads(marker.read_text())
    extractor, filters = build_steps(config)
    read, extract = StepStats("read"), StepStats("extract")
    steps = [StepStats(f"filter:{name}") for name, _ in filters]
    skipped = SkipCounter()
    kept: list[Document] = []
    hist: dict[str, list[int]] = {}
    t = time.perf_counter()
    docs = read_documents(input_path, config["input"].get("format", "auto"), skipped)
    while True:
        try:
            doc = next(docs)
        except StopIteration:
            break
        except Exception:  # a reader bug or unreadable file: count it, keep what was read so far
            skipped.add("reader_error")
            break
        now = time.perf_counter()
        read.seconds += now - t
        read.docs_in += 1
        read.kept += 1
        if not _extract(doc, extractor, extract):
            t = time.perf_counter()
            continue
        for (name, f), st in zip(filters, steps):
            t0 = time.perf_counter()
            st.docs_in += 1
            try:
                result = f.filter(doc)
            except Exception:
                result = (False, f"{name}_error")
            st.seconds += time.perf_counter() - t0
            if result is True or (isinstance(result, tuple) and result[0]):
                st.kept += 1
                continue
            st.drop(result[1] if isinstance(result, tuple) else name)
            break
        else:
            kept.append(doc)
        _add_scores(hist, doc)
        t = time.perf_counter()
    read.seconds += time.perf_counter() - t
    for reason, n in skipped.counts.items():
        read.docs_in += n
        read.drop(reason, n)
    t0 = time.perf_counter()
    write_jsonl(kept, out_dir_p / f"{shard_name}.jsonl.gz")
    write = StepStats("write")
    write.docs_in = write.kept = len(kept)
    write.seconds = time.perf_counter() - t0
    stats = {
        "shard": shard_name,
        "input": input_path,
        "kept": len(kept),
        "steps": [s.to_json() for s in [read, extract, *steps, write]],
        "scores": hist,
    }
    atomic_write(marker, json.dumps(stats, indent=1))
    return stats


def _extract(doc: Document, extractor, stats: StepStats) -> bool:
    t0 = time.perf_counter()
    stats.docs_in += 1
    try:
        if isinstance(doc.text, bytes):
            text = extractor(doc.text, doc.metadata.get("charset"))
            if text is None:
                stats.drop("no_text")
                return False
            doc.text = text
        stats.kept += 1
        return True
    except Exception:
        stats.drop("extract_error")
        return False
    finally:
        stats.seconds += time.perf_counter() - t0
