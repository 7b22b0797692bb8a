"""An offline preference set built from a task: the worked response beats a plausible wrong one.

The rejected response keeps the format and the reasoning line and changes only the answer (off by a
small amount, as a model's arithmetic slips are), so the preference is about correctness alone.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from .tasks.base import Problem


def wrong_answer(answer: str, rng: random.Random) -> str:
    try:
        value = int(answer)
    except ValueError:
        return answer + "0"
    delta = rng.choice([-10, -2, -1, 1, 2, 10])
    return str(value + delta)


def preference_pairs(problems: list[Problem], seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for p in problems:
        bad = wrong_answer(p.answer, rng)
        rejected = p.sft_response.replace(f"<answer>{p.answer}</answer>", f"<answer>{bad}</answer>")
        if rejected == p.sft_response:  # answer written with spaces (gsm8k): replace the last occurrence
            head, _, tail = p.sft_response.rpartition(p.answer)
            rejected = head + bad + tail
        pairs.append({"prompt": p.prompt, "chosen": p.sft_response, "rejected": rejected})
    return pairs


def load_pairs(path: str | Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
