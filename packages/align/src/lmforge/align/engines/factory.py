"""Building a rollout engine by part name, whatever package registered it."""

from __future__ import annotations

from lmforge.core import get_part


def make_rollout_engine(name: str, model, *, stop_id: int | None = None, pad_id: int = 0, **options):
    """An engine with this package's interface (``generate(prompts, SamplingSettings)``,
    ``update_weights(model)``, ``close()``) from the registered part ``name``."""
    if name == "torch":  # lmforge-model's KV-cache generator: its own constructor and result type
        from .torch_adapter import adapt_torch_engine

        return adapt_torch_engine(get_part("rollout_engine", "torch")(model, eot_id=stop_id), model)
    return get_part("rollout_engine", name)(model, pad_id=pad_id, **options)


def hf_engine(model, **options):
    """transformers ``generate`` on an HF causal LM (lmforge models are converted through HF Llama)."""
    from .hf import HFRolloutEngine

    return HFRolloutEngine(model, **options)


def vllm_engine(model, **options):
    """vLLM 0.33 in-process (GPU): sleep mode, in-memory weight reload, processed log-probs."""
    from .vllm_engine import VLLMRolloutEngine

    options.pop("pad_id", None)
    return VLLMRolloutEngine(model, **options)
