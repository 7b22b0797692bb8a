"""Loading and saving the policy: an lmforge TransformerLM or an HF causal LM, with its tokenizer."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lmforge.core import ConfigError, atomic_write

from .config import PolicyConfig

POLICY_FILE = "policy.json"


@dataclass
class Policy:
    model: Any
    tokenizer: Any
    source: str  # "lmforge" or "hf"
    model_config: Any = None  # lmforge ModelConfig when source == "lmforge"


def fresh_lmforge_policy(cfg: PolicyConfig, tokenizer, device: str) -> Policy:
    """A new TransformerLM from ``cfg.model`` (every model part selectable), sized to the tokenizer."""
    from lmforge.model import TransformerLM

    mcfg = dataclasses.replace(cfg.model, vocab_size=tokenizer.vocab_size)
    mcfg.validate()
    return Policy(TransformerLM.from_config(mcfg).to(device), tokenizer, "lmforge", mcfg)


def load_policy(cfg: PolicyConfig, task_name: str, device: str = "cpu") -> Policy:
    """The configured policy, with LoRA adapters when ``cfg.lora.rank`` > 0 (``device="auto"``: CUDA if
    there is one, else the CPU)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    policy = _load_base_policy(cfg, task_name, device)
    if cfg.lora.rank > 0:
        from .lora import apply_lora

        if policy.source != "lmforge":  # an HF checkpoint would drop the adapter weights on resume
            raise ConfigError("policy.lora needs an lmforge policy (source lmforge or smollm2)")
        apply_lora(policy.model, cfg.lora.rank, cfg.lora.alpha, list(cfg.lora.targets))
    return policy


def _load_base_policy(cfg: PolicyConfig, task_name: str, device: str) -> Policy:
    if cfg.source == "lmforge" and cfg.path is None:
        if task_name != "arithmetic":
            raise ConfigError(
                "a fresh lmforge policy has only the arithmetic character tokenizer: "
                "set policy.path to a trained policy for other tasks"
            )
        from .tasks.arithmetic import CharTokenizer

        return fresh_lmforge_policy(cfg, CharTokenizer(), device)
    if cfg.source in ("lmforge", "hf") and cfg.path:
        return load_saved_policy(cfg.path, device, hint=cfg.source)
    if cfg.source == "smollm2":
        from .smollm2 import load_smollm2_policy

        return load_smollm2_policy(device)
    raise ConfigError(
        f"policy.source must be lmforge, hf or smollm2 (with policy.path where needed), got {cfg.source!r}"
    )


def load_tokenizer(directory: Path):
    if (directory / "char_tokenizer.json").exists():
        from .tasks.arithmetic import CharTokenizer

        return CharTokenizer.load(directory)
    if (directory / "tokenizer.meta.json").exists():
        from lmforge.tokenize import load_tokenizer as load_lmforge_tokenizer

        return load_lmforge_tokenizer(directory)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(directory)


def load_saved_policy(path: str | Path, device: str = "cpu", hint: str = "lmforge") -> Policy:
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"policy.path {path} is not a directory")
    meta = json.loads((path / POLICY_FILE).read_text()) if (path / POLICY_FILE).exists() else {"source": hint}
    tokenizer = load_tokenizer(path)
    if (
        meta["source"] == "hf"
        or (path / "config.json").exists()
        and not (path / "model_config.json").exists()
    ):
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).to(device)
        return Policy(model, tokenizer, "hf")
    from safetensors.torch import load_file

    from lmforge.model import ModelConfig, TransformerLM

    mcfg = ModelConfig(**json.loads((path / "model_config.json").read_text()))
    model = TransformerLM.from_config(mcfg)
    model.load_state_dict(load_file(path / "model.safetensors"))
    return Policy(model.to(device), tokenizer, "lmforge", mcfg)


def save_policy(policy: Policy, directory: str | Path, merge: bool = True) -> Path:
    """The policy as a plain model (LoRA adapters merged into their layers), or with ``merge=False``
    (checkpoints) the base weights and the adapters as they are, so training resumes exactly."""
    from .lora import merged_copy

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tok = policy.tokenizer
    model = merged_copy(policy.model) if merge else policy.model
    if policy.source == "hf":
        model.save_pretrained(directory)
    else:
        from safetensors.torch import save_file

        # tied embeddings share storage; safetensors wants each tensor once, as a contiguous copy
        state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(state, str(directory / "model.safetensors"))
        atomic_write(directory / "model_config.json", json.dumps(policy.model_config.to_dict()))
    if hasattr(tok, "save_pretrained"):
        tok.save_pretrained(directory)
    elif hasattr(tok, "save"):
        tok.save(directory)
    atomic_write(directory / POLICY_FILE, json.dumps({"source": policy.source}))
    return directory
