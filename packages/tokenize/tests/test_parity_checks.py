"""The tokenize parity checks pass equal parts and catch ones that compute something else."""

from lmforge.tokenize.bpe import BPETokenizer
from lmforge.tokenize.bpe_training import train_bpe
from lmforge.tokenize.parity_checks import bpe_trainer_parity, corpus_texts, tokenizer_parity


class BPEMissingLastMerge(BPETokenizer):
    """Loads the merges but forgets the last one: most texts still encode the same."""

    def __init__(self, vocab, merges, special_tokens=None, pattern="gpt2"):
        super().__init__(vocab, merges[:-1], special_tokens, pattern)


class BPEOtherPattern(BPETokenizer):
    def __init__(self, vocab, merges, special_tokens=None, pattern="gpt2"):
        super().__init__(vocab, merges, special_tokens, "cl100k")


def test_corpus_has_code_prose_and_edge_cases():
    train, held = corpus_texts()
    assert len(train) == 120_000 and len(held) > 20
    assert any("def " in t for t in held) and any("<|endoftext|>" in t for t in held)


def test_tokenizer_check():
    assert tokenizer_parity(BPETokenizer, BPETokenizer).passed
    for wrong in (BPEMissingLastMerge, BPEOtherPattern):
        result = tokenizer_parity(wrong, BPETokenizer)
        assert not result.passed and 0 < result.max_error <= 1 and "texts differ" in result.detail


def trainer_one_merge_short(input_path, vocab_size, special_tokens=None, *, pattern="gpt2", workers=None,
                            progress=False):
    return train_bpe(input_path, vocab_size - 1, special_tokens, pattern=pattern, workers=workers)


def trainer_other_tie_break(input_path, vocab_size, special_tokens=None, *, pattern="gpt2", workers=None,
                            progress=False):
    vocab, merges = train_bpe(input_path, vocab_size, special_tokens, pattern=pattern, workers=workers)
    merges[5], merges[6] = merges[6], merges[5]
    return vocab, merges


def test_bpe_trainer_check():
    assert bpe_trainer_parity(train_bpe, train_bpe).passed
    short = bpe_trainer_parity(trainer_one_merge_short, train_bpe)
    assert not short.passed and "merges differ" in short.detail
    swapped = bpe_trainer_parity(trainer_other_tie_break, train_bpe)
    assert not swapped.passed and "from #5" in swapped.detail
