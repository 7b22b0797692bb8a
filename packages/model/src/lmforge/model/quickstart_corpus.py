"""The quickstart's corpus: text that ships with every Python, so nothing is downloaded.

Standard-library sources (without the test suites, which are mostly repetitive fixtures) and the
``pydoc_data`` help topics, in a fixed shuffled order, cut at a byte budget, documents separated by
``<|endoftext|>``.
"""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

EOT = "<|endoftext|>"
SKIP_PARTS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__", "encodings"}


def stdlib_documents() -> list[tuple[str, str]]:
    """(name, text) of every stdlib source file and help topic, in a fixed order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    docs = []
    for path in sorted(root.rglob("*.py")):
        if SKIP_PARTS & set(path.relative_to(root).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if EOT not in text and text.strip():
            docs.append((str(path.relative_to(root)), text))
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions strip pydoc_data
        topics = {}
    docs += [(f"pydoc:{name}", text) for name, text in sorted(topics.items()) if EOT not in text]
    random.Random(0).shuffle(docs)  # mix topics and modules so the validation tail is typical
    return docs


def build_corpus(out_path: Path, max_bytes: int) -> dict:
    """Write at most ``max_bytes`` of documents to ``out_path``; return what went in."""
    docs = stdlib_documents()
    if not docs:
        raise RuntimeError("found no standard-library sources to build the corpus from")
    written, used = 0, 0
    with open(out_path, "w", encoding="utf-8") as f:
        for _, text in docs:
            chunk = text + EOT
            size = len(chunk.encode("utf-8"))
            if written + size > max_bytes and used:
                break
            f.write(chunk)
            written += size
            used += 1
    return {"documents": used, "available": len(docs), "bytes": written}
