"""Each silent failure of issue 13 now fails loudly, is refused, or is redone; these failed before."""

from __future__ import annotations

import gzip
import json
import os
import types

import pytest
from click.testing import CliRunner

from lmforge.core import ConfigError, LmforgeError, get_host, hookimpl, load_config
from lmforge.core.cli import build_cli
from lmforge.data import SkipCounter, read_jsonl
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import PipelineConfig

PROSE = (
    "The survey documented the condition of the old bridges in the region with great care. "
    "Several residents described how the rivers changed over the last century and why."
)
BUG = {"on": True}


class BuggyFilter:
    """Raises on one document while ``BUG["on"]``: stands in for a filter with a bug."""

    def __init__(self, bad_id: str = "b-3") -> None:
        self.bad_id = bad_id

    def filter(self, doc):
        if BUG["on"] and doc.id == self.bad_id:
            raise ValueError("boom")
        return True


@pytest.fixture
def buggy_plugin():
    @hookimpl
    def register_doc_filters(register):
        register("buggy_for_test", BuggyFilter)

    plugin = types.ModuleType("buggytest")
    plugin.register_doc_filters = register_doc_filters
    get_host().add_plugin(plugin, name="buggytest")
    BUG["on"] = True
    yield
    get_host().remove_plugin("buggytest")


def _jsonl(path, prefix, n, text=PROSE):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps({"id": f"{prefix}-{i}", "text": f"{i} {text}"}) + "\n" for i in range(n))
    )
    return path


def _config(tmp_path, paths, filters=(), **extra):
    data = {
        "output_dir": str(tmp_path / "out"),
        "input": {"paths": [str(p) for p in paths]},
        "filters": list(filters) or [{"name": "length", "min_chars": 5}],
        "executor": {"name": "local", "workers": 1, "progress": False},
    }
    data.update(extra)
    return load_config(PipelineConfig, data=data)


def _final_docs(out):
    return sorted(d.id for f in sorted((out / "final").glob("*.jsonl.gz")) for d in read_jsonl(f))


def _cli(config, *args):
    """Exit code and everything the user sees (main() prints a raised LmforgeError as one line)."""
    result = CliRunner().invoke(build_cli(), ["data", "run", "--config", str(config), *args])
    return result.exit_code, result.output + str(result.exception or "")


def _toml(tmp_path, paths, filter_name):
    path = tmp_path / "p.toml"
    path.write_text(
        f'output_dir = "{tmp_path / "out"}"\n[input]\npaths = {json.dumps([str(p) for p in paths])}\n'
        f'[[filters]]\nname = "{filter_name}"\n[executor]\nname = "local"\n'
        "workers = 1\nprogress = false\n"
    )
    return path


def test_a_filter_bug_fails_the_run_naming_step_shard_and_document(tmp_path, buggy_plugin):
    inputs = [_jsonl(tmp_path / "in" / "a.jsonl", "a", 5), _jsonl(tmp_path / "in" / "b.jsonl", "b", 5)]
    inputs.append(_jsonl(tmp_path / "in" / "c.jsonl", "c", 5))
    config = _toml(tmp_path, [tmp_path / "in" / "*.jsonl"], "buggy_for_test")
    code, shown = _cli(config)
    assert code != 0
    assert "filter:buggy_for_test" in shown and "b-3" in shown
    assert "b.jsonl" in shown and "ValueError: boom" in shown
    stage1 = tmp_path / "out" / "stage1"
    assert not list(stage1.glob("b.jsonl-*.done.json")), "a failed shard must not be marked done"
    assert not list(stage1.glob("c.jsonl-*.done.json")), "without --keep-going the run stops"
    assert not (tmp_path / "out" / "stats.json").exists()
    failures = json.loads((tmp_path / "out" / "failures.json").read_text())
    assert failures[0]["failed"]["document"] == "b-3" and "Traceback" in failures[0]["failed"]["traceback"]

    code, shown = _cli(config, "--keep-going")
    assert code != 0 and "b-3" in shown
    assert list(stage1.glob("c.jsonl-*.done.json")), "--keep-going finishes the other shards"

    BUG["on"] = False  # the fix: the rerun redoes the failed shard instead of trusting a marker
    code, shown = _cli(config)
    assert code == 0, shown
    assert len(_final_docs(tmp_path / "out")) == 15
    assert not (tmp_path / "out" / "failures.json").exists()


