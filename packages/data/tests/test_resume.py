"""A run killed with SIGKILL mid-way, then rerun, gives exactly the output of an uninterrupted run."""

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent('''
    import sys, time, types
    from lmforge.core import get_host, hookimpl, load_config
    from lmforge.data.pipeline import run_pipeline
    from lmforge.data.pipeline_config import PipelineConfig

    class Slow:
        """A filter that only takes time, so the test can kill the run mid-way."""
        def filter(self, doc):
            time.sleep(0.04)
            return True

    @hookimpl
    def register_doc_filters(register):
        register("slow_for_test", Slow)

    plugin = types.ModuleType("slowtest")
    plugin.register_doc_filters = register_doc_filters
    get_host().add_plugin(plugin, name="slowtest")
    cfg = load_config(PipelineConfig, data={
        "output_dir": sys.argv[1],
        "input": {"paths": [sys.argv[2] + "/*.warc.gz"]},
        "filters": [{"name": "slow_for_test"}, {"name": "length", "min_chars": 20},
                    {"name": "gopher"}, {"name": "pii_mask"}],
        "dedup": [{"name": "minhash", "num_hashes": 32, "num_bands": 8, "ngrams": 3}],
        "executor": {"name": "local", "workers": 2, "progress": False},
    })
    run_pipeline(cfg)
''')


def _run(args, **kw):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, *map(str, args)], start_new_session=True, **kw)


def _outputs(folder):
    return {
        p.name: p.read_bytes() for p in sorted((folder / "final").iterdir()) if not p.name.startswith(".")
    }


def test_sigkill_then_rerun_equals_uninterrupted(tmp_path, warc_maker, crawl_builder):
    crawl_builder(tmp_path / "crawl", warc_maker, n_shards=8, docs_per_shard=6)
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    assert _run([clean, tmp_path / "crawl"]).wait(timeout=120) == 0

    proc = _run([crashed, tmp_path / "crawl"])
    stage1 = crashed / "stage1"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(stage1.glob("*.done.json"))) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: parent and pool workers
    proc.wait()
    done = len(list(stage1.glob("*.done.json")))
    assert 2 <= done < 9, "the run must be killed part-way through stage one"
    assert not (crashed / "stats.json").exists()
    # Nothing half-written is visible under an output name: every visible shard is a complete gzip.
    for p in stage1.glob("*.jsonl.gz"):
        if not p.name.startswith("."):
            gzip.decompress(p.read_bytes())

    assert _run([crashed, tmp_path / "crawl"]).wait(timeout=120) == 0
    assert _outputs(crashed) == _outputs(clean) and len(_outputs(clean)) == 18
    assert not list(stage1.glob(".*.tmp"))
