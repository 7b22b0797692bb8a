"""Which tokenizer made a token file: a fingerprint of everything that decides the ids.

``tokenizer_fingerprint`` hashes (sha256) the tokenizer's ``fingerprint_data()``: for BPE the bytes of
every id, the merges in order, the special tokens' ids and the pre-tokenization regex. Two tokenizers
with the same fingerprint give the same ids for every text, whichever part runs them (``bpe``,
``bpe-tiktoken`` and ``bpe-hf`` of the same files share one). ``encode_files_to_bin`` writes it into the
token file's sidecar; ``check_token_file_tokenizer`` compares a tokenizer with a token file.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from .errors import TokenizerError


def tokenizer_fingerprint(tokenizer_or_dir) -> str:
    """sha256 (hex) of a tokenizer, given as an object or as the directory it was saved to."""
    tok = _as_tokenizer(tokenizer_or_dir)
    blob = json.dumps(tok.fingerprint_data(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


def check_token_file_tokenizer(token_path: str | Path, tokenizer_or_dir) -> dict:
    """Raise ``TokenizerError`` unless ``tokenizer_or_dir`` made the token file; returns its sidecar.

    Compares the sidecar's ``vocab_size`` and ``tokenizer_sha256`` with the tokenizer's. A token file
    written before fingerprints were recorded has only ``vocab_size`` to compare: that is checked, and a
    warning says the rest could not be.
    """
    from .token_files import read_token_header

    header = read_token_header(token_path)
    tok = _as_tokenizer(tokenizer_or_dir)
    where = f" ({tokenizer_or_dir})" if isinstance(tokenizer_or_dir, str | Path) else ""
    if header.get("vocab_size") != tok.vocab_size:
        raise TokenizerError(
            f"{token_path} was made by a tokenizer with vocab_size {header.get('vocab_size')}, "
            f"but the tokenizer{where} has vocab_size {tok.vocab_size}"
        )
    recorded = header.get("tokenizer_sha256")
    if recorded is None:
        warnings.warn(f"{token_path} does not record which tokenizer made it (written before fingerprints); "
                      "only its vocab_size was checked", stacklevel=2)
        return header
    mine = tokenizer_fingerprint(tok)
    if recorded != mine:
        raise TokenizerError(
            f"{token_path} was made by tokenizer {recorded[:12]}, but the tokenizer{where} is {mine[:12]} "
            f"(same vocab_size {tok.vocab_size}, different vocabulary, merges, specials or pattern)"
        )
    return header


def _as_tokenizer(tokenizer_or_dir):
    if isinstance(tokenizer_or_dir, str | Path):
        from .base import load_tokenizer

        return load_tokenizer(tokenizer_or_dir)
    return tokenizer_or_dir
