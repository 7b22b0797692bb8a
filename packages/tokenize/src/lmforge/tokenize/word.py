"""``word``: words, whitespace runs and punctuation marks from a regex; vocabulary from a corpus.

The default regex keeps every character (so decode(encode(text)) == text for known units) and never
matches across a non-space/space boundary, which lets text be streamed and split safely.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from .vocab_tokenizer import VocabTokenizer

WORD_PATTERN = r"\w+|\s+|[^\w\s]"


class WordTokenizer(VocabTokenizer):
    """Words, whitespace and punctuation split by a regex; optionally capped at the N most frequent."""

    name = "word"

    def __init__(self, units: Sequence[str], special_tokens: list[str] | None = None,
                 pattern: str = WORD_PATTERN) -> None:
        super().__init__(units, special_tokens)
        self.pattern = pattern
        self._regex = regex.compile(pattern)

    def split(self, text: str) -> list[str]:
        return self._regex.findall(text)

    def _extra_meta(self) -> dict:
        return {"pattern": self.pattern}
