"""``bpe-fast``: ``bpe``'s vocabulary, merges and ids, encoded by numba-compiled code (``bpe_numba_encode``).

The text is encoded to UTF-8 once; special tokens are found in the bytes (a UTF-8 match of a special is
exactly a match in the text, longest first as in ``bpe``); then one compiled call pre-tokenizes every
segment with GPT-2's pattern, merges each distinct pre-token once and writes all ids. Only the GPT-2
pattern is compiled: another pattern is an error at construction (``bpe-tiktoken`` runs any pattern).

The first encode in a process imports numba and loads the compiled code from its on-disk cache (about a
second; the first ever call in an environment compiles it, several seconds). Decoding, saving and the
fingerprint are ``bpe``'s.
"""

from __future__ import annotations

import re

import numpy as np

from .bpe import BPETokenizer
from .errors import TokenizerError
from .patterns import GPT2_PATTERN, resolve_pattern


class NumbaBPETokenizer(BPETokenizer):
    """Byte-level BPE with GPT-2's pre-tokenization, compiled by numba: the same ids as ``bpe``."""

    name = "bpe-fast"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if resolve_pattern(self.pattern) != GPT2_PATTERN:
            raise TokenizerError(f"bpe-fast compiles only the gpt2 pre-tokenization pattern, not "
                                 f"{self.pattern!r}; use bpe or bpe-tiktoken for it")
        ordered = sorted(self._special_ids, key=lambda s: (-len(s), s))  # longest first, as bpe
        self._special_bytes = {s.encode("utf-8"): i for s, i in self._special_ids.items()}
        self._special_bytes_re = (re.compile(b"|".join(re.escape(s.encode("utf-8")) for s in ordered))
                                  if ordered else None)
        self._kernel = None

    def _load_kernel(self):
        """(encode_segments, its table arguments), built on first use."""
        if self._kernel is None:
            from .bpe_numba_encode import build_rank_table, encode_segments
            from .gpt2_scan import char_classes

            ranks = self._table.ranks
            pairs = np.array(list(ranks), np.int64).reshape(-1, 2)
            keys, vals = build_rank_table(pairs[:, 0].copy(), pairs[:, 1].copy(),
                                          np.fromiter(ranks.values(), np.int64, len(ranks)))
            tables = (char_classes(), np.asarray(self._byte_ids, np.int32), keys, vals,
                      np.asarray(self._table.merged, np.int32))
            self._kernel = (encode_segments, tables)
        return self._kernel

    def _encode_bytes(self, data: bytes, specials: bool) -> list[int]:
        encode_segments, tables = self._load_kernel()
        starts, ends, special = [], [], []
        at = 0
        if specials and self._special_bytes_re is not None:
            for m in self._special_bytes_re.finditer(data):
                if m.start() > at:
                    starts.append(at), ends.append(m.start()), special.append(-1)
                starts.append(m.start()), ends.append(m.end()), special.append(self._special_bytes[m.group()])
                at = m.end()
        if at < len(data):
            starts.append(at), ends.append(len(data)), special.append(-1)
        ids = encode_segments(np.frombuffer(data, np.uint8), np.asarray(starts, np.int64),
                              np.asarray(ends, np.int64), np.asarray(special, np.int64), *tables)
        return ids.tolist()

    def encode_ordinary(self, text: str) -> list[int]:
        return self._encode_bytes(text.encode("utf-8"), specials=False)

    def encode(self, text: str) -> list[int]:
        return self._encode_bytes(text.encode("utf-8"), specials=True)
