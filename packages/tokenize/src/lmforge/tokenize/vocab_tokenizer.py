"""Shared machinery of the ``char`` and ``word`` tokenizers: a list of string units, an unknown id.

Ids: 0 is the unknown token, then the special tokens, then the units. A unit never seen in training
encodes as the unknown id and decodes as U+FFFD (the same convention as invalid bytes elsewhere).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from lmforge.core import atomic_write

from .base import Tokenizer, read_meta, write_meta
from .errors import TokenizerError
from .patterns import special_splitter

UNK = "<|unk|>"
UNK_TEXT = "\ufffd"


class VocabTokenizer(Tokenizer):
    """Subclasses define ``split(text) -> list[str]`` and ``name``."""

    vocab_file = "units.json"

    def __init__(self, units: Sequence[str], special_tokens: list[str] | None = None) -> None:
        specials = list(dict.fromkeys(special_tokens or []))
        self._special_ids = {s: 1 + i for i, s in enumerate(specials)}
        first = 1 + len(specials)
        self.units = [u for u in dict.fromkeys(units) if u not in self._special_ids and u != UNK]
        self._ids = {u: first + i for i, u in enumerate(self.units)}
        self._strings = [UNK_TEXT, *specials, *self.units]
        self._special_re = special_splitter(specials)

    def split(self, text: str) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    @property
    def unk_id(self) -> int:
        return 0

    @property
    def vocab_size(self) -> int:
        return len(self._strings)

    def encode(self, text: str) -> list[int]:
        get = self._ids.get
        if self._special_re is None:
            return [get(u, 0) for u in self.split(text)]
        out: list[int] = []
        for i, part in enumerate(self._special_re.split(text)):
            if i % 2:
                out.append(self._special_ids[part])
            elif part:
                out += [get(u, 0) for u in self.split(part)]
        return out

    def decode(self, ids: list[int]) -> str:
        try:
            if len(ids) and min(ids) < 0:
                raise IndexError
            return "".join(map(self._strings.__getitem__, ids))
        except (IndexError, TypeError):
            raise self._bad_id(ids) from None

    # --- training and files -----------------------------------------------------------------

    @classmethod
    def count_units(cls, texts: Iterable[str], special_tokens: list[str] | None = None, **options) -> Counter:
        probe = cls([], special_tokens, **options)
        counts: Counter = Counter()
        for piece in probe._pieces(texts):
            parts = probe._special_re.split(piece) if probe._special_re else [piece]
            for i, part in enumerate(parts):
                if i % 2 == 0:
                    counts.update(probe.split(part))
        return counts

    def _pieces(self, texts: Iterable[str]):
        from .streaming import safe_pieces

        return safe_pieces(texts, self.special_tokens)

    @classmethod
    def train(cls, input_paths: Sequence[str | Path] | str | Path, special_tokens: list[str] | None = None,
              max_units: int | None = None, **options):
        """Vocabulary from text files (streamed), the ``max_units`` most frequent units when given."""
        paths = [input_paths] if isinstance(input_paths, str | Path) else list(input_paths)
        counts: Counter = Counter()
        for p in paths:
            if not Path(p).is_file():
                raise TokenizerError(f"training file not found: {p}")
            with open(p, encoding="utf-8", errors="replace") as f:
                counts.update(cls.count_units(f, special_tokens, **options))
        return cls.from_counts(counts, special_tokens, max_units=max_units, **options)

    @classmethod
    def from_counts(cls, counts: Counter, special_tokens=None, max_units: int | None = None, **options):
        ranked = sorted(counts, key=lambda u: (-counts[u], u))  # most frequent first; ties by text
        return cls(ranked[:max_units] if max_units is not None else ranked, special_tokens, **options)

    @classmethod
    def from_text(cls, text: str, special_tokens=None, max_units: int | None = None, **options):
        counts = cls.count_units([text], special_tokens, **options)
        return cls.from_counts(counts, special_tokens, max_units, **options)

    def _extra_meta(self) -> dict:
        return {}

    def fingerprint_data(self) -> dict:
        return {"kind": self.name, "strings": self._strings, "specials": self._special_ids,
                **self._extra_meta()}

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(directory / self.vocab_file, json.dumps(self.units, ensure_ascii=False, indent=0))
        write_meta(directory, self.name, special_tokens=self.special_tokens, **self._extra_meta())
        return directory

    @classmethod
    def load(cls, directory: str | Path):
        directory = Path(directory)
        meta = read_meta(directory)
        units = json.loads((directory / cls.vocab_file).read_text(encoding="utf-8"))
        extra = {k: v for k, v in meta.items() if k not in ("type", "format_version", "special_tokens")}
        return cls(units, meta.get("special_tokens") or [], **extra)
