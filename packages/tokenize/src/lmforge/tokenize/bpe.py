"""Byte-level BPE as GPT-2 uses it: regex pre-tokens, UTF-8 bytes, merges applied by rank."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

from .base import Tokenizer, read_meta, write_meta
from .bpe_merge import MergeTable, bpe_ids
from .errors import TokenizerError
from .gpt2_files import check_merges_make_vocab, read_gpt2_files, write_gpt2_files
from .patterns import compile_pattern, special_splitter
from .piece_cache import PieceCache

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"


class BPETokenizer(Tokenizer):
    """Byte-level BPE (GPT-2): pre-tokenize with a regex, merge each piece's bytes by merge rank."""

    name = "bpe"

    def __init__(self, vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]],
                 special_tokens: list[str] | None = None, pattern: str = "gpt2") -> None:
        self.vocab = dict(vocab)
        self.merges = [(bytes(a), bytes(b)) for a, b in merges]
        self.pattern = pattern
        ids_of: dict[bytes, int] = {}
        for i, tok in sorted(self.vocab.items(), reverse=True):  # lowest id wins for duplicate bytes
            ids_of[tok] = i
        self._special_ids = {}
        for s in special_tokens or []:
            raw = s.encode("utf-8")
            if raw not in ids_of:
                ids_of[raw] = max(self.vocab, default=-1) + 1
                self.vocab[ids_of[raw]] = raw
            self._special_ids[s] = ids_of[raw]
        missing = [b for b in range(256) if bytes([b]) not in ids_of]
        if missing:
            raise TokenizerError(
                f"the vocabulary lacks {len(missing)} single bytes (e.g. {bytes([missing[0]])!r})"
            )
        self._byte_ids = [ids_of[bytes([b])] for b in range(256)]
        ranks: dict[tuple[int, int], int] = {}
        merged_of: list[int] = []
        for rank, (a, b) in enumerate(self.merges):
            try:
                pair = (ids_of[a], ids_of[b])
                merged_of.append(ids_of[a + b])
            except KeyError:
                raise TokenizerError(
                    f"merge {rank} ({a!r}, {b!r}) uses or makes a token not in the vocabulary"
                ) from None
            ranks.setdefault(pair, rank)  # a repeated merge keeps its first rank
        self._table = MergeTable(ranks, merged_of)
        self._ids_of = ids_of
        size = max(self.vocab, default=-1) + 1
        self._id_to_bytes: list[bytes | None] = [None] * size
        for i, tok in self.vocab.items():
            self._id_to_bytes[i] = tok
        self._regex = compile_pattern(pattern)
        self._special_re = special_splitter(list(self._special_ids))
        self._cache: dict[str, tuple[int, ...]] = PieceCache(self._encode_piece)

    # --- encoding -----------------------------------------------------------------------------

    def _encode_piece(self, piece: str) -> tuple[int, ...]:
        byte_ids = self._byte_ids
        return tuple(bpe_ids([byte_ids[b] for b in piece.encode("utf-8")], self._table))

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of ``text`` with special-token text treated as plain text."""
        return list(chain.from_iterable(map(self._cache.__getitem__, self._regex.findall(text))))

    def encode(self, text: str) -> list[int]:
        if self._special_re is None:
            return self.encode_ordinary(text)
        out: list[int] = []
        for i, part in enumerate(self._special_re.split(text)):
            if i % 2:
                out.append(self._special_ids[part])
            elif part:
                out += self.encode_ordinary(part)
        return out

    # --- decoding -----------------------------------------------------------------------------

    def decode_bytes(self, ids: list[int]) -> bytes:
        try:
            if len(ids) and min(ids) < 0:
                raise IndexError
            return b"".join(map(self._id_to_bytes.__getitem__, ids))
        except (IndexError, TypeError):
            raise self._bad_id(ids) from None

    def decode(self, ids: list[int]) -> str:
        """Invalid UTF-8 (e.g. half a character) becomes U+FFFD; an unknown id is a TokenizerError."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def fingerprint_data(self) -> dict:
        return {"kind": "byte-level-bpe", "pattern": self._regex.pattern, "specials": self._special_ids,
                "vocab": [None if t is None else t.hex() for t in self._id_to_bytes],
                "merges": [[a.hex(), b.hex()] for a, b in self.merges]}

    def _is_hole(self, i: int) -> bool:
        return self._id_to_bytes[i] is None

    @property
    def vocab_size(self) -> int:
        return len(self._id_to_bytes)

    def id_to_token(self, i: int) -> bytes:
        return self.decode_bytes([i])

    # --- files --------------------------------------------------------------------------------

    @classmethod
    def from_files(cls, vocab_path: str | Path, merges_path: str | Path,
                   special_tokens: list[str] | None = None, pattern: str = "gpt2") -> BPETokenizer:
        """From GPT-2 style ``encoder.json`` (or ``vocab.json``) and ``vocab.bpe`` (or ``merges.txt``).

        Both files are validated (``read_gpt2_files``), and every token must be a byte, a special token or
        made by a merge (a cut merges file is an error, not a tokenizer that encodes silently worse).
        """
        vocab, merges = read_gpt2_files(vocab_path, merges_path)
        check_merges_make_vocab(vocab, merges, special_tokens or [], vocab_path, merges_path)
        return cls(vocab, merges, special_tokens, pattern=pattern)

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_gpt2_files(self.vocab, self.merges, directory / VOCAB_FILE, directory / MERGES_FILE)
        write_meta(directory, self.name, pattern=self.pattern, special_tokens=self.special_tokens)
        return directory

    @classmethod
    def load(cls, directory: str | Path):
        directory = Path(directory)
        meta = read_meta(directory)
        return cls.from_files(directory / VOCAB_FILE, directory / MERGES_FILE,
                              special_tokens=meta.get("special_tokens") or [],
                              pattern=meta.get("pattern", "gpt2"))

