"""lmforge-tokenize plugin: registers this package's parts with the lmforge host.

Parts are registered by import string (core imports the class on first use), so listing plugins
stays fast.
"""

from lmforge.core import hookimpl

_PKG = "lmforge.tokenize."


@hookimpl
def register_tokenizers(register):
    register("bpe", _PKG + "bpe:BPETokenizer",
             description="Byte-level BPE as GPT-2 uses it (pure Python, cached pre-tokens).")
    register("char", _PKG + "char:CharTokenizer",
             description="One id per Unicode character seen in a corpus, plus an unknown id.")
    register("byte", _PKG + "byte_level:ByteTokenizer", description="UTF-8 bytes as ids 0-255, "
        "then special tokens.")
    register("word", _PKG + "word:WordTokenizer",
             description="Words, whitespace and punctuation by regex; vocabulary from a corpus.")
    register("bpe-tiktoken", _PKG + "tiktoken_backend:TiktokenBPETokenizer",
             description="Our BPE vocabulary and merges run by tiktoken (same ids as bpe).", reference="bpe")
    register("bpe-fast", _PKG + "bpe_numba_tokenizer:NumbaBPETokenizer", reference="bpe",
             description="Our BPE with GPT-2's pattern, encoded by numba-compiled code (same ids as bpe).")
    register("bpe-hf", _PKG + "hf_backend:HFBPETokenizer", reference="bpe",
             description="Our BPE vocabulary and merges run by HF tokenizers (same ids as bpe).")


@hookimpl
def register_parity_checks(register):
    register("tokenizer", _PKG + "parity_checks:tokenizer_parity",
             description="Same ids on held-out texts from one trained vocabulary.")
    register("bpe_trainer", _PKG + "parity_checks:bpe_trainer_parity",
             description="Same vocabulary and merges from the same files.")


@hookimpl
def register_bpe_trainers(register):
    register("python", _PKG + "bpe_training:train_bpe",
             description="From-scratch Python BPE trainer (pre-tokens counted in processes).")
    register("numba", _PKG + "bpe_fast:train_bpe_fast", reference="python",
             description="The same training with the merge loop compiled by numba.")


@hookimpl
def register_commands(cli):
    from .cli import tokenize_group  # click only; the heavy modules load inside the commands

    cli.add_command(tokenize_group)
