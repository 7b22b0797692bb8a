"""``byte``: the UTF-8 bytes of the text as ids 0-255, then the special tokens."""

from __future__ import annotations

from pathlib import Path

from .base import Tokenizer, read_meta, write_meta
from .patterns import special_splitter


class ByteTokenizer(Tokenizer):
    """UTF-8 bytes as ids 0-255, special tokens from 256; no training needed."""

    name = "byte"

    def __init__(self, special_tokens: list[str] | None = None) -> None:
        specials = list(dict.fromkeys(special_tokens or []))
        self._special_ids = {s: 256 + i for i, s in enumerate(specials)}
        self._bytes = [bytes([b]) for b in range(256)] + [s.encode("utf-8") for s in specials]
        self._special_re = special_splitter(specials)

    @property
    def vocab_size(self) -> int:
        return len(self._bytes)

    def encode(self, text: str) -> list[int]:
        if self._special_re is None:
            return list(text.encode("utf-8"))
        out: list[int] = []
        for i, part in enumerate(self._special_re.split(text)):
            if i % 2:
                out.append(self._special_ids[part])
            elif part:
                out += part.encode("utf-8")
        return out

    def decode(self, ids: list[int]) -> str:
        """Invalid UTF-8 becomes U+FFFD; an id outside the vocabulary is a TokenizerError."""
        try:
            if len(ids) and min(ids) < 0:
                raise IndexError
            return b"".join(map(self._bytes.__getitem__, ids)).decode("utf-8", errors="replace")
        except (IndexError, TypeError):
            raise self._bad_id(ids) from None

    def fingerprint_data(self) -> dict:
        return {"kind": "byte", "specials": self._special_ids}

    def save(self, directory: str | Path) -> Path:
        write_meta(directory, self.name, special_tokens=self.special_tokens)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> ByteTokenizer:
        return cls(read_meta(directory).get("special_tokens") or [])
