"""Optional: crawl real Debian doc HTML on 127.0.0.1 with wget and run the pipeline on the WARC."""

import shutil
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "data"


@pytest.mark.slow
def test_pipeline_on_real_debian_doc_crawl(tmp_path):
    sys.path.insert(0, str(TOOLS))
    try:
        from crawl_debian_docs import crawl, find_html_dir
    finally:
        sys.path.remove(str(TOOLS))
    html = find_html_dir()
    if html is None:
        pytest.skip("no Debian doc HTML (python3.11-doc) installed or unpacked under /tmp/debdocs")
    if shutil.which("wget") is None:
        pytest.skip("wget is not installed")
    # A small slice of the site keeps the test short: a folder with a few dozen pages.
    subset = tmp_path / "site"
    shutil.copytree(html / "tutorial", subset)
    warc = crawl(subset, tmp_path / "crawl")

    from lmforge.core import load_config
    from lmforge.data import read_jsonl
    from lmforge.data.pipeline import run_pipeline
    from lmforge.data.pipeline_config import PipelineConfig

    cfg = load_config(
        PipelineConfig,
        data={
            "output_dir": str(tmp_path / "out"),
            "input": {"paths": [str(warc)]},
            "filters": [
                {"name": "language", "languages": ["en"], "min_score": 0.5},
                {"name": "gopher"},
                {"name": "pii_mask"},
            ],
            "dedup": [{"name": "minhash"}],
            "executor": {"name": "local", "workers": 1, "progress": False},
        },
    )
    stats = run_pipeline(cfg)
    assert stats["steps"][0]["in"] >= 10 and stats["kept"] >= 5
    docs = [d for f in (tmp_path / "out" / "final").glob("*.jsonl.gz") for d in read_jsonl(f)]
    assert any("Python" in d.text for d in docs)
    assert all(d.metadata["url"].startswith("http://127.0.0.1:") for d in docs)
