"""Texts for parity tests and benchmarks: varied scripts, code, specials; real English prose."""

from __future__ import annotations

VARIED_TEXTS = [
    "Hello world! It's 2024, isn't it?  \n\n  Lots   of spaces\t\tand tabs\n",
    "日本語のテキストと中文文本，한국어 텍스트。",
    "emoji: 😀👍🏽 👨‍👩‍👧‍👦 🇫🇷 ✨",
    "def f(x: int) -> int:\n    return x ** 2  # square\n\n\nclass A:\n\tpass\n",
    "numbers 1234567 3.14159 -42 1e-10 0x1F",
    "a<|endoftext|>b<|endoftext|><|endoftext|> c",
    "  leading and trailing   ",
    "\n\n\n\r\n\r\n",
    "I'm you're he'll we've they'd IT'S 'tis",
    "café naïve façade Ångström ﬁ",
    "",
]


def english_text(n_chars: int = 130_000) -> str:
    """Real English prose that every Python installation ships (the help topics of pydoc)."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))
    return text[:n_chars]
