"""What every lmforge tokenizer shares: special-token bookkeeping, streaming, the meta file, loading."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lmforge.core import atomic_write

from .errors import TokenizerError
from .streaming import safe_pieces

META_FILE = "tokenizer.meta.json"
EOT = "<|endoftext|>"


class Tokenizer:
    """Base class: subclasses set ``name``, ``_special_ids`` and implement encode/decode/save/load."""

    name = "tokenizer"
    _special_ids: dict[str, int]

    @property
    def special_tokens(self) -> list[str]:
        return list(self._special_ids)

    @property
    def vocab_size(self) -> int:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def eot_id(self) -> int | None:
        return self._special_ids.get(EOT)

    def token_to_id(self, special: str) -> int:
        try:
            return self._special_ids[special]
        except KeyError:
            raise TokenizerError(
                f"{special!r} is not a special token of this tokenizer (it has {self.special_tokens})"
            ) from None

    def encode(self, text: str) -> list[int]:  # pragma: no cover
        raise NotImplementedError

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        """Ids of the concatenated strings (e.g. a file's lines), in bounded memory, equal to ``encode``."""
        for piece in safe_pieces(iterable, self.special_tokens):
            yield from self.encode(piece)

    def fingerprint_data(self) -> dict[str, Any]:
        """Everything that decides this tokenizer's ids, as JSON data (see ``fingerprint``)."""
        raise NotImplementedError(f"{type(self).__name__} does not describe itself for a fingerprint")

    def _bad_id(self, ids: Iterable[int]) -> TokenizerError:
        n = self.vocab_size
        for i in ids:
            if not isinstance(i, int) or not 0 <= i < n or self._is_hole(i):
                return TokenizerError(f"token id {i!r} is not in the vocabulary (ids are 0..{n - 1})")
        return TokenizerError("bad token id")

    def _is_hole(self, i: int) -> bool:
        return False


def write_meta(directory: str | Path, part: str, **fields: Any) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / META_FILE, json.dumps({"type": part, "format_version": 1, **fields}, indent=2))


def read_meta(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / META_FILE
    if not path.is_file():
        raise TokenizerError(f"{directory} is not a saved tokenizer (no {META_FILE})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:  # a truncated or overwritten meta file
        raise TokenizerError(f"{path}: not a tokenizer meta file ({e})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("type"), str):
        raise TokenizerError(f"{path}: names no tokenizer type")
    return meta


def load_tokenizer(directory: str | Path, part: str | None = None):
    """Load any saved tokenizer; ``part`` overrides the type its meta file names (``bpe-tiktoken``)."""
    from lmforge.core import get_part

    meta = read_meta(directory)
    return get_part("tokenizer", part or meta["type"]).load(directory)
