"""GSM8K-style word problems generated offline by ``reasoning-gym`` (``gsm_symbolic``).

The prompt is the R1-Zero template; the SFT response is reasoning-gym's worked solution in the same
``<think> ... </think> <answer> ... </answer>`` format.
"""

from __future__ import annotations

from .base import Problem

R1_TEMPLATE = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with the "
    "answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>.\nUser: {question}\nAssistant: <think>"
)


def gsm8k_problems(split: str, size: int, seed: int, template: str = R1_TEMPLATE) -> list[Problem]:
    import reasoning_gym

    # different generator seeds give the two splits; duplicates across them are removed below
    base = 10_000 if split == "eval" else 0
    ds = reasoning_gym.create_dataset("gsm_symbolic", size=size * 2, seed=base + seed)
    other = reasoning_gym.create_dataset("gsm_symbolic", size=size * 2, seed=(10_000 - base) + seed)
    held = {x["question"] for x in other} if split == "train" else set()
    out = []
    for x in ds:
        if x["question"] in held:
            continue
        cot = x["metadata"].get("answer_cot", "").split("####")[0].strip()
        out.append(
            Problem(
                template.format(question=x["question"]),
                str(x["answer"]),
                f" {cot} </think> <answer> {x['answer']} </answer>",
            )
        )
        if len(out) == size:
            break
    return out
