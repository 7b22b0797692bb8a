"""Building a rollout engine by part name, whatever package registered it."""

from __future__ import annotations

from lmforge.core import get_part


def make_rollout_engine(name: str, model, **options):
    """``get_part("rollout_engine", name)(model, **options)``, adapting the ``torch`` part's interface."""
    factory = get_part("rollout_engine", name)
    engine = factory(model, **options)
    if name == "torch" or not hasattr(engine, "update_weights"):
        from .torch_adapter import adapt_torch_engine

        engine = adapt_torch_engine(engine, model)
    return engine


def hf_engine(model, **options):
    """transformers ``generate`` on an HF causal LM (lmforge models are converted through HF Llama)."""
    from .hf import HFRolloutEngine

    return HFRolloutEngine(model, **options)


def vllm_engine(model, **options):
    """vLLM 0.33 in-process (GPU): sleep mode, in-memory weight reload, processed log-probs."""
    from .vllm_engine import VLLMRolloutEngine

    return VLLMRolloutEngine(model, **options)
