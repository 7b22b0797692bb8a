"""``bpe-tiktoken``: our vocabulary and merges run by tiktoken's Rust BPE; ids identical to ``bpe``.

tiktoken merges the adjacent pair whose concatenation has the lowest rank; with rank = token id this
agrees with merge-list BPE for vocabularies where every token was made by its merge (GPT-2's, and
ours: ids grow with merge order). The parity tests check it on varied text.
"""

from __future__ import annotations

from .bpe import BPETokenizer


def to_tiktoken_encoding(tok: BPETokenizer, name: str = "lmforge-bpe"):
    """A ``tiktoken.Encoding`` with ``tok``'s ids, pattern and special tokens."""
    import tiktoken

    specials = {s: i for s, i in tok._special_ids.items()}
    special_ids = set(specials.values())
    ranks = {b: i for i, b in tok.vocab.items() if i not in special_ids}
    return tiktoken.Encoding(name=name, pat_str=tok._regex.pattern, mergeable_ranks=ranks,
                             special_tokens=specials)


class TiktokenBPETokenizer(BPETokenizer):
    """Byte-level BPE run by tiktoken (Rust): the same ids as ``bpe``, much faster."""

    name = "bpe-tiktoken"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.encoding = to_tiktoken_encoding(self)
        specials = list(self._special_ids)
        # tiktoken matches specials leftmost-first; that equals our longest-match rule unless one special
        # is a prefix of another. Then (only then) we split the specials ourselves.
        self._native_specials = set(specials) if not any(
            s != t and t.startswith(s) for s in specials for t in specials) else None

    def encode_ordinary(self, text: str) -> list[int]:
        return self.encoding.encode_ordinary(text)

    def encode(self, text: str) -> list[int]:
        # Specials are split here, longest first; tiktoken's own special matching is leftmost-first.
        if self._special_re is None:
            return self.encoding.encode_ordinary(text)
        if self._native_specials is not None:
            return self.encoding.encode(text, allowed_special=self._native_specials, disallowed_special=())
        parts = self._special_re.split(text)
        if len(parts) == 1:
            return self.encoding.encode_ordinary(text)
        out: list[int] = []
        for i, part in enumerate(parts):
            if i % 2:
                out.append(self._special_ids[part])
            elif part:
                out += self.encoding.encode_ordinary(part)
        return out

    def encode_batch(self, texts: list[str], num_threads: int = 8) -> list[list[int]]:
        if self._special_re is None:
            return self.encoding.encode_ordinary_batch(texts, num_threads=num_threads)
        if self._native_specials is not None:
            return self.encoding.encode_batch(texts, num_threads=num_threads,
                                              allowed_special=self._native_specials, disallowed_special=())
        return [self.encode(t) for t in texts]
