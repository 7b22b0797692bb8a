"""``bpe-hf``: our vocabulary and merges as an HF ``tokenizers`` object; ids identical to ``bpe``.

The HF pipeline is: special tokens (added tokens, longest match) -> Split by our pre-tokenization
regex -> ByteLevel (bytes to GPT-2's printable characters, no regex) -> BPE with our merges.
``export_hf_tokenizer_json`` writes the ``tokenizer.json`` that ``tokenizers`` and ``transformers`` load.
"""

from __future__ import annotations

from pathlib import Path

from .bpe import BPETokenizer
from .byte_unicode import token_to_text


def to_hf_tokenizer(tok: BPETokenizer):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    special_ids = set(tok._special_ids.values())
    vocab = {token_to_text(b): i for i, b in tok.vocab.items() if i not in special_ids}
    for s, i in tok._special_ids.items():
        vocab[s] = i
    merges = [(token_to_text(a), token_to_text(b)) for a, b in tok.merges]
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(tok._regex.pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in tok._special_ids])
    return hf


def export_hf_tokenizer_json(tok: BPETokenizer, path: str | Path) -> Path:
    """Write ``tokenizer.json`` (a file path, or a folder to put it in)."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        path = path / "tokenizer.json"
    to_hf_tokenizer(tok).save(str(path))
    return path


class HFBPETokenizer(BPETokenizer):
    """Byte-level BPE run by HF ``tokenizers`` (Rust): the same ids as ``bpe``."""

    name = "bpe-hf"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hf = to_hf_tokenizer(self)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids

    def encode_ordinary(self, text: str) -> list[int]:
        if self._special_re is None:
            return self.encode(text)
        return super().encode_ordinary(text)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]
