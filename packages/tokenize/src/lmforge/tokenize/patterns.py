"""Pre-tokenization regexes and the special-token splitter.

The patterns are tiktoken's own spellings (possessive quantifiers, ``\\s++$``) so that our pure-Python
tokenizer and tiktoken cut text into exactly the same pieces.
"""

from __future__ import annotations

import regex

# GPT-2 (r50k_base). Equivalent to GPT-2's published pattern; the possessive form is faster.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""

# cl100k_base: case-insensitive contractions, numbers in groups of at most 3, newlines kept apart.
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

PATTERNS = {"gpt2": GPT2_PATTERN, "cl100k": CL100K_PATTERN}


def resolve_pattern(pattern: str) -> str:
    """A pattern name (``gpt2``, ``cl100k``) or a regex string -> the regex string."""
    return PATTERNS.get(pattern, pattern)


def compile_pattern(pattern: str) -> regex.Pattern:
    return regex.compile(resolve_pattern(pattern))


def special_splitter(special_tokens: list[str]) -> regex.Pattern | None:
    """A regex whose ``split`` keeps the specials; longest first so the longest match wins."""
    if not special_tokens:
        return None
    ordered = sorted(set(special_tokens), key=lambda s: (-len(s), s))
    return regex.compile("(" + "|".join(regex.escape(s) for s in ordered) + ")")
