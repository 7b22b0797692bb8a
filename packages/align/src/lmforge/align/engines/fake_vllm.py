"""A stand-in for the part of vLLM 0.33's API the ``vllm`` engine touches, backed by a CPU HF model.

It is strict where the real engine fails (or silently goes wrong): generating while asleep,
reloading weights into offloaded memory, unknown or missing weight names, wrong shapes, and sampling
from a stale prefix cache after a reload. With ``logprobs_mode="raw_logprobs"`` (vLLM's default) it
reports log-probs before temperature, as vLLM does, so the preflight check can be tested. Like vLLM it
resolves ``dtype="auto"`` for an fp32 checkpoint to bf16 (the GPU platform's preferred dtype), seeds
the process's global RNGs at start (``set_random_seed``), seeds child j of a request with seed + j,
and takes one ``SamplingParams`` or a list with one per prompt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ..sampling_math import processed_log_probs


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    logprobs: int | None = None
    seed: int | None = None
    detokenize: bool = True
    stop_token_ids: list[int] | None = None


@dataclass
class Logprob:
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class CompletionOutput:
    index: int
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None
    text: str = ""


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]


class FakeLLM:
    def __init__(
        self,
        model: str,
        enable_sleep_mode: bool = False,
        gpu_memory_utilization: float = 0.9,
        logprobs_mode: str = "raw_logprobs",
        dtype: str = "auto",
        seed: int = 0,
        enforce_eager: bool = False,
        skip_tokenizer_init: bool = False,
        max_model_len: int | None = None,
        max_num_seqs: int | None = None,
        kv_cache_memory_bytes: int | None = None,
    ) -> None:
        from transformers import AutoModelForCausalLM

        if not 0 < gpu_memory_utilization <= 1:
            raise ValueError("gpu_memory_utilization must be in (0, 1]")
        if kv_cache_memory_bytes is not None and (
            not isinstance(kv_cache_memory_bytes, int) or kv_cache_memory_bytes <= 0
        ):
            raise ValueError(f"kv_cache_memory_bytes must be a positive int, got {kv_cache_memory_bytes!r}")
        if logprobs_mode not in ("raw_logprobs", "raw_logits", "processed_logprobs", "processed_logits"):
            raise ValueError(f"unknown logprobs_mode {logprobs_mode!r}")
        random.seed(seed)  # vLLM's set_random_seed, in this process
        torch.manual_seed(seed)
        self.dtype = "bfloat16" if dtype == "auto" else dtype  # an fp32 checkpoint, served on a GPU
        self.kv_cache_memory_bytes = kv_cache_memory_bytes
        self.max_num_seqs = max_num_seqs
        self.model = AutoModelForCausalLM.from_pretrained(
            model, torch_dtype=getattr(torch, self.dtype)
        ).eval()
        self.enable_sleep_mode = enable_sleep_mode
        self.logprobs_mode = logprobs_mode
        self.asleep: set[str] = set()
        self.prefix_cache_stale = False
        self.calls: list[str] = []
        self.seed = seed

    # --- sleep mode -----------------------------------------------------------------------------
    def sleep(self, level: int = 1) -> None:
        if not self.enable_sleep_mode:
            raise ValueError("Sleep mode is not enabled (LLM(..., enable_sleep_mode=True))")
        self.calls.append(f"sleep({level})")
        self.asleep = {"weights", "kv_cache"}

    def wake_up(self, tags: list[str] | None = None) -> None:
        self.calls.append(f"wake_up({tags})")
        self.asleep -= set(tags or ["weights", "kv_cache"])

    def reset_prefix_cache(self) -> bool:
        self.calls.append("reset_prefix_cache")
        self.prefix_cache_stale = False
        return True

    # --- weight sync ----------------------------------------------------------------------------
    def collective_rpc(
        self, method: str, timeout: float | None = None, args: tuple = (), kwargs: dict | None = None
    ):
        self.calls.append(f"collective_rpc({method})")
        if method != "reload_weights":
            raise AttributeError(f"worker has no method {method!r}")
        return [self._reload_weights(*args, **(kwargs or {}))]

    def _reload_weights(self, weights_iterator=None, process_weights_after_loading: bool = True) -> None:
        if weights_iterator is None:
            raise AssertionError("reload from disk requested: the trainer must send weights in memory")
        if "weights" in self.asleep:
            raise RuntimeError("reload_weights while the weights are asleep (call wake_up(tags=['weights']))")
        params = dict(self.model.named_parameters())
        tied = self.model.config.tie_word_embeddings
        seen = set()
        for name, tensor in weights_iterator:
            if name == "lm_head.weight" and tied:
                seen.add(name)
                continue  # vLLM skips it for tied models: the embedding is the head
            if name not in params:
                raise KeyError(f"unknown weight name {name!r} for the served Llama model")
            if tuple(params[name].shape) != tuple(tensor.shape):
                raise ValueError(f"{name}: shape {tuple(tensor.shape)} != {tuple(params[name].shape)}")
            with torch.no_grad():
                params[name].copy_(tensor.to(params[name].dtype))
            seen.add(name)
        missing = set(params) - seen
        if missing:
            raise KeyError(f"weights not sent: {sorted(missing)[:5]}")
        self.prefix_cache_stale = True

    # --- sampling -------------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(
        self, prompts, sampling_params: SamplingParams | list[SamplingParams], use_tqdm: bool = True
    ) -> list[RequestOutput]:
        if self.asleep:
            raise RuntimeError(f"generate() while asleep ({sorted(self.asleep)}): call wake_up() first")
        if self.prefix_cache_stale:
            raise RuntimeError("generate() after reload_weights without reset_prefix_cache(): stale KV")
        self.calls.append("generate")
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params] * len(prompts)
        if len(params) != len(prompts):
            raise ValueError("the lengths of prompts and sampling_params must be the same")
        self.last_params = params
        results = []
        for prompt, sp in zip(prompts, params):
            ids = list(prompt["prompt_token_ids"])
            completions = []
            for j in range(sp.n):
                gen = torch.Generator().manual_seed((sp.seed if sp.seed is not None else self.seed) + j)
                seq, steps = list(ids), []
                for _ in range(sp.max_tokens):
                    logits = self.model(torch.tensor([seq])).logits[0, -1].float()
                    processed = processed_log_probs(logits, sp.temperature, sp.top_p)
                    if sp.temperature <= 0:
                        tok = int(processed.argmax())
                    else:
                        tok = int(torch.multinomial(processed.exp(), 1, generator=gen))
                    reported = (
                        processed
                        if self.logprobs_mode == "processed_logprobs"
                        else torch.log_softmax(logits.float(), -1)
                    )
                    steps.append({tok: Logprob(float(reported[tok]), rank=1)})
                    seq.append(tok)
                    if sp.stop_token_ids and tok in sp.stop_token_ids:
                        break
                completions.append(
                    CompletionOutput(j, seq[len(ids) :], steps if sp.logprobs is not None else None)
                )
            results.append(RequestOutput(ids, completions))
        return results
