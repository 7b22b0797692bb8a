"""The unit every step passes along: one document with its text, id and metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """One document. ``text`` is raw HTML (as ``bytes``) before extraction and ``str`` after."""

    text: str | bytes
    id: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "metadata": self.metadata}

    @classmethod
    def from_json(cls, obj: dict[str, Any], fallback_id: str) -> Document:
        text = obj.get("text", obj.get("content"))
        if not isinstance(text, str):
            raise ValueError("no string 'text' field")
        meta = {k: v for k, v in obj.items() if k not in ("text", "content", "id", "metadata")}
        meta.update(obj.get("metadata") or {})
        return cls(text=text, id=str(obj.get("id", fallback_id)), metadata=meta)


class SkipCounter:
    """Counts input that a reader could not turn into documents, by reason (``truncated_record``, ...)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, reason: str, n: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n


class DocumentSkipped(Exception):
    """An expected problem with one document (an extractor's refusal, a filter's own rejection of
    input it cannot handle): the pipeline skips the document and counts it under ``reason``.
    Any other exception is a bug and fails the shard."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
