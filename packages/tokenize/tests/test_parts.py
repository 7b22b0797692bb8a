import numpy as np

from lmforge.core import get_part, part_names


def test_every_tokenizer_part_is_registered_with_its_reference():
    from lmforge.core import get_registry

    assert {"bpe", "bpe-tiktoken", "bpe-hf", "char", "byte", "word"} <= set(part_names("tokenizer"))
    registry = get_registry()
    assert registry.part("tokenizer", "bpe-tiktoken").reference == "bpe"
    assert registry.part("tokenizer", "bpe-hf").reference == "bpe"


def test_lazy_parts_behave_like_their_classes(small_bpe):
    bpe = get_part("tokenizer", "bpe")
    assert isinstance(small_bpe, bpe)
    assert callable(bpe.from_files) and callable(bpe.load)


def test_decode_accepts_numpy_arrays(small_bpe):
    ids = small_bpe.encode("numpy ids")
    assert small_bpe.decode(np.asarray(ids, dtype=np.uint16)) == "numpy ids"
    byte = get_part("tokenizer", "byte")()
    assert byte.decode(np.asarray([104, 105], dtype=np.uint32)) == "hi"
