"""The Gopher quality rules (Rae et al. 2021, appendix A.1), each threshold a keyword argument.

Words are whitespace-separated tokens, as in the paper's simple heuristics; a line "ends in an
ellipsis" when its stripped text ends with "..." or the single character "…".
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\S+")
_ALPHA = re.compile(r"[^\W\d_]")  # any letter, in any script


def gopher_quality_reason(
    text: str,
    *,
    min_words: int = 50,
    max_words: int = 100_000,
    min_mean_word_length: float = 3.0,
    max_mean_word_length: float = 10.0,
    max_ellipsis_line_fraction: float = 0.3,
    min_alpha_word_fraction: float = 0.8,
) -> str | None:
    """The first Gopher rule ``text`` breaks (a short reason string), or ``None`` if it passes."""
    words = _WORD.findall(text)
    n = len(words)
    if n < min_words:
        return "gopher_too_few_words"
    if n > max_words:
        return "gopher_too_many_words"
    mean_len = sum(map(len, words)) / n
    if mean_len < min_mean_word_length:
        return "gopher_mean_word_length_short"
    if mean_len > max_mean_word_length:
        return "gopher_mean_word_length_long"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines:
        ellipsis = sum(1 for line in lines if line.endswith("...") or line.endswith("\u2026"))
        if ellipsis / len(lines) > max_ellipsis_line_fraction:
            return "gopher_ellipsis_lines"
    alpha = sum(1 for w in words if _ALPHA.search(w))
    if alpha / n < min_alpha_word_fraction:
        return "gopher_non_alpha_words"
    return None


def gopher_quality_filter(text: str, **thresholds) -> bool:
    """True when ``text`` passes every Gopher rule; thresholds as in :func:`gopher_quality_reason`."""
    return gopher_quality_reason(text, **thresholds) is None


class GopherQualityFilter:
    """Doc-filter part: ``filter(doc) -> True | (False, reason)`` with the thresholds fixed at init."""

    def __init__(self, **thresholds) -> None:
        gopher_quality_reason("", **thresholds)  # reject misspelled threshold names now, not mid-run
        self.thresholds = thresholds

    def filter(self, doc) -> bool | tuple[bool, str]:
        reason = gopher_quality_reason(doc.text, **self.thresholds)
        return True if reason is None else (False, reason)
