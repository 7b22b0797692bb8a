"""The pipeline over fsspec URLs: ``memory://`` with the local executor, and ``s3://`` (a local moto
server speaking the real S3 API) with the Ray executor on two local workers; both give the local run's
output. The output-dir lock on object storage is a lock object created exclusively."""

from __future__ import annotations

import gzip
import json
import re
import signal

import pytest
from click.testing import CliRunner

from lmforge.core import ConfigError, LmforgeError, load_config
from lmforge.core.cli import build_cli
from lmforge.data import storage
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import PipelineConfig
from lmforge.data.stats_report import load_stats


def _config(inputs: str, out: str, executor: dict) -> PipelineConfig:
    return load_config(
        PipelineConfig,
        data={
            "output_dir": out,
            # small byte-range shards: splitting and WARC resync read the remote files in windows
            "input": {"paths": [inputs], "shard_bytes": 3000},
            "filters": [{"name": "length", "min_chars": 20}, "gopher", "pii_mask"],
            "dedup": ["exact_line", {"name": "minhash", "num_hashes": 32, "num_bands": 8}],
            "output": {"exclusions": True},
            "executor": executor,
        },
    )


def _documents(out: str, local_crawl: str, remote_crawl: str) -> dict:
    """Final and excluded documents by shard (its readable stem: the path hash differs between the
    copies) with ``source`` mapped back to the local copy, plus the stats' step counts."""
    docs = {}
    for sub in ("final", "excluded"):
        for path in storage.glob(storage.join(out, sub, "*.jsonl.gz")):
            stem = re.sub(r"-[0-9a-f]{8}(-\d{4})?\.jsonl\.gz$", r"\1", storage.name_of(path))
            lines = gzip.decompress(storage.read_bytes(path)).decode().splitlines()
            docs[(sub, stem)] = [
                json.loads(line.replace(remote_crawl.rstrip("/"), local_crawl.rstrip("/"))) for line in lines
            ]
    stats = json.loads(storage.read_text(storage.join(out, "stats.json")))
    return {"docs": docs, "steps": [(s["step"], s["in"], s["kept"], s["dropped"]) for s in stats["steps"]]}


def _upload(local_folder, url_folder: str) -> None:
    for p in sorted(local_folder.iterdir()):
        storage.write_atomic(storage.join(url_folder, p.name), p.read_bytes())


def _local_reference(tmp_path, warc_maker, crawl_builder):
    crawl = tmp_path / "crawl"
    crawl_builder(crawl, warc_maker, n_shards=3, docs_per_shard=6)
    out = str(tmp_path / "local")
    run_pipeline(_config(str(crawl / "*.warc.gz"), out, {"name": "local", "workers": 2, "progress": False}))
    return crawl, out


def test_memory_filesystem_run_equals_the_local_run(tmp_path, warc_maker, crawl_builder):
    crawl, local_out = _local_reference(tmp_path, warc_maker, crawl_builder)
    remote = "memory://lmforge-test/crawl"
    _upload(crawl, remote)
    out = "memory://lmforge-test/out"
    try:
        in_process = {"name": "local", "workers": 1, "progress": False}
        stats = run_pipeline(_config(f"{remote}/*.warc.gz", out, in_process))
        assert stats["shards"] > 4  # byte-range shards of the remote files
        assert _documents(out, str(crawl), remote) == _documents(local_out, str(crawl), str(crawl))
        assert not storage.isfile(storage.join(out, storage.LOCK_NAME))  # released at the end
        assert load_stats(out)["kept"] == stats["kept"]  # `lmforge data stats memory://...`
        assert not storage.glob(storage.join(out, "stage1", "*.jsonl.gz"))  # intermediates deleted
        # A rerun finds the finished run's stats; a changed remote input is redone.
        assert run_pipeline(_config(f"{remote}/*.warc.gz", out, in_process))["kept"] == stats["kept"]
        storage.write_atomic(f"{remote}/crawl-0.warc.gz", (crawl / "crawl-1.warc.gz").read_bytes())
        redone = run_pipeline(_config(f"{remote}/*.warc.gz", out, in_process))
        assert redone["input_key"] != stats["input_key"]
        # crawl-1 holds an image record: read (and dropped) now in place of crawl-0's pages
        assert redone["steps"][0]["dropped"]["not_html"] == stats["steps"][0]["dropped"]["not_html"] + 1
        # `lmforge data run --resume URL` reads the config the run saved there (a URL is not a Path)
        resumed = CliRunner().invoke(build_cli(), ["data", "run", "--resume", out], catch_exceptions=False)
        assert resumed.exit_code == 0, resumed.output
        assert f"stats: {out}/stats.json" in resumed.output  # the saved config's output dir, unfolded
        missing = CliRunner().invoke(build_cli(), ["data", "run", "--resume", "memory://lmforge-test/none"])
        assert missing.exit_code != 0 and "no pipeline run there" in str(missing.exception or missing.output)

        # Forked workers would write into their own copy of memory://: refused before any write.
        with pytest.raises(ConfigError, match="memory://"):
            run_pipeline(_config(f"{remote}/*.warc.gz", "memory://lmforge-test/out2", {"name": "local"}))
        assert not storage.isdir("memory://lmforge-test/out2")
        # An output inside the input folder is refused for URLs too.
        with pytest.raises(ConfigError, match="inside the input folder"):
            run_pipeline(_config(f"{remote}/*.warc.gz", f"{remote}/run", in_process))
        # The lock object keeps a second run out (its holder is named) and is left alone.
        with storage.lock_output(out), pytest.raises(LmforgeError, match="being written by pid"):
            run_pipeline(_config(f"{remote}/*.warc.gz", out, in_process))
    finally:
        storage.rmtree("memory://lmforge-test")


