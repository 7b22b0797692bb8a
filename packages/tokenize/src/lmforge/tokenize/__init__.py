"""lmforge.tokenize: character, byte, word and byte-level BPE tokenizers, a fast BPE trainer, interop.

Names are imported on first use (PEP 562) so that importing the plugin module stays cheap.
"""

from __future__ import annotations

from lmforge.core import lazy_exports

_EXPORTS = {
    "EOT": "base", "Tokenizer": "base", "load_tokenizer": "base",
    "BPETokenizer": "bpe", "ByteTokenizer": "byte_level", "CharTokenizer": "char", "WordTokenizer": "word",
    "TokenizerError": "errors",
    "NumbaBPETokenizer": "bpe_numba_tokenizer",
    "TiktokenBPETokenizer": "tiktoken_backend", "to_tiktoken_encoding": "tiktoken_backend",
    "HFBPETokenizer": "hf_backend", "to_hf_tokenizer": "hf_backend", "export_hf_tokenizer_json": "hf_backend",
    "read_gpt2_files": "gpt2_files", "write_gpt2_files": "gpt2_files",
    "CL100K_PATTERN": "patterns", "GPT2_PATTERN": "patterns",
    "encode_files_to_bin": "token_files", "open_token_file": "token_files",
    "read_token_header": "token_files",
    "UndecodableInputWarning": "token_files",
    "tokenizer_fingerprint": "fingerprint", "check_token_file_tokenizer": "fingerprint",
    "train_bpe": "bpe_training", "train_bpe_fast": "bpe_fast",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
