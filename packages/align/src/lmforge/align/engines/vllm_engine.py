"""The ``vllm`` rollout engine: vLLM 0.33 in the trainer's process, weights synced in memory.

Lifecycle per RL step (one GPU shared by trainer and sampler):

1. ``generate``: wake the KV cache, reset the prefix cache, sample, then ``sleep(level=1)`` so the
   trainer gets the memory back for its forward/backward passes;
2. ``update_weights`` (after the optimizer step): ``wake_up(tags=["weights"])`` and hand the new
   weights to every worker with ``collective_rpc("reload_weights", kwargs={"weights_iterator": ...})``
   (vLLM's public in-place reload; never a reload from disk).

The engine must be created before the optimizer state exists, so that vLLM measures free memory
with only the policy resident; ``gpu_memory_utilization`` caps what it takes.
"""

from __future__ import annotations

import os
import tempfile

from ..rollout import Rollout, SamplingSettings, cut_at_stop
from .hf_weights import export_policy, iter_hf_weights


def _load_vllm():
    import vllm

    return vllm.LLM, vllm.SamplingParams


class VLLMRolloutEngine:
    def __init__(
        self,
        model,
        tokenizer=None,
        *,
        gpu_memory_utilization: float = 0.3,
        dtype: str = "auto",
        max_model_len: int | None = None,
        seed: int = 0,
        enforce_eager: bool = True,
        llm_cls=None,
        sampling_params_cls=None,
        **_ignored,
    ) -> None:
        # the engine core must live in this process: collective_rpc then passes the weights
        # iterator by reference instead of pickling tensors to another process
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        if llm_cls is None or sampling_params_cls is None:
            llm_cls, sampling_params_cls = _load_vllm()
        self.SamplingParams = sampling_params_cls
        self._dir = tempfile.TemporaryDirectory(prefix="lmforge-vllm-")
        export_policy(model, self._dir.name, tokenizer=None)
        kwargs = dict(
            model=self._dir.name,
            enable_sleep_mode=True,
            gpu_memory_utilization=gpu_memory_utilization,
            logprobs_mode="processed_logprobs",
            dtype=dtype,
            seed=seed,
            enforce_eager=enforce_eager,
            skip_tokenizer_init=True,
        )
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        self.llm = llm_cls(**kwargs)
        self.weights_awake = True
        self.kv_awake = True

    def _wake(self, tag: str) -> None:
        if tag == "weights" and not self.weights_awake:
            self.llm.wake_up(tags=["weights"])
            self.weights_awake = True
        if tag == "kv_cache" and not self.kv_awake:
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
        params = self.SamplingParams(
            n=settings.n,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_new_tokens,
            logprobs=0,
            seed=settings.seed,
            detokenize=False,
            stop_token_ids=[settings.stop_id] if settings.stop_id is not None else None,
        )
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
