"""``lmforge tokenize train | encode | stats``."""

from __future__ import annotations

import time
from pathlib import Path

import click

_input = click.option("--input", "inputs", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
                      required=True, help="Text file (repeat for several).")


@click.group("tokenize")
def tokenize_group() -> None:
    """Train tokenizers, encode text to token files, measure compression."""


@tokenize_group.command("train")
@_input
@click.option("--vocab-size", type=int, default=None,
              help="Vocabulary size (bpe: bytes + specials + merges).")
@click.option("--special-token", "specials", multiple=True, help="Special token (repeatable).",
              default=["<|endoftext|>"], show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--type", "part", default="bpe", show_default=True,
              help="Tokenizer part: bpe, char, word, byte.")
@click.option("--pattern", default="gpt2", show_default=True,
              help="bpe pre-tokenization: gpt2, cl100k or a regex.")
@click.option("--workers", type=int, default=None, help="Pre-tokenization processes (default: all cores).")
@click.option("--trainer", default="python", show_default=True,
              help="bpe trainer: python (the reference) or numba (same merges, compiled merge loop).")
def train_cmd(inputs, vocab_size, specials, out, part, pattern, workers, trainer) -> None:
    """Train a tokenizer on text files and save it to --out."""
    from lmforge.core import LmforgeError, get_part, lock_dir

    specials = list(specials)
    start = time.perf_counter()
    missing = [str(p) for p in inputs if not Path(p).is_file()]
    if missing:  # checked before the output folder is created or locked
        raise LmforgeError(f"training file not found: {missing[0]}")
    lock_dir(out, "tokenizer output directory")  # held until the command ends: one writer per folder
    if part in ("bpe", "bpe-tiktoken", "bpe-hf"):
        if vocab_size is None:
            raise LmforgeError("--vocab-size is required for bpe")
        train = get_part("bpe_trainer", trainer)
        vocab, merges = train(list(inputs), vocab_size, specials, pattern=pattern, workers=workers,
                              progress=True)
        tok = get_part("tokenizer", part)(vocab, merges, specials, pattern=pattern)
    elif part == "byte":
        tok = get_part("tokenizer", "byte")(specials)
    else:
        max_units = None if vocab_size is None else max(vocab_size - 1 - len(specials), 0)
        tok = get_part("tokenizer", part).train(list(inputs), specials, max_units=max_units)
    tok.save(out)
    click.echo(f"{part} tokenizer with {tok.vocab_size} tokens saved to {out} "
               f"({time.perf_counter() - start:.1f} s)")


@tokenize_group.command("encode")
@click.option("--tokenizer", "tok_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              required=True)
@_input
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--workers", type=int, default=None, help="Encoding processes (default: all cores).")
@click.option("--part", default=None, help="Run the saved tokenizer as this part (e.g. bpe-tiktoken).")
@click.option("--errors", type=click.Choice(["strict", "replace", "ignore"]), default="replace",
              show_default=True, help="Invalid UTF-8: stop, encode as U+FFFD, or drop (both counted).")
def encode_cmd(tok_dir, inputs, out, workers, part, errors) -> None:
    """Encode files to a flat uint16/uint32 token file plus a JSON sidecar; eot between documents."""
    import warnings

    from .base import load_tokenizer
    from .token_files import UndecodableInputWarning, encode_files_to_bin

    tok = load_tokenizer(tok_dir, part=part)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndecodableInputWarning)  # said below, once, on stderr
        header = encode_files_to_bin(tok, list(inputs), out, workers=workers, progress=True, errors=errors)
    if header["replaced"]:
        what = "dropped" if errors == "ignore" else "encoded as U+FFFD"
        click.echo(f"warning: {header['replaced']} undecodable byte sequences (not UTF-8) were {what}",
                   err=True)
    seconds = time.perf_counter() - start
    n_bytes = sum(p.stat().st_size for p in inputs)
    click.echo(f"{header['count']} tokens ({header['dtype']}) -> {out}; "
               f"{n_bytes / max(header['count'], 1):.2f} bytes/token, {n_bytes / 1e6 / seconds:.2f} MB/s")


@tokenize_group.command("stats")
@click.option("--tokenizer", "tok_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              required=True)
@_input
@click.option("--part", default=None, help="Run the saved tokenizer as this part (e.g. bpe-tiktoken).")
def stats_cmd(tok_dir, inputs, part) -> None:
    """Print compression (bytes per token) and single-process encoding throughput."""
    from .base import load_tokenizer
    from .errors import TokenizerError

    tok = load_tokenizer(tok_dir, part=part)
    for path in inputs:
        if not path.is_file():
            raise TokenizerError(f"input file not found: {path}")
        start = time.perf_counter()
        with open(path, encoding="utf-8", errors="replace") as f:
            n_tokens = sum(1 for _ in tok.encode_iterable(f))
        seconds = time.perf_counter() - start
        n_bytes = path.stat().st_size
        click.echo(f"{path}: {n_bytes} bytes, {n_tokens} tokens, "
                   f"{n_bytes / max(n_tokens, 1):.3f} bytes/token, "
                   f"{n_bytes / 1e6 / max(seconds, 1e-9):.2f} MB/s ({type(tok).__name__}, 1 process)")
