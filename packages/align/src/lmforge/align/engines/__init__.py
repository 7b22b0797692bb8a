"""Rollout engines: ``hf`` (transformers generate) and ``vllm`` (GPU); ``torch`` comes from lmforge.model."""
