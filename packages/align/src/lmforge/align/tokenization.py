"""Turning (prompt, output) strings into the tensors the SFT and RL losses read.

Works with HF tokenizers (``encode(s, add_special_tokens=False)``, ``pad_token_id``) and with lmforge
tokenizers (``encode(s) -> list[int]``, ``eot_id``) alike.
"""

from __future__ import annotations

import torch


def encode_text(tokenizer, text: str) -> list[int]:
    """Token ids of ``text`` with no BOS/EOS added (HF tokenizers add them by default)."""
    try:
        return list(tokenizer.encode(text, add_special_tokens=False))
    except TypeError:  # lmforge tokenizers take only the text
        return list(tokenizer.encode(text))


def decode_ids(tokenizer, ids: list[int]) -> str:
    try:
        return tokenizer.decode(ids, skip_special_tokens=True)
    except TypeError:
        return tokenizer.decode(ids)


def pad_id_of(tokenizer) -> int:
    """The id used for right padding: the tokenizer's pad, else its end-of-text, else 0.

    Padding never reaches a loss (the response mask is false there), so any valid id works.
    """
    for attr in ("pad_token_id", "eos_token_id", "eot_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            return value
    return 0


def eos_id_of(tokenizer) -> int | None:
    for attr in ("eos_token_id", "eot_id"):
        value = getattr(tokenizer, attr, None)
        if isinstance(value, int):
            return value
    return None


def tokenize_prompt_and_output(
    prompt_strs: list[str], output_strs: list[str], tokenizer
) -> dict[str, torch.Tensor]:
    """Tokenize prompts and outputs separately, concatenate, right-pad, and shift by one.

    Returns ``input_ids`` = sequence[:, :-1], ``labels`` = sequence[:, 1:] and ``response_mask``
    (bool, aligned with ``labels``) that is true exactly where a label is an output token.
    Tokenizing the two parts separately keeps the prompt/response boundary on a token boundary.
    """
    if len(prompt_strs) != len(output_strs):
        raise ValueError(f"{len(prompt_strs)} prompts but {len(output_strs)} outputs")
    prompts = [encode_text(tokenizer, p) for p in prompt_strs]
    outputs = [encode_text(tokenizer, o) for o in output_strs]
    return pack_prompt_and_output_ids(prompts, outputs, pad_id_of(tokenizer))


def pack_prompt_and_output_ids(
    prompts: list[list[int]], outputs: list[list[int]], pad_id: int
) -> dict[str, torch.Tensor]:
    """The id-level half of :func:`tokenize_prompt_and_output` (rollouts are already ids)."""
    lengths = [len(p) + len(o) for p, o in zip(prompts, outputs)]
    width = max(lengths)
    seq = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.bool)
    for i, (p, o) in enumerate(zip(prompts, outputs)):
        seq[i, : len(p) + len(o)] = torch.tensor(p + o, dtype=torch.long)
        mask[i, len(p) : len(p) + len(o)] = True
    return {"input_ids": seq[:, :-1], "labels": seq[:, 1:], "response_mask": mask[:, 1:]}
