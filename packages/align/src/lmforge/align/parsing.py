"""Pulling the answer out of a model's free text."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_LETTER = re.compile(r"\b([A-Z])\b")


def parse_gsm8k_response(text: str) -> str | None:
    """The last number in ``text`` (commas dropped), or None: GSM8K's usual lenient grading."""
    numbers = _NUMBER.findall(text)
    if not numbers:
        return None
    value = numbers[-1].replace(",", "")
    return value.rstrip(".") or None


def parse_mmlu_response(example: dict, text: str) -> str | None:
    """The option letter the response chose, or None.

    Looks for "answer is X" first (the form the prompt asks for), then for a lone capital letter that
    is one of the example's options.
    """
    letters = [chr(ord("A") + i) for i in range(len(example.get("options", "ABCD")))]
    explicit = re.search(r"answer is:?\s*\(?([A-Z])\b", text, flags=re.IGNORECASE)
    if explicit and explicit.group(1).upper() in letters:
        return explicit.group(1).upper()
    for letter in _LETTER.findall(text):
        if letter in letters:
            return letter
    return None
