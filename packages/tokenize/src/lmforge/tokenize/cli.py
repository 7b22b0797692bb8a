"""``lmforge tokenize train | encode | stats``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from lmforge.core import LmforgeError
from lmforge.core.run_options import RunOptions, run_options

_input = click.option("--input", "inputs", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
                      required=True, help="Text file (repeat for several).")


@click.group("tokenize")
def tokenize_group() -> None:
    """Train tokenizers, encode text to token files, measure compression."""


# tokenizer parts built from a vocabulary and merges (trained by a bpe_trainer)
BPE_PARTS = ("bpe", "bpe-fast", "bpe-tiktoken", "bpe-hf")

# each flag, when given, sets one key of TokenizerTrainConfig (after --config, before --set)
_TRAIN_FLAGS = {"inputs": "inputs", "vocab_size": "vocab_size", "specials": "special_tokens", "out": "out",
                "part": "type", "pattern": "pattern", "workers": "workers", "trainer": "trainer"}


@tokenize_group.command("train")
@run_options
@click.option("--input", "inputs", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Text file (repeat for several).")
@click.option("--vocab-size", type=int, default=None,
              help="Vocabulary size (bpe: bytes + specials + merges).")
@click.option("--special-token", "specials", multiple=True,
              help="Special token (repeatable; default <|endoftext|>).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The tokenizer folder to write.")
@click.option("--type", "part", default=None, help="Tokenizer part: bpe (default), char, word, byte.")
@click.option("--pattern", default=None, help="bpe pre-tokenization: gpt2 (default), cl100k or a regex.")
@click.option("--workers", type=int, default=None, help="Pre-tokenization processes (default: all cores).")
@click.option("--trainer", default=None,
              help="bpe trainer: python (the reference, default) or numba (same merges, compiled loop).")
def train_cmd(run: RunOptions, **flags) -> None:
    """Train a tokenizer on text files and save it to --out.

    The settings are a TokenizerTrainConfig (--config FILE, --set key=value; the flags set the same
    keys). The folder records them in train_config.toml: --resume DIR trains again with them unless DIR
    already holds the finished tokenizer. Training runs on the CPU (--device auto or cpu)."""
    from lmforge.core import config_to_toml, get_part, load_config, lock_dir

    from .base import load_tokenizer
    from .train_config import SAVED_NAME, TokenizerTrainConfig

    run.cpu_only("tokenizers train on the CPU")
    config = run.config_or_saved(SAVED_NAME, "tokenizer training")
    given = [f"{key}={_toml_value(flags[flag])}" for flag, key in _TRAIN_FLAGS.items()
             if flags[flag] not in (None, ())]
    cfg = load_config(TokenizerTrainConfig, config, [*given, *run.overrides])
    if not cfg.inputs or cfg.out is None:
        raise LmforgeError("give the text files (--input) and the tokenizer folder (--out)")
    out = Path(cfg.out)
    missing = [p for p in cfg.inputs if not Path(p).is_file()]
    if missing:  # checked before the output folder is created or locked
        raise LmforgeError(f"training file not found: {missing[0]}")
    if cfg.type in BPE_PARTS and cfg.vocab_size is None:
        raise LmforgeError("--vocab-size is required for bpe")
    if run.resume is not None and (out / SAVED_NAME).is_file() and _finished(out, load_tokenizer):
        click.echo(f"{out} already holds the finished tokenizer; nothing to do")
        return
    start = time.perf_counter()
    lock_dir(out, "tokenizer output directory")  # held until the command ends: one writer per folder
    specials = list(cfg.special_tokens)
    if cfg.type in BPE_PARTS:
        train = get_part("bpe_trainer", cfg.trainer)
        vocab, merges = train(list(cfg.inputs), cfg.vocab_size, specials, pattern=cfg.pattern,
                              workers=cfg.workers, progress=True)
        tok = get_part("tokenizer", cfg.type)(vocab, merges, specials, pattern=cfg.pattern)
    elif cfg.type == "byte":
        tok = get_part("tokenizer", "byte")(specials)
    else:
        max_units = None if cfg.vocab_size is None else max(cfg.vocab_size - 1 - len(specials), 0)
        tok = get_part("tokenizer", cfg.type).train(list(cfg.inputs), specials, max_units=max_units)
    tok.save(out)
    (out / SAVED_NAME).write_text(config_to_toml(cfg))  # last: its presence means the folder is complete
    click.echo(f"{cfg.type} tokenizer with {tok.vocab_size} tokens saved to {out} "
               f"({time.perf_counter() - start:.1f} s)")


def _toml_value(value) -> str:
    """A flag's value as the text of a --set override (lists and paths as TOML)."""
    import json

    if isinstance(value, list | tuple):
        return json.dumps([str(v) for v in value])
    return str(value)


def _finished(folder: Path, load_tokenizer) -> bool:
    try:
        load_tokenizer(folder)
    except (LmforgeError, OSError):  # an unfinished or damaged folder is trained again (a bug is not)
        return False
    return True


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
