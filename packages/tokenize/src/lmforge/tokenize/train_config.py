"""What ``lmforge tokenize train`` trains: a typed config, so the command takes ``--config``/``--set``
like every run-type command, and a finished tokenizer folder records how it was made."""

from __future__ import annotations

from dataclasses import dataclass, field

SAVED_NAME = "train_config.toml"  # written into the tokenizer folder beside its files


@dataclass
class TokenizerTrainConfig:
    inputs: list[str] = field(default_factory=list)  # text files
    out: str | None = None  # the tokenizer folder
    type: str = "bpe"  # tokenizer part: bpe, bpe-fast, bpe-tiktoken, bpe-hf, char, word, byte
    vocab_size: int | None = None  # bpe: bytes + specials + merges
    special_tokens: list[str] = field(default_factory=lambda: ["<|endoftext|>"])
    pattern: str = "gpt2"  # bpe pre-tokenization: gpt2, cl100k or a regex
    workers: int | None = None  # pre-tokenization processes (default: all cores)
    trainer: str = "python"  # bpe_trainer part: python (the reference) or numba
