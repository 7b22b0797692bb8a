"""SmolLM2-135M-Instruct imported into TransformerLM computes what the HF model computes."""

import pytest
import torch

from lmforge.align.smollm2 import chat_prompt, load_smollm2_hf, missing_smollm2_requirements

REASON = missing_smollm2_requirements()


@pytest.mark.slow
@pytest.mark.skipif(REASON is not None, reason=f"SmolLM2 unavailable: {REASON}")
def test_smollm2_import_matches_hf_logits_and_answers():
    from lmforge.align.engines.factory import make_rollout_engine
    from lmforge.align.rollout import SamplingSettings
    from lmforge.model import import_hf_llama

    torch.set_num_threads(1)
    hf, tok = load_smollm2_hf()
    model, cfg = import_hf_llama(hf)
    assert cfg.tie_embeddings and cfg.num_kv_heads == 3
    ids = tok.encode(chat_prompt(tok, "What is 2+3?"))
    with torch.no_grad():
        diff = (hf(torch.tensor([ids])).logits - model(torch.tensor([ids]))).abs().max().item()
    assert diff < 1e-3
    engine = make_rollout_engine("torch", model)
    out = engine.generate(
        [ids], SamplingSettings(max_new_tokens=12, temperature=0.0, stop_id=tok.eos_token_id)
    )
    assert "5" in tok.decode(out[0].token_ids)
