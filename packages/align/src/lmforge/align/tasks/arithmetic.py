"""Synthetic two-operand arithmetic in the R1 format, and a character tokenizer for it.

Prompt ``"17+25=?<think>"``; target response ``"17+25</think><answer>42</answer>"`` then end of text.
Small enough that a 2-layer model learns the format in a few hundred SFT steps on CPU, hard enough
(carries) that it is not perfect afterwards, so RL has something to improve.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from .base import Problem

EOT = "<|endoftext|>"
ALPHABET = "0123456789+-=?<>/ abcdefghijklmnopqrstuvwxyz"


class CharTokenizer:
    """One id per character of a fixed alphabet, plus ``<|endoftext|>`` (id 0)."""

    def __init__(self, alphabet: str = ALPHABET) -> None:
        self.alphabet = alphabet
        self._ids = {ch: i + 1 for i, ch in enumerate(alphabet)}
        self.special_tokens = [EOT]
        self.eot_id = 0

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + 1

    def encode(self, text: str) -> list[int]:
        out, i = [], 0
        while i < len(text):
            if text.startswith(EOT, i):
                out.append(0)
                i += len(EOT)
                continue
            if text[i] not in self._ids:
                raise ValueError(f"character {text[i]!r} is not in the arithmetic alphabet")
            out.append(self._ids[text[i]])
            i += 1
        return out

    def decode(self, ids: list[int]) -> str:
        return "".join(EOT if i == 0 else self.alphabet[i - 1] for i in ids)

    def token_to_id(self, special: str) -> int:
        if special != EOT:
            raise KeyError(special)
        return 0

    def save(self, directory: str | Path) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / "char_tokenizer.json").write_text(json.dumps({"alphabet": self.alphabet}))

    @classmethod
    def load(cls, directory: str | Path) -> CharTokenizer:
        return cls(json.loads((Path(directory) / "char_tokenizer.json").read_text())["alphabet"])


def format_problem(a: int, b: int, op: str) -> Problem:
    answer = a + b if op == "+" else a - b
    return Problem(
        prompt=f"{a}{op}{b}=?<think>",
        answer=str(answer),
        sft_response=f"{a}{op}{b}</think><answer>{answer}</answer>",
    )


def arithmetic_problems(
    split: str, size: int, seed: int, max_operand: int = 99, ops: str = "+"
) -> list[Problem]:
    """Up to ``size`` distinct problems; the eval split is disjoint from the train split for every seed."""
    universe = [(a, b, op) for op in ops for a in range(max_operand + 1) for b in range(max_operand + 1)]
    random.Random(1234).shuffle(universe)  # fixed: the split itself never depends on the run's seed
    cut = len(universe) // 5  # first fifth is the held-out pool
    pool = universe[:cut] if split == "eval" else universe[cut:]
    return [format_problem(*t) for t in random.Random(seed).sample(pool, min(size, len(pool)))]
