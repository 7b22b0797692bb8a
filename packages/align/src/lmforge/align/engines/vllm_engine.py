"""The ``vllm`` rollout engine: vLLM 0.33 in the trainer's process, weights synced in memory.

Lifecycle per RL step (one GPU shared by trainer and sampler):

1. ``generate``: wake the KV cache, reset the prefix cache, sample, then ``sleep(level=1)`` so the
   trainer gets the memory back for its forward/backward passes;
2. ``update_weights`` (after the optimizer step): ``wake_up(tags=["weights"])`` and hand the new
   weights to every worker with ``collective_rpc("reload_weights", kwargs={"weights_iterator": ...})``
   (vLLM's public in-place reload; never a reload from disk).

The engine must be created before the optimizer state exists, so that vLLM measures free memory
with only the policy resident. Its KV cache is sized from the model (``kv_cache_memory_bytes``: every
layer's K and V for ``max_num_seqs`` sequences of ``max_model_len`` tokens, plus headroom), not as a
fraction of the GPU, which for a small policy means millions of blocks that ``reset_prefix_cache``
walks each step. It serves the policy in the policy's own dtype (vLLM's ``"auto"`` turns fp32 into
bf16, and the trainer's fp32 log-probs would then disagree). Each prompt gets its own well-mixed
seed (vLLM seeds child j with seed + j, so one seed for all prompts repeats noise across prompts and
steps). vLLM seeds the global RNGs in-process while it starts; the trainer's RNG state is restored.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch

from ..rollout import Rollout, SamplingSettings, cut_at_stop
from .hf_weights import export_policy, iter_hf_weights

KV_HEADROOM = 1.25  # block rounding and the scheduler's slack
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def policy_dtype(model) -> str:
    """The dtype name vLLM should serve ``model`` in: the dtype the trainer scores with."""
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def kv_cache_bytes(hf_config: dict, max_model_len: int, max_num_seqs: int, dtype: str) -> int:
    """K and V of every layer for ``max_num_seqs`` full-length sequences, with headroom."""
    heads = hf_config["num_attention_heads"]
    head_dim = hf_config.get("head_dim") or hf_config["hidden_size"] // heads
    kv_heads = hf_config.get("num_key_value_heads") or heads
    width = _DTYPE_BYTES.get(dtype, 4)  # "auto" or another name: size for fp32, an upper bound
    per_token = 2 * hf_config["num_hidden_layers"] * kv_heads * head_dim * width
    return int(math.ceil(per_token * max_model_len * max_num_seqs * KV_HEADROOM))


def prompt_seed(seed: int, prompt_index: int) -> int:
    """A 31-bit seed for one prompt of one step (splitmix64 of both): neighbouring steps and prompts
    get unrelated seeds, so the child ranges [seed, seed + n) vLLM uses do not overlap in practice."""
    z = (seed * 0x9E3779B97F4A7C15 + prompt_index * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return (z ^ (z >> 31)) & 0x7FFFFFFF


@contextmanager
def preserved_rng():
    """Restore Python's, NumPy's and torch's (CPU and CUDA) RNG state after the block."""
    state = (random.getstate(), torch.get_rng_state())
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        import numpy as np

        np_state = np.random.get_state()
    except ImportError:
        np, np_state = None, None
    try:
        yield
    finally:
        random.setstate(state[0])
        torch.set_rng_state(state[1])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        if np is not None:
            np.random.set_state(np_state)


def _load_vllm():
    import vllm

    return vllm.LLM, vllm.SamplingParams


class VLLMRolloutEngine:
    def __init__(
        self,
        model,
        tokenizer=None,
        *,
        dtype: str | None = None,
        max_model_len: int | None = None,
        max_num_seqs: int = 256,
        kv_cache_memory_bytes: int | None = None,
        seed: int = 0,
        enforce_eager: bool = True,
        llm_cls=None,
        sampling_params_cls=None,
    ) -> None:
        # the engine core must live in this process: collective_rpc then passes the weights
        # iterator by reference instead of pickling tensors to another process
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        if llm_cls is None or sampling_params_cls is None:
            llm_cls, sampling_params_cls = _load_vllm()
        self.SamplingParams = sampling_params_cls
        self._dir = tempfile.TemporaryDirectory(prefix="lmforge-vllm-")
        export_policy(model, self._dir.name, tokenizer=None)
        hf_config = json.loads((Path(self._dir.name) / "config.json").read_text())
        dtype = dtype or policy_dtype(model)
        max_model_len = max_model_len or hf_config["max_position_embeddings"]
        kwargs = dict(
            model=self._dir.name,
            enable_sleep_mode=True,
            kv_cache_memory_bytes=kv_cache_memory_bytes
            or kv_cache_bytes(hf_config, max_model_len, max_num_seqs, dtype),
            max_model_len=max_model_len,
            max_num_seqs=max_num_seqs,
            logprobs_mode="processed_logprobs",
            dtype=dtype,
            seed=seed,
            enforce_eager=enforce_eager,
            skip_tokenizer_init=True,
        )
        with preserved_rng():  # vLLM calls set_random_seed(seed) in this process
            self.llm = llm_cls(**kwargs)
        self.weights_awake = True
        self.kv_awake = True

    def _wake(self, tag: str) -> None:
        if tag == "weights" and not self.weights_awake:
            self.llm.wake_up(tags=["weights"])
            self.weights_awake = True
        if tag == "kv_cache" and not self.kv_awake:
            if torch.cuda.is_available():  # hand the trainer's cached blocks back before vLLM allocates
                torch.cuda.empty_cache()
            self.llm.wake_up(tags=["kv_cache"])
            self.kv_awake = True

    def sleep(self) -> None:
        if self.weights_awake or self.kv_awake:
            self.llm.sleep(level=1)
            self.weights_awake = self.kv_awake = False

    def update_weights(self, model) -> None:
        self._wake("weights")
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter_hf_weights(model)})

    def generate(self, prompts_ids: list[list[int]], settings: SamplingSettings) -> list[Rollout]:
        self._wake("weights")
        self._wake("kv_cache")
        # cached prefixes were computed by the old weights
        self.llm.reset_prefix_cache()
        params = [
            self.SamplingParams(
                n=settings.n,
                temperature=settings.temperature,
                top_p=settings.top_p,
                max_tokens=settings.max_new_tokens,
                logprobs=0,
                seed=None if settings.seed is None else prompt_seed(settings.seed, k),
                detokenize=False,
                stop_token_ids=[settings.stop_id] if settings.stop_id is not None else None,
            )
            for k in range(len(prompts_ids))
        ]
        outputs = self.llm.generate(
            [{"prompt_token_ids": list(p)} for p in prompts_ids], params, use_tqdm=False
        )
        rollouts = []
        for k, request in enumerate(outputs):
            for completion in request.outputs:
                tokens = list(completion.token_ids)
                # logprobs=0 returns the sampled token's own log-prob at every step
                logps = [float(step[t].logprob) for step, t in zip(completion.logprobs, tokens)]
                tokens, logps = cut_at_stop(tokens, logps, settings.stop_id)
                rollouts.append(Rollout(k, list(prompts_ids[k]), tokens, logps))
        self.sleep()
        return rollouts

    def close(self) -> None:
        self._dir.cleanup()
