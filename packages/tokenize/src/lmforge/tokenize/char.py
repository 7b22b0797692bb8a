"""``char``: one id per Unicode character seen in the training text; others map to the unknown id."""

from __future__ import annotations

from .vocab_tokenizer import VocabTokenizer


class CharTokenizer(VocabTokenizer):
    """One id per Unicode character (vocabulary from a corpus), with an unknown-character id."""

    name = "char"

    def split(self, text: str) -> list[str]:
        return list(text)
