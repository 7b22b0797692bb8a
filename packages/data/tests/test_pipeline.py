import json

import numpy as np
import pytest

from lmforge.core import load_config
from lmforge.data import read_jsonl
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import PipelineConfig

EOT = "<|endoftext|>"


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    from lmforge.tokenize import BPETokenizer, train_bpe

    folder = tmp_path_factory.mktemp("tok")
    corpus = folder / "corpus.txt"
    corpus.write_text("The committee examined the history of the rivers and bridges. " * 50 + EOT)
    vocab, merges = train_bpe(corpus, 300, [EOT])
    BPETokenizer(vocab, merges, special_tokens=[EOT]).save(folder / "tokenizer")
    return folder / "tokenizer"


def _config(tmp_path, inputs, **extra):
    data = {
        "output_dir": str(tmp_path / "out"),
        "input": {"paths": [str(inputs / "*.warc.gz")]},
        "filters": [
            {"name": "length", "min_chars": 20},
            {"name": "language", "languages": ["en"], "min_score": 0.5},
            {"name": "gopher"},
            {"name": "pii_mask"},
        ],
        "dedup": [
            {"name": "exact_line"},
            {"name": "minhash", "num_hashes": 64, "num_bands": 16, "ngrams": 3, "jaccard_threshold": 0.7},
        ],
        "executor": {"name": "local", "workers": 2, "progress": False},
    }
    data.update(extra)
    return load_config(PipelineConfig, data=data)


def test_pipeline_end_to_end(tmp_path, warc_maker, crawl_builder, tokenizer_dir):
    planted = crawl_builder(tmp_path / "crawl", warc_maker)
    cfg = _config(tmp_path, tmp_path / "crawl", tokenize={"tokenizer_dir": str(tokenizer_dir)})
    stats = run_pipeline(cfg)
    steps = {s["step"]: s for s in stats["steps"]}
    assert stats["shards"] == 5
    assert steps["read"]["dropped"].get("not_html") == 1
    damaged = ("truncated_record", "corrupt_record", "truncated_or_bad_digest")
    assert sum(steps["read"]["dropped"].get(r, 0) for r in damaged) >= 1
    assert steps["extract"]["dropped"] == {"no_text": 1}
    assert steps["filter:language"]["dropped"] == {"language_other": 1}
    assert steps["filter:gopher"]["dropped"] == {"gopher_too_few_words": 1}
    # The truncated shard repeats shard 0's first pages: those lines and documents are duplicates too.
    assert steps["dedup:minhash"]["dropped"]["minhash_duplicate"] >= 1
    for s in stats["steps"]:
        assert s["in"] == s["kept"] + sum(s["dropped"].values()), s
    final = sorted((tmp_path / "out" / "final").glob("*.jsonl.gz"))
    assert len(final) == 5
    docs = [d for f in final for d in read_jsonl(f)]
    assert len(docs) == stats["kept"] > 10
    texts = "\n".join(d.text for d in docs)
    assert planted["pii"] not in texts and "|||EMAIL_ADDRESS|||" in texts and "|||PHONE_NUMBER|||" in texts
    assert "Caf\u00e9 M\u00fcnster" in texts
    assert sum(planted["exact_copy"].split("\n")[0] in d.text for d in docs) <= 1
    assert all(d.metadata["language"] == "en" and d.metadata["url"] for d in docs)

    from lmforge.tokenize import load_tokenizer, open_token_file

    tokens = open_token_file(tmp_path / "out" / "tokens.bin")
    tok = load_tokenizer(tokenizer_dir)
    assert int(np.sum(np.asarray(tokens) == tok.eot_id)) == len(docs)
    assert tok.decode(list(np.asarray(tokens[:200]).tolist())).startswith(docs[0].text[:50])
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["kept"] == len(docs)
    try:  # the trainer's loader (lmforge-model, needs torch) accepts the token file
        from lmforge.model.data import open_tokens
    except ImportError:
        open_tokens = None
    if open_tokens is not None:
        arr, meta = open_tokens(tmp_path / "out" / "tokens.bin")
        assert len(arr) == meta["count"] == len(tokens) and meta["eot_id"] == tok.eot_id

    # A rerun finds every marker and changes nothing.
    before = {f.name: f.read_bytes() for f in final}
    run_pipeline(cfg)
    assert {f.name: f.read_bytes() for f in final} == before


def test_parquet_output_and_stats_command(tmp_path, warc_maker, crawl_builder):
    from click.testing import CliRunner

    from lmforge.core.cli import build_cli
    from lmforge.data import read_parquet

    crawl_builder(tmp_path / "crawl", warc_maker, n_shards=2, docs_per_shard=3)
    cfg = _config(tmp_path, tmp_path / "crawl", output={"format": "parquet"}, dedup=[])
    stats = run_pipeline(cfg)
    docs = [d for f in sorted((tmp_path / "out" / "final").glob("*.parquet")) for d in read_parquet(f)]
    assert len(docs) == stats["kept"] > 0
    result = CliRunner().invoke(
        build_cli(), ["data", "stats", str(tmp_path / "out"), "--plot", str(tmp_path / "h.png")]
    )
    assert result.exit_code == 0, result.output
    assert "filter:gopher" in result.output and "gopher_too_few_words=1" in result.output
    assert (tmp_path / "h.png").stat().st_size > 1000  # language_score histogram


def test_resuming_with_a_different_config_is_refused(tmp_path):
    from lmforge.core import LmforgeError

    (tmp_path / "a.jsonl").write_text('{"text": "hello there"}\n')
    data = {
        "output_dir": str(tmp_path / "o"),
        "input": {"paths": [str(tmp_path / "a.jsonl")]},
        "executor": {"name": "local", "workers": 1, "progress": False},
    }
    run_pipeline(load_config(PipelineConfig, data=data))
    run_pipeline(
        load_config(PipelineConfig, data={**data, "executor": {"name": "local", "workers": 2}})
    )
    with pytest.raises(LmforgeError, match="different pipeline config"):
        run_pipeline(load_config(PipelineConfig, data={**data, "filters": [{"name": "gopher"}]}))


def test_bad_config_is_one_clear_error(tmp_path):
    from lmforge.core import ConfigError, UnknownPartError

    with pytest.raises(ConfigError):
        load_config(PipelineConfig, data={"output_dir": "x", "filters": [{"nam": "gopher"}]})
    cfg = load_config(PipelineConfig, data={"output_dir": str(tmp_path / "o"), "input": {"paths": ["nope*"]}})
    with pytest.raises(ConfigError, match="input.paths: 'nope\\*' matches no file"):  # issue 12 case 8
        run_pipeline(cfg)
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    cfg = load_config(
        PipelineConfig,
        data={
            "output_dir": str(tmp_path / "o2"),
            "input": {"paths": [str(tmp_path / "a.jsonl")]},
            "filters": [{"name": "gopherr"}],
        },
    )
    with pytest.raises(UnknownPartError):
        run_pipeline(cfg)
