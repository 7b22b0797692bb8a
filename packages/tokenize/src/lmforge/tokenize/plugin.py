"""lmforge-tokenize plugin: registers this package's parts with the lmforge host.

Each part is a lazy stand-in for its class or function (calling it, or its classmethods, imports the
real module), so listing plugins stays fast.
"""

from lmforge.core import hookimpl

from .lazy import lazy_class

_PKG = "lmforge.tokenize."


@hookimpl
def register_tokenizers(register):
    register("bpe", lazy_class(_PKG + "bpe", "BPETokenizer",
                               "Byte-level BPE as GPT-2 uses it (pure Python, cached pre-tokens)."))
    register("char", lazy_class(_PKG + "char", "CharTokenizer",
                                "One id per Unicode character seen in a corpus, plus an unknown id."))
    register("byte", lazy_class(_PKG + "byte_level", "ByteTokenizer",
                                "UTF-8 bytes as ids 0-255, then special tokens."))
    register("word", lazy_class(_PKG + "word", "WordTokenizer",
                                "Words, whitespace and punctuation by regex; vocabulary from a corpus."))
    register("bpe-tiktoken", lazy_class(_PKG + "tiktoken_backend", "TiktokenBPETokenizer",
                                        "Our BPE vocabulary and merges run by tiktoken (same ids as bpe)."),
             reference="bpe")
    register("bpe-hf", lazy_class(_PKG + "hf_backend", "HFBPETokenizer",
                                  "Our BPE vocabulary and merges run by HF tokenizers (same ids as bpe)."),
             reference="bpe")


@hookimpl
def register_bpe_trainers(register):
    register("python", lazy_class(_PKG + "bpe_training", "train_bpe",
                                  "From-scratch Python BPE trainer (pre-tokens counted in processes)."))
    register("numba", lazy_class(_PKG + "bpe_fast", "train_bpe_fast",
                                 "The same training with the merge loop compiled by numba."),
             reference="python")


@hookimpl
def register_commands(cli):
    from .cli import tokenize_group  # click only; the heavy modules load inside the commands

    cli.add_command(tokenize_group)
