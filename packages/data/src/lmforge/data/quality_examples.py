"""``lmforge data quality-examples``: labelled training text for a quality classifier (CS336 A4).

Positives (``wiki``) are the pages of a WARC made from a list of good URLs (``lmforge data
fetch-urls``, as A4 does with the pages Wikipedia cites); negatives (``cc``) are a seeded random
sample of the pages of a crawl WARC (Common Crawl), as many as the positives unless told otherwise.
Both sides are extracted with the pipeline's extractor (charset checked, as in a run); pages with
less than ``min_chars`` characters of text, or whose text already appeared, are skipped and counted.
The output is JSONL (``text``, ``label``, ``url``) that ``lmforge data train-classifier --task
quality --data FILE`` trains on and evaluates on a held-out part.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from . import storage
from .documents import DocumentSkipped, SkipCounter

LABELS = {"positive": "wiki", "negative": "cc"}


def _texts(warcs: list[str], extractor, counts: dict[str, int], seen: set[int]) -> Iterator[dict[str, Any]]:
    from .extract import decode_html_checked
    from .readers import read_warc

    skipped = SkipCounter()
    for warc in warcs:
        for doc in read_warc(warc, skipped):
            counts["pages"] += 1
            page, _ = decode_html_checked(doc.text, doc.metadata.get("charset"))
            try:
                text = extractor(page)
            except DocumentSkipped:  # an extractor's refusal, as in a pipeline run
                text = None
            if text is None or len(text.strip()) < counts["min_chars"]:
                counts["too_short"] += 1
                continue
            key = hash(text.strip())
            if key in seen:
                counts["duplicate"] += 1
                continue
            seen.add(key)
            yield {"text": text, "url": doc.metadata.get("url")}
    for reason, n in skipped.counts.items():
        counts[f"read_{reason}"] = counts.get(f"read_{reason}", 0) + n


def quality_examples(
    positives: list[str],
    negatives: list[str],
    out: str,
    *,
    max_negatives: int | None = None,
    min_chars: int = 200,
    extractor: str | dict = "resiliparse",
    seed: int = 0,
) -> dict[str, Any]:
    """Write labelled examples to ``out`` (JSONL, local or a URL); returns the counts per side."""
    from lmforge.core import LmforgeError, bind_part

    extract = bind_part("html_extractor", extractor, "extractor")
    seen: set[int] = set()  # a text on both sides would teach nothing: the first side keeps it
    pos_counts = {"pages": 0, "too_short": 0, "duplicate": 0, "min_chars": min_chars}
    pos = list(_texts(positives, extract, pos_counts, seen))
    if not pos:
        raise LmforgeError(f"no positive page with {min_chars}+ characters of text in {positives}")
    k = len(pos) if max_negatives is None else max_negatives
    neg_counts = {"pages": 0, "too_short": 0, "duplicate": 0, "min_chars": min_chars}
    rng = random.Random(seed)
    neg: list[dict[str, Any]] = []
    candidates = 0
    for row in _texts(negatives, extract, neg_counts, seen):  # a reservoir sample: crawls are big
        candidates += 1
        if len(neg) < k:
            neg.append(row)
        elif (j := rng.randrange(candidates)) < k:
            neg[j] = row
    if not neg:
        raise LmforgeError(f"no negative page with {min_chars}+ characters of text in {negatives}")
    with storage.open_atomic(out) as f:
        for label, rows in ((LABELS["positive"], pos), (LABELS["negative"], neg)):
            for row in rows:
                line = {"text": row["text"], "label": label, "url": row["url"]}
                f.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
    for c in (pos_counts, neg_counts):
        c.pop("min_chars")
    return {
        "out": out,
        "positives": {"label": LABELS["positive"], "written": len(pos), **pos_counts},
        "negatives": {
            "label": LABELS["negative"],
            "written": len(neg),
            "sampled_from": candidates,
            **neg_counts,
        },
        "next": f"lmforge data train-classifier --task quality --data {out} --name NAME",
    }