def test_one_bad_byte_in_a_jsonl_file_costs_one_line(tmp_path):
    lines = [json.dumps({"id": str(i), "text": f"document {i}"}).encode() for i in range(1000)]
    lines[2] = lines[2].replace(b"document", b"docum\xffent")
    for name, opener in (("x.jsonl", open), ("x.jsonl.gz", gzip.open)):
        with opener(tmp_path / name, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        skipped = SkipCounter()
        docs = list(read_jsonl(tmp_path / name, skipped))
        assert len(docs) == 999 and "2" not in {d.id for d in docs}
        assert skipped.counts == {"undecodable": 1}


def test_utf8_page_declared_windows_1252_is_decoded_right_and_counted(tmp_path, warc_maker, page_maker):
    body = page_maker("t", ["Caf\u00e9 na\u00efve " + PROSE])
    assert b"\xc3\xa9" in body
    (tmp_path / "in").mkdir()
    warc_maker(tmp_path / "in" / "c.warc.gz", [("http://x.test/", body, "text/html; charset=windows-1252")])
    stats = run_pipeline(_config(tmp_path, [tmp_path / "in" / "c.warc.gz"]))
    extract = next(s for s in stats["steps"] if s["step"] == "extract")
    assert extract["noted"] == {"charset_mismatch": 1}
    from lmforge.data.stats_report import format_table

    assert "charset_mismatch=1 (kept)" in format_table(stats)
    (doc,) = [d for f in (tmp_path / "out" / "final").glob("*.jsonl.gz") for d in read_jsonl(f)]
    assert "Caf\u00e9 na\u00efve" in doc.text and "\u00c3" not in doc.text


@pytest.mark.parametrize(
    "bad",
    [
        {"filters": [{"name": "gopherr"}]},
        {"filters": [{"name": "gopher", "min_wordz": 3}]},
        {"filters": [{"name": "pii_mask", "x": 1}]},
        {"output": {"format": "csv"}},
        {"executor": {"name": "local", "wrokers": 2}},
        # parts are picked one way (a name or {name, <options>}): the old nested `options` is refused
        {"filters": [{"name": "length", "options": {"min_chars": 5}}]},
        {"extract": {"extractor": {"name": "resiliparse", "bogus": 1}}},
        {
            "filters": [
                {"name": "classifier", "classifier": {"name": "nsfw", "model": "x"}, "drop_label": "nsfw"}
            ]
        },
        {"tokenize": {"tokenizer_dir": "tok", "out": "../../x.bin"}},
        {"tokenize": {"tokenizer_dir": "tok", "out": "/tmp/x/abs.bin"}},
    ],
)
def test_invalid_config_writes_nothing_and_the_fixed_one_then_runs(tmp_path, bad):
    src = _jsonl(tmp_path / "in" / "a.jsonl", "a", 3)
    with pytest.raises(LmforgeError):
        run_pipeline(_config(tmp_path, [src], **bad))
    assert not (tmp_path / "out").exists(), "validation must precede every write (the fingerprint too)"
    assert not (tmp_path.parent / "x.bin").exists()
    run_pipeline(_config(tmp_path, [src]))
    assert _final_docs(tmp_path / "out") == ["a-0", "a-1", "a-2"]


def test_output_dir_inside_an_input_dir_is_refused(tmp_path):
    _jsonl(tmp_path / "data" / "a.jsonl", "a", 3)
    for paths in ([tmp_path / "data"], [tmp_path / "data" / "**" / "*.jsonl"]):
        cfg = _config(tmp_path, paths, output_dir=str(tmp_path / "data" / "out"))
        with pytest.raises(ConfigError, match="inside the input folder"):
            run_pipeline(cfg)
        assert not (tmp_path / "data" / "out").exists()


def test_a_second_run_on_the_same_output_dir_is_refused(tmp_path):
    import subprocess
    import sys

    src = _jsonl(tmp_path / "in" / "a.jsonl", "a", 3)
    (tmp_path / "out").mkdir()
    holder = subprocess.Popen(  # another process with a run in progress
        [
            sys.executable,
            "-c",
            "import sys; from lmforge.core import lock_dir\n"
            f"lock = lock_dir({str(tmp_path / 'out')!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LmforgeError, match=f"being written by pid {holder.pid} on host"):
            run_pipeline(_config(tmp_path, [src]))
        assert not (tmp_path / "out" / "stage1").exists()
    finally:
        holder.communicate("", timeout=60)
    run_pipeline(_config(tmp_path, [src]))  # released with the first run


def test_an_input_replaced_in_place_is_redone(tmp_path):
    src = _jsonl(tmp_path / "in" / "a.jsonl", "a", 20)
    assert run_pipeline(_config(tmp_path, [src]))["kept"] == 20
    _jsonl(src, "a", 4)
    assert run_pipeline(_config(tmp_path, [src]))["kept"] == 4
    assert len(_final_docs(tmp_path / "out")) == 4


def test_verify_inputs_hash_sees_a_same_size_same_mtime_change(tmp_path):
    src = _jsonl(tmp_path / "in" / "a.jsonl", "a", 5)
    st = os.stat(src)
    run_pipeline(_config(tmp_path, [src]), verify_inputs="hash")
    src.write_text(src.read_text().replace('"a-', '"z-'))  # same size
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _final_docs(tmp_path / "out")[0] == "a-0"
    run_pipeline(_config(tmp_path, [src]), verify_inputs="hash")
    assert _final_docs(tmp_path / "out")[0] == "z-0"


def test_shard_ids_are_stable_when_files_are_added_and_stale_outputs_go(tmp_path):
    b, c = _jsonl(tmp_path / "in" / "b.jsonl", "b", 3), _jsonl(tmp_path / "in" / "c.jsonl", "c", 3)
    cfg = _config(tmp_path, [tmp_path / "in" / "*.jsonl"], keep_intermediate=True)
    run_pipeline(cfg)
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in (out / "final").glob("*.jsonl.gz")}
    markers = {p.name: p.stat().st_mtime_ns for p in (out / "stage1").glob("*.done.json")}
    _jsonl(tmp_path / "in" / "a.jsonl", "a", 3)  # sorts first
    run_pipeline(cfg)
    after = {p.name: p.read_bytes() for p in (out / "final").glob("*.jsonl.gz")}
    assert {k: v for k, v in after.items() if not k.startswith("a.jsonl")} == before
    assert {p.name: p.stat().st_mtime_ns for p in (out / "stage1").glob("b*.done.json")} == {
        k: v for k, v in markers.items() if k.startswith("b")
    }, "unchanged shards are not redone"
    b.unlink()
    c.unlink()
    run_pipeline(cfg)
    assert _final_docs(out) == ["a-0", "a-1", "a-2"]
    assert [p.name[:1] for p in (out / "stage1").iterdir() if not p.name.startswith(".")] == ["a", "a"]


def test_exclusion_writer_keeps_dropped_documents_with_reason(tmp_path):
    src = tmp_path / "in" / "a.jsonl"
    src.parent.mkdir()
    src.write_text(
        "\n".join(json.dumps({"id": str(i), "text": "x" if i % 2 else PROSE * 3}) for i in range(6)) + "\n"
    )
    cfg = _config(
        tmp_path,
        [src],
        filters=[{"name": "length", "min_chars": 20}, {"name": "gopher"}],
        output={"exclusions": True},
    )
    stats = run_pipeline(cfg)
    excluded = [d for f in (tmp_path / "out" / "excluded").glob("*.jsonl.gz") for d in read_jsonl(f)]
    assert sorted(d.id for d in excluded) == ["1", "3", "5"]
    assert {(d.metadata["excluded_step"], d.metadata["excluded_reason"]) for d in excluded} == {
        ("filter:length", "too_short")
    }
    assert stats["kept"] == 3
    other = tmp_path / "in" / "b.jsonl"
    other.write_text(json.dumps({"id": "b", "text": "y"}) + "\n")
    cfg.input.paths.append(str(other))
    run_pipeline(cfg)  # a new input: shard a is not redone, and its excluded documents stay
    excluded = [d.id for f in (tmp_path / "out" / "excluded").glob("*.jsonl.gz") for d in read_jsonl(f)]
    assert sorted(excluded) == ["1", "3", "5", "b"]


def test_final_stage_is_a_link_and_intermediates_are_deleted(tmp_path):
    src = _jsonl(tmp_path / "in" / "a.jsonl", "a", 8)
    stats = run_pipeline(_config(tmp_path, [src], dedup=[{"name": "exact_line"}], keep_intermediate=True))
    out = tmp_path / "out"
    (final,) = (out / "final").glob("*.jsonl.gz")
    (dedup,) = (out / "dedup-0-exact_line").glob("*.jsonl.gz")
    assert os.path.samefile(final, dedup) and stats["steps"][-1]["linked"] == 1

    out2 = tmp_path / "out2"
    run_pipeline(_config(tmp_path, [src], dedup=[{"name": "exact_line"}], output_dir=str(out2)))
    assert not list(out2.glob("stage1/*.jsonl.gz")) and not list(out2.glob("dedup-*/*.jsonl.gz"))
    assert list(out2.glob("stage1/*.done.json")), "markers stay as the run's record"
    assert _final_docs(out2) == _final_docs(out)
    assert (
        run_pipeline(_config(tmp_path, [src], dedup=[{"name": "exact_line"}], output_dir=str(out2)))["kept"]
        == 8
    ), "a finished run reruns as a no-op"


def test_doc_filter_parts_are_classes_built_with_options():
    from lmforge.core import get_part
    from lmforge.data import Document

    for name in ("gopher", "language", "length", "pii_mask", "classifier"):
        part = get_part("doc_filter", name)
        assert isinstance(part, type) and callable(part.filter)
    f = get_part("doc_filter", "length")(min_chars=10, max_chars=50)
    assert f.filter(Document(text="short", id="s")) == (False, "too_short")
