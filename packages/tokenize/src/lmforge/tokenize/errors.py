"""Errors raised by lmforge.tokenize for bad input (shown to CLI users as one line)."""

from lmforge.core import LmforgeError


class TokenizerError(LmforgeError, ValueError):
    """Bad input to a tokenizer or trainer: an unknown id, a vocabulary too small, a missing file."""
