"""Rewards: ``fn(response, ground_truth) -> {"reward": float, ...components}``.

The math grader accepts an answer when, after normalization, the strings match, or when sympy can
show the two expressions are equal (so "0.5" == "1/2" and "3.0" == "3").
"""

from __future__ import annotations

import re

from .parsing import parse_gsm8k_response

_R1_FORMAT = re.compile(r"^\s*(?:<think>)?(.*?)</think>\s*<answer>(.*?)</answer>\s*$", re.DOTALL)
_BOXED = re.compile(r"\\boxed\{(.*)\}")
_MAX_SYMPY_CHARS = 64  # sympy can take seconds on long inputs; real answers are short


def normalize_answer(text: str) -> str:
    """Lower-case, drop spaces, dollar signs, thousands commas, \\boxed{} and a trailing period / .0."""
    s = text.strip()
    boxed = _BOXED.search(s)
    if boxed:
        s = boxed.group(1)
    s = s.replace("$", "").replace(" ", "").replace("\\!", "").lower().rstrip(".")
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)
    s = re.sub(r"^(-?\d+)\.0+$", r"\1", s)
    return s


def _sympy_equal(a: str, b: str) -> bool:
    if len(a) > _MAX_SYMPY_CHARS or len(b) > _MAX_SYMPY_CHARS:
        return False
    try:
        import sympy
        from sympy.parsing.sympy_parser import parse_expr, standard_transformations

        ea = parse_expr(a, transformations=standard_transformations, evaluate=True)
        eb = parse_expr(b, transformations=standard_transformations, evaluate=True)
        return bool(sympy.simplify(ea - eb) == 0)
    except Exception:  # anything sympy cannot parse is simply not equal
        return False


def math_answers_equal(given: str | None, ground_truth: str) -> bool:
    if given is None:
        return False
    a, b = normalize_answer(given), normalize_answer(ground_truth)
    if not a:
        return False
    return a == b or _sympy_equal(a, b)


def split_r1_response(response: str) -> tuple[str, str] | None:
    """(think, answer) when ``response`` follows ``<think> ... </think> <answer> ... </answer>``.

    The opening ``<think>`` may sit at the end of the prompt instead, as in the R1-Zero prompt.
    """
    m = _R1_FORMAT.match(response)
    return (m.group(1), m.group(2)) if m else None


def r1_math_reward(response: str, ground_truth: str) -> dict[str, float]:
    """R1-Zero style: reward 1 only for the right format and the right answer inside <answer>."""
    parts = split_r1_response(response)
    if parts is None:
        return {"reward": 0.0, "format_reward": 0.0, "answer_reward": 0.0}
    correct = math_answers_equal(parts[1], ground_truth)
    return {"reward": float(correct), "format_reward": 1.0, "answer_reward": float(correct)}


def r1_format_reward(response: str, ground_truth: str) -> dict[str, float]:
    """1 for the ``... </think> <answer> ... </answer>`` format, whatever the answer (a shaping term)."""
    return {"reward": float(split_r1_response(response) is not None)}


def math_reward(response: str, ground_truth: str) -> dict[str, float]:
    """Answer only, format ignored: the <answer> block if present, else the last number."""
    parts = split_r1_response(response)
    given = parts[1] if parts else parse_gsm8k_response(response)
    correct = math_answers_equal(given, ground_truth)
    return {"reward": float(correct), "answer_reward": float(correct)}


def exact_match_reward(response: str, ground_truth: str) -> dict[str, float]:
    """1 when the stripped response equals the stripped ground truth."""
    return {"reward": float(response.strip() == ground_truth.strip())}