@pytest.fixture
def s3_server(monkeypatch):
    """A moto S3 server on 127.0.0.1 (a random port); s3fs reaches it through the AWS_* variables,
    which Ray's local workers inherit."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }.items():
        monkeypatch.setenv(key, value)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # a cached instance would still point at an old server
    s3fs.S3FileSystem().mkdir("lmforge-test")
    yield "s3://lmforge-test"
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


@pytest.mark.slow
def test_ray_over_s3_equals_the_local_run(tmp_path, warc_maker, crawl_builder, s3_server, monkeypatch):
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # before ray is imported
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # workers an earlier test started lack this test's AWS_* variables
        ray.shutdown()
    crawl, local_out = _local_reference(tmp_path, warc_maker, crawl_builder)
    remote = f"{s3_server}/crawl"
    _upload(crawl, remote)
    out = f"{s3_server}/out"
    sigterm_before = signal.getsignal(signal.SIGTERM)
    try:
        stats = run_pipeline(
            _config(f"{remote}/*.warc.gz", out, {"name": "ray", "num_cpus": 2, "progress": False})
        )
        assert signal.getsignal(signal.SIGTERM) == sigterm_before
    finally:
        if ray.is_initialized():
            ray.shutdown()
    assert stats["shards"] > 4
    assert _documents(out, str(crawl), remote) == _documents(local_out, str(crawl), str(crawl))
    assert storage.isfile(f"{out}/config.toml") and not storage.isfile(f"{out}/{storage.LOCK_NAME}")
    # S3's conditional put (If-None-Match) refuses a second holder of the lock object.
    with storage.lock_output(out), pytest.raises(LmforgeError, match="being written by pid"):
        with storage.lock_output(out):
            pass


def test_tokens_of_a_memory_run_equal_the_local_run(tmp_path):
    """The encoder works on local files: for a remote output the token file is made in a local temp
    folder and uploaded with its sidecar."""
    import numpy as np

    from lmforge.tokenize import BPETokenizer, train_bpe

    eot = "<|endoftext|>"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("The committee examined the history of the rivers and bridges. " * 50 + eot)
    vocab, merges = train_bpe(corpus, 300, [eot])
    BPETokenizer(vocab, merges, special_tokens=[eot]).save(tmp_path / "tok")
    src = tmp_path / "in" / "docs.jsonl"
    src.parent.mkdir()
    src.write_text(
        "".join(json.dumps({"id": str(i), "text": f"The rivers {i} and bridges."}) + "\n" for i in range(9))
    )
    tokens = {}
    for out in (str(tmp_path / "local"), "memory://lmforge-tok/out"):
        try:
            cfg = load_config(
                PipelineConfig,
                data={
                    "output_dir": out,
                    "input": {"paths": [str(src)]},
                    "tokenize": {"tokenizer_dir": str(tmp_path / "tok")},
                    "executor": {"name": "local", "workers": 1, "progress": False},
                },
            )
            stats = run_pipeline(cfg)
            meta = json.loads(storage.read_text(storage.join(out, "tokens.bin.json")))
            assert meta == stats["tokens"] and meta["count"] > 9
            tokens[out] = np.frombuffer(
                storage.read_bytes(storage.join(out, "tokens.bin")), dtype=meta["dtype"]
            )
        finally:
            if out.startswith("memory://"):
                storage.rmtree("memory://lmforge-tok")
    local, remote = tokens.values()
    assert np.array_equal(local, remote)
