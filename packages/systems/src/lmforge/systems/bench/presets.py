"""Model size presets for benchmarks (vocab 10,000, batch 4), as in the course assignment."""

from __future__ import annotations

SIZES = {
    "small": dict(d_model=768, d_ff=3072, num_layers=12, num_heads=12),
    "medium": dict(d_model=1024, d_ff=4096, num_layers=24, num_heads=16),
    "large": dict(d_model=1280, d_ff=5120, num_layers=36, num_heads=20),
    "xl": dict(d_model=1600, d_ff=6400, num_layers=48, num_heads=25),
    "2.7b": dict(d_model=2560, d_ff=10240, num_layers=32, num_heads=32),
    # not in the assignment: small enough for tests and CPU smoke runs
    "tiny": dict(d_model=64, d_ff=256, num_layers=2, num_heads=4),
}
VOCAB = 10_000
BATCH = 4


def model_config(size: str, context: int, attention: str = "reference", norm: str = "rmsnorm",
                 checkpoint_activations: int = 0, vocab_size: int = VOCAB):
    from lmforge.core import LmforgeError
    from lmforge.model import ModelConfig

    if size not in SIZES:
        raise LmforgeError(f"unknown size {size!r}; known: {', '.join(SIZES)}")
    return ModelConfig(vocab_size=vocab_size, context_length=context, attention=attention, norm=norm,
                       checkpoint_activations=checkpoint_activations, **SIZES[size])
