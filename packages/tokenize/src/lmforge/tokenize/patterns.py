"""Pre-tokenization regexes and the special-token splitter.

The patterns are tiktoken's own spellings (possessive quantifiers, ``\\s++$``) so that our pure-Python
tokenizer and tiktoken cut text into exactly the same pieces.
"""

from __future__ import annotations

import re

import regex

# GPT-2 (r50k_base). Equivalent to GPT-2's published pattern; the possessive form is faster.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""

# cl100k_base: case-insensitive contractions, numbers in groups of at most 3, newlines kept apart.
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

PATTERNS = {"gpt2": GPT2_PATTERN, "cl100k": CL100K_PATTERN}

# The same patterns for pure-ASCII text, spelled with explicit ASCII classes so the standard library's
# ``re`` (about 2.5x faster than ``regex`` here) can run them. In ASCII, regex's \s is exactly
# [\t\n\v\f\r ], \p{L} is [A-Za-z] and \p{N} is [0-9]; a test checks the two agree.
_S, _NS = r"[\t\n\x0b\x0c\r ]", r"[^\t\n\x0b\x0c\r ]"
_OTHER = r"[^\t\n\x0b\x0c\r A-Za-z0-9]"
_ASCII = {
    GPT2_PATTERN: (
        rf"""'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]++| ?[0-9]++| ?{_OTHER}++|{_S}++$|{_S}+(?!{_NS})|{_S}"""
    ),
    CL100K_PATTERN: (
        rf"""'(?i:[sdmt]|ll|ve|re)|[^\r\nA-Za-z0-9]?+[A-Za-z]++|[0-9]{{1,3}}+| ?{_OTHER}++[\r\n]*+"""
        rf"""|{_S}++$|{_S}*[\r\n]|{_S}+(?!{_NS})|{_S}"""
    ),
}


def resolve_pattern(pattern: str) -> str:
    """A pattern name (``gpt2``, ``cl100k``) or a regex string -> the regex string."""
    return PATTERNS.get(pattern, pattern)


class PreTokenizer:
    """``findall(text)``: the pattern's pieces, via ``re`` when the text is ASCII and a fast form exists."""

    def __init__(self, pattern: str) -> None:
        self.pattern = resolve_pattern(pattern)
        self.regex = regex.compile(self.pattern)
        fast = _ASCII.get(self.pattern)
        self.ascii_regex = re.compile(fast) if fast else None

    def findall(self, text: str) -> list[str]:
        if self.ascii_regex is not None and text.isascii():
            return self.ascii_regex.findall(text)
        return self.regex.findall(text)


def compile_pattern(pattern: str) -> PreTokenizer:
    return PreTokenizer(pattern)


def special_splitter(special_tokens: list[str]) -> regex.Pattern | None:
    """A regex whose ``split`` keeps the specials; longest first so the longest match wins."""
    if not special_tokens:
        return None
    ordered = sorted(set(special_tokens), key=lambda s: (-len(s), s))
    return regex.compile("(" + "|".join(regex.escape(s) for s in ordered) + ")")
