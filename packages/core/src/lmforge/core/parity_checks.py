"""Parity checks core can register without torch: ``doc_filter`` (same decisions on a corpus),
``reward`` (same rewards on fixed pairs), ``executor`` (same results of one mapped function).

Checks for tensor kinds (attention, norm, ffn, ...) live with the packages that own those kinds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .contracts import ParityResult


@dataclass
class Doc:
    """The document shape the doc_filter contract promises: ``.text`` and ``.metadata``."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


_WORDS = ("the model learns from data and the data comes from the web so we filter it with care "
          "rules classifiers language scores lines paragraphs").split()
_FIXED = [
    "", " ", "one", "two words", "exactly three words", "\n\n\n", "a\nb\nc\nd", " \t\n \t\n  ",
    "      padded      ",
    "Contact me at jane.doe@example.com or 555-123-4567 from 192.168.0.1.",
    "Der schnelle braune Fuchs springt über den faulen Hund.", "快速的棕色狐狸跳过了懒狗。",
    "# # # # # # # # # #", "lorem ipsum " * 400, "- item one\n- item two\n- item three\n- item four",
    "Click here! Subscribe now!!! Best deals $$$ http://spam.example", "...",
    "The quick brown fox jumps over the lazy dog. " * 20,
]


def corpus(n: int = 200, seed: int = 0) -> list[str]:
    """Fixed edge cases plus seeded random documents of 0 to 300 words over 1 to 12 lines."""
    rng = random.Random(seed)
    docs = list(_FIXED)
    while len(docs) < n:
        lines = [" ".join(rng.choices(_WORDS, k=rng.randint(0, 25))) for _ in range(rng.randint(1, 12))]
        docs.append("\n".join(lines))
    return docs


def _decision(result: Any) -> tuple[bool, str]:
    if isinstance(result, tuple):
        return bool(result[0]), str(result[1]) if len(result) > 1 else ""
    return bool(result), ""


def doc_filter_parity(candidate: type, reference: type, texts: list[str] | None = None,
                      **options: Any) -> ParityResult:
    """Build both filters with ``options``; they must keep the same documents and leave the same text.

    max_error is the fraction of documents on which they disagree; the tolerance is zero.
    """
    cand, ref = candidate(**options), reference(**options)
    texts = corpus() if texts is None else texts
    disagree = []
    for i, text in enumerate(texts):
        a, b = Doc(text), Doc(text)
        (keep_a, _), (keep_b, _) = _decision(cand.filter(a)), _decision(ref.filter(b))
        if keep_a != keep_b or (keep_a and a.text != b.text):
            disagree.append(i)
    error = len(disagree) / max(1, len(texts))
    detail = "" if not disagree else (f"{len(disagree)} of {len(texts)} documents differ, first "
                                      f"{texts[disagree[0]][:60]!r}")
    return ParityResult(error, 0.0, not disagree, detail)


_REWARD_CASES = [("42", "42"), (" 42 ", "42"), ("41", "42"), ("", "42"), ("0.5", "1/2"), ("3.0", "3"),
                 ("<think>so</think> <answer>7</answer>", "7"), ("<answer>7</answer>", "7"),
                 ("the answer is 12", "12"), ("x = 2", "2"), ("-3", "-3"), ("1,000", "1000")]


def reward_parity(candidate, reference, cases: list[tuple[str, str]] | None = None,
                  **options: Any) -> ParityResult:
    """Both reward functions on (response, ground truth) pairs: the largest difference in ``reward``."""
    cases = _REWARD_CASES if cases is None else cases
    errors = [abs(float(candidate(r, g, **options)["reward"]) - float(reference(r, g, **options)["reward"]))
              for r, g in cases]
    worst = max(range(len(errors)), key=errors.__getitem__)
    detail = "" if errors[worst] == 0 else f"largest difference on {cases[worst]!r}"
    return ParityResult(errors[worst], 0.0, errors[worst] == 0, detail)


def _collatz_steps(n: int) -> int:
    """A little CPU work per item, deterministic (module level: executors pickle it)."""
    steps = 0
    while n != 1:
        n = 3 * n + 1 if n % 2 else n // 2
        steps += 1
    return steps


def executor_parity(candidate, reference, items: int = 64, **options: Any) -> ParityResult:
    """Both executors map one function over the same items: same results, in the same order."""
    inputs = list(range(1, items + 1))
    got = candidate(**options).map(_collatz_steps, inputs, desc="parity")
    want = reference(**options).map(_collatz_steps, inputs, desc="parity")
    wrong = sum(a != b for a, b in zip(got, want)) + abs(len(got) - len(want))
    detail = "" if not wrong else f"{wrong} of {len(inputs)} results differ or are missing"
    return ParityResult(wrong / len(inputs), 0.0, wrong == 0, detail)
