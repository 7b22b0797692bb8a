"""Packed SFT data: instruction/response pairs from JSONL, tokenized, joined and cut into windows.

Packing wastes no compute on padding; the price is that a window can start mid-example, which is
how instruction tuning of small models is commonly done (Alpaca, Stanford's CS336).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import torch

from .tokenization import encode_text, eos_id_of

ALPACA_TEMPLATE = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{prompt}\n\n### Response:\n{response}"
)


class PackedSFTDataset(torch.utils.data.Dataset):
    """Windows of ``seq_length`` tokens (inputs) and the same window shifted by one (labels).

    Each JSONL line holds ``{"prompt": ..., "response": ...}``; examples are formatted with
    ``template``, separated by the tokenizer's end-of-sequence token, and (with ``shuffle``) put in a
    random order before packing, seeded so the dataset is reproducible.
    """

    def __init__(
        self,
        tokenizer,
        path: str | Path,
        seq_length: int,
        shuffle: bool,
        template: str = ALPACA_TEMPLATE,
        seed: int = 0,
    ) -> None:
        examples = [
            json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        if shuffle:
            random.Random(seed).shuffle(examples)
        eos = eos_id_of(tokenizer)
        ids: list[int] = []
        for ex in examples:
            ids += encode_text(tokenizer, template.format(prompt=ex["prompt"], response=ex["response"]))
            if eos is not None:
                ids.append(eos)
        self.seq_length = seq_length
        self.tokens = torch.tensor(ids, dtype=torch.long)
        # every window needs seq_length inputs plus one more token for its last label
        self.num_windows = max(0, (len(ids) - 1) // seq_length)

    def __len__(self) -> int:
        return self.num_windows

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i < 0:
            i += self.num_windows
        if not 0 <= i < self.num_windows:
            raise IndexError(f"window {i} out of range for {self.num_windows} windows")
        start = i * self.seq_length
        window = self.tokens[start : start + self.seq_length + 1]
        return {"input_ids": window[:-1], "labels": window[1:]}


def iterate_batches(
    dataset, batch_size: int, shuffle: bool, seed: int | None = None
) -> Iterator[dict[str, torch.Tensor]]:
    """Batches of stacked dataset items (the last one may be smaller)."""
    order = list(range(len(dataset)))
    if shuffle:
        random.Random(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        items = [dataset[i] for i in order[start : start + batch_size]]
        yield {key: torch.stack([it[key] for it in items]) for key in items[0]}
