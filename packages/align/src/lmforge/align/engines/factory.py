"""Building a rollout engine from its part reference, whatever package registered it.

Every engine part is built the same way, ``build_part("rollout_engine", ref, model)`` (the part called
with the model and the options beside its name);
an engine with the model package's interface (no ``update_weights``) is adapted by what it is, not
by its name.
"""

from __future__ import annotations

from lmforge.core import PartRef, build_part, check_part_options

from .torch_adapter import adapt_torch_engine


def make_rollout_engine(ref: PartRef | str, model, key: str = "rollout.engine"):
    """An engine with this package's interface (``generate(prompts, SamplingSettings)``,
    ``update_weights(model)``, ``close()``) from a part name or ``{name = ..., <options>}``; a misspelt
    option is a ConfigError naming ``key``, not a TypeError from inside the engine."""
    check_part_options("rollout_engine", ref, key)
    return adapt_torch_engine(build_part("rollout_engine", ref, model))


def hf_engine(model, **options):
    """transformers ``generate`` on an HF causal LM (lmforge models are converted through HF Llama)."""
    from .hf import HFRolloutEngine

    return HFRolloutEngine(model, **options)


def vllm_engine(model, **options):
    """vLLM 0.33 in-process (GPU): sleep mode, in-memory weight reload, processed log-probs."""
    from .vllm_engine import VLLMRolloutEngine

    return VLLMRolloutEngine(model, **options)
