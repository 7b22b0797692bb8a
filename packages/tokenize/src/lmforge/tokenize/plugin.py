"""lmforge-tokenize plugin: registers this package's parts with the lmforge host.

Each part is a lazy stand-in for its class (calling it or its classmethods imports the real module),
so listing plugins stays fast.
"""

from lmforge.core import hookimpl

from .lazy import lazy_class

_PKG = "lmforge.tokenize."


@hookimpl
def register_tokenizers(register):
    register("bpe", lazy_class(_PKG + "bpe", "BPETokenizer",
                               "Byte-level BPE as GPT-2 uses it (pure Python, cached pre-tokens)."))
