"""The Gopher quality rules (Rae et al. 2021, "Scaling Language Models", appendix A.1.1), all of them,
each threshold a keyword argument. A document is removed when it:

1. has fewer than 50 or more than 100,000 words;
2. has a mean word length outside 3 to 10 characters;
3. has a symbol-to-word ratio above 0.1 for the hash symbol or for the ellipsis (each on its own);
4. has more than 90% of its lines starting with a bullet point;
5. has more than 30% of its lines ending with an ellipsis;
6. has fewer than 80% of its words containing at least one alphabetic character;
7. contains fewer than two of the stop words "the, be, to, of, and, that, have, with".

Words: the paper does not name a tokenizer; its rules are "simple heuristics" on words, so a word
here is a whitespace-separated token with the punctuation at its two ends stripped ("end." counts as
"end", 4 characters), and a token that is only punctuation or symbols ("-", "|", "...", "#") is not
a word. This keeps separators and markup from counting as short words in rules 1, 2 and 6, and lets
"The" and "the," both match the stop word "the" (compared lowercase). Rule 7 counts distinct stop
words ("at least two of the following words"). Symbols: "#" occurrences and ellipses ("..." or "…")
in the whole text, each divided by the word count. Lines: non-blank lines; a bullet is one of
``BULLETS`` after leading whitespace; an ellipsis line ends (after trailing whitespace) with "..." or "…".
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"\S+")
_ALPHA = re.compile(r"[^\W\d_]")  # any letter, in any script
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
BULLETS = ("•", "‣", "◦", "⁃", "●", "○", "▪", "▫", "■", "□", "-", "*", "–", "—", "·")


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def words(text: str) -> list[str]:
    """The words Gopher's rules count (see the module docstring)."""
    out = []
    for token in _TOKEN.findall(text):
        start, end = 0, len(token)
        while start < end and _is_punct(token[start]):
            start += 1
        while end > start and _is_punct(token[end - 1]):
            end -= 1
        if start < end:
            out.append(token[start:end])
    return out


def gopher_quality_reason(
    text: str,
    *,
    min_words: int = 50,
    max_words: int = 100_000,
    min_mean_word_length: float = 3.0,
    max_mean_word_length: float = 10.0,
    max_hash_word_ratio: float = 0.1,
    max_ellipsis_word_ratio: float = 0.1,
    max_bullet_line_fraction: float = 0.9,
    max_ellipsis_line_fraction: float = 0.3,
    min_alpha_word_fraction: float = 0.8,
    min_stop_words: int = 2,
    stop_words: tuple[str, ...] | list[str] = STOP_WORDS,
) -> str | None:
    """The first Gopher rule ``text`` breaks (a short reason string), or ``None`` if it passes."""
    ws = words(text)
    n = len(ws)
    if n < min_words:
        return "gopher_too_few_words"
    if n > max_words:
        return "gopher_too_many_words"
    mean_len = sum(map(len, ws)) / n
    if mean_len < min_mean_word_length:
        return "gopher_mean_word_length_short"
    if mean_len > max_mean_word_length:
        return "gopher_mean_word_length_long"
    if text.count("#") / n > max_hash_word_ratio:
        return "gopher_hash_ratio"
    if (text.count("...") + text.count("\u2026")) / n > max_ellipsis_word_ratio:
        return "gopher_ellipsis_ratio"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines:
        if sum(1 for line in lines if line.startswith(BULLETS)) / len(lines) > max_bullet_line_fraction:
            return "gopher_bullet_lines"
        ellipsis = sum(1 for line in lines if line.endswith(("...", "\u2026")))
        if ellipsis / len(lines) > max_ellipsis_line_fraction:
            return "gopher_ellipsis_lines"
    if sum(1 for w in ws if _ALPHA.search(w)) / n < min_alpha_word_fraction:
        return "gopher_non_alpha_words"
    if min_stop_words > 0:
        wanted = {w.lower() for w in stop_words}
        if len(wanted & {w.lower() for w in ws}) < min_stop_words:
            return "gopher_stop_words"
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
