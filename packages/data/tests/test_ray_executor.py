import signal

import pytest

from lmforge.core import load_config
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import PipelineConfig


@pytest.mark.slow
def test_ray_executor_output_identical_to_local(tmp_path, warc_maker, crawl_builder, monkeypatch):
    # Set before ray is imported (the executor does the same when it is the first to import ray).
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray = pytest.importorskip("ray")
    crawl_builder(tmp_path / "crawl", warc_maker, n_shards=3, docs_per_shard=3)
    outputs = {}
    sigterm_before = signal.getsignal(signal.SIGTERM)
    for name, options in [
        ("local", {"workers": 2, "progress": False}),
        ("ray", {"num_cpus": 1, "progress": False}),
    ]:
        cfg = load_config(
            PipelineConfig,
            data={
                "output_dir": str(tmp_path / name),
                "input": {"paths": [str(tmp_path / "crawl" / "*.warc.gz")]},
                "filters": [
                    {"name": "length", "min_chars": 20},
                    {"name": "gopher"},
                    {"name": "pii_mask"},
                ],
                "dedup": [
                    {"name": "exact_line"},
                    {"name": "minhash", "num_hashes": 32, "num_bands": 8},
                ],
                "executor": {"name": name, **options},
            },
        )
        try:
            stats = run_pipeline(cfg)
            # Ray's own handler would make later forked pool workers ignore Pool.terminate().
            assert signal.getsignal(signal.SIGTERM) == sigterm_before
        finally:
            if name == "ray" and ray.is_initialized():
                ray.shutdown()
        outputs[name] = (
            {p.name: p.read_bytes() for p in sorted((tmp_path / name / "final").glob("*.jsonl.gz"))},
            [(s["step"], s["in"], s["kept"], s["dropped"]) for s in stats["steps"]],
        )
    assert outputs["ray"] == outputs["local"]
    assert len(outputs["local"][0]) == 4 and any(outputs["local"][0].values())
