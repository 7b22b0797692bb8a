"""``lmforge data ablate``: real pipelines, one BPE for all, real training at exactly equal FLOPs.

The input is made here: English documentation (``pydoc_data.topics``, always installed) that passes
the Gopher rules, generated number-and-symbol pages that fail them (most of the text), and exact
copies. The held-out text is other topics of the same documentation. Three pipelines: everything
(``all``), the Gopher rules (``gopher``, a ``--variant`` of the base config), and Gopher plus
exact-line dedup (``dedup``, its own config file; it drops every line that occurs twice, so the copies
and their originals lose everything). The filtered pipelines keep a small fraction, so at the budget
their data is repeated.
"""

from __future__ import annotations

import json
import pydoc_data.topics
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core import LmforgeError, reset_host
from lmforge.core.cli import build_cli, main
from lmforge.data.ablate_cli import parse_pipelines

TRAIN_TOPICS = ("class", "dict", "exceptions", "for")
HELDOUT_TOPICS = ("binary", "raise", "global")
BUDGET = 1e9
BATCH, CONTEXT = 4, 16


def junk(rng: random.Random) -> str:
    return "\n".join(" ".join(f"{rng.randrange(10**4)} #{rng.randrange(99)} |" for _ in range(12))
                     for _ in range(15))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ablate-inputs")
    rng = random.Random(0)
    docs = [pydoc_data.topics.topics[t] for t in TRAIN_TOPICS]
    docs += [junk(rng) for _ in range(24)]
    docs += docs[:2]  # exact copies
    rng.shuffle(docs)
    lines = [json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(docs)]
    (d / "in.jsonl").write_text("".join(lines))
    common = f'[input]\npaths = ["{d / "in.jsonl"}"]\n'  # one shard: the local executor runs it in-process
    (d / "base.toml").write_text(f'output_dir = "ignored"\n[[filters]]\nname = "length"\n{common}')
    (d / "dedup.toml").write_text('[[filters]]\nname = "gopher"\n[[dedup]]\nname = "exact_line"\n' + common)
    (d / "heldout.txt").write_text("\n\n".join(pydoc_data.topics.topics[t] for t in HELDOUT_TOPICS))
    return d


def ablate(inputs: Path, out: Path, *extra: str, seeds=("0", "1")) -> tuple[str, dict]:
    args = ["data", "ablate", "--config", str(inputs / "base.toml"), "--variant", "all",
            "--variant", 'gopher:filters=[{name="length"}, {name="gopher"}]',
            "--pipeline", f"dedup={inputs / 'dedup.toml'}", "--heldout", str(inputs / "heldout.txt"),
            "--budget", str(BUDGET), "--vocab-size", "300", "--d-model", "16", "--num-layers", "1",
            "--num-heads", "1", "--context-length", str(CONTEXT), "--batch-size", str(BATCH),
            "--eval-batches", "2", "--out", str(out), *extra]
    for seed in seeds:
        args += ["--seed", seed]
    result = CliRunner().invoke(build_cli(), args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / "data_ablation.json").read_text())


def test_ablation_runs_pipelines_trains_at_equal_flops_and_reuses_everything(inputs, tmp_path):
    out = tmp_path / "abl"
    table, report = ablate(inputs, out)
    rows = {r["pipeline"]: r for r in report["rows"]}
    assert set(rows) == {"all", "gopher", "dedup"}

    # each pipeline really ran, into its own folder, with its own steps
    stats = {n: json.loads((out / "pipelines" / n / "stats.json").read_text()) for n in rows}
    assert [s["step"] for s in stats["dedup"]["steps"]][-2] == "dedup:exact_line"
    for name, r in rows.items():
        assert r["documents_kept"] == stats[name]["kept"] and r["documents_in"] == 30
        sidecar = json.loads((out / "pipelines" / name / "ablation-tokens.bin.json").read_text())
        assert r["kept_tokens"] == sidecar["count"]
    assert rows["all"]["documents_kept"] == 30 and rows["gopher"]["documents_kept"] == 6
    assert rows["dedup"]["kept_tokens"] < rows["gopher"]["kept_tokens"] < rows["all"]["kept_tokens"] / 3

    # one tokenizer for all, trained on a sample of every output and recorded
    shas = {json.loads((out / "pipelines" / n / "ablation-tokens.bin.json").read_text())["tokenizer_sha256"]
            for n in rows}
    assert len(shas) == 1
    record = json.loads((out / "tokenizer.json").read_text())
    assert set(record["sample"]) == set(rows) and all(s["documents"] > 0 for s in record["sample"].values())
    assert report["tokenizer"]["vocab_size"] == 300 and report["model"]["vocab_size"] == 300

    # equal compute: one shape, the same tokens seen and FLOPs, at most one step past the budget
    assert len({r["tokens_seen"] for r in rows.values()}) == 1
    assert len({r["flops"] for r in rows.values()}) == 1
    seen = rows["all"]["tokens_seen"]
    per_step = rows["all"]["flops"] / (seen / (BATCH * CONTEXT))
    assert BUDGET <= rows["all"]["flops"] < BUDGET + per_step
    for r in rows.values():
        assert r["repetition"] == pytest.approx(seen / r["kept_tokens"])
    assert rows["dedup"]["repetition"] > rows["gopher"]["repetition"] > 1 > rows["all"]["repetition"]
    assert "repeated: gopher kept" in table and "repeated: dedup kept" in table
    assert "repeated: all" not in table

    # two seeds: each trained every pipeline at the same compute; the table ranks by the mean held-out
    # bits per byte, names the best and in how many seeds it won, and the pipelines differ
    assert report["seeds"] == [0, 1]
    for seed, trained in report["trainer_reports"].items():
        assert {r["flops"] for r in trained["rows"]} == {rows["all"]["flops"]}
        for r in trained["rows"]:
            assert rows[r["pipeline"]]["seeds"][seed]["bits_per_byte"] == r["bits_per_byte"]
    for r in rows.values():
        per_seed = [s["bits_per_byte"] for s in r["seeds"].values()]
        assert r["bits_per_byte"] == pytest.approx(sum(per_seed) / 2) and per_seed[0] != per_seed[1]
    bpb = [r["bits_per_byte"] for r in report["rows"]]
    assert bpb == sorted(bpb) and report["best"] == report["rows"][0]["pipeline"]
    wins = report["rows"][0]["best_in_seeds"]
    assert f"best: {report['best']} (lowest mean held-out bits per byte; best in {wins} of 2 seeds)" in table
    assert sum(r["best_in_seeds"] for r in report["rows"]) == 2 and bpb[-1] - bpb[0] > 1e-3
    assert Path(report["plot"]).stat().st_size > 10_000

    # a rerun reuses every pipeline, the tokenizer, the token files and every model
    mtime = (out / "pipelines" / "gopher" / "ablation-tokens.bin").stat().st_mtime_ns
    table2, again = ablate(inputs, out)
    assert all(r["pipeline_reused"] and r["cached"] for r in again["rows"])
    assert again["tokenizer"]["reused"]
    assert [t["ledger"]["spent"] for t in again["trainer_reports"].values()] == [
        t["ledger"]["spent"] for t in report["trainer_reports"].values()]
    assert [r["val_loss"] for r in again["rows"]] == [r["val_loss"] for r in report["rows"]]
    assert (out / "pipelines" / "gopher" / "ablation-tokens.bin").stat().st_mtime_ns == mtime
    assert table2.count("pipeline,model") == 3

    # a pipeline added later: the others are reused, and the new set of token files trains in a
    # folder (and budget ledger) of its own instead of being refused by the old ledger
    table3, third = ablate(inputs, out, "--variant", 'lines:dedup=[{name="exact_line"}]', seeds=("0",))
    assert {r["pipeline"]: r["pipeline_reused"] for r in third["rows"]} == {
        "all": True, "gopher": True, "dedup": True, "lines": False}
    assert not third["tokenizer"]["reused"]  # its sample now includes the new output
    def set_folders(rep):  # run_dir = OUT/train/SET/seed-N/runs/RUN
        return {Path(r["run_dir"]).parents[2] for t in rep["trainer_reports"].values() for r in t["rows"]}

    (old_set,), (new_set,) = set_folders(report), set_folders(third)
    assert old_set != new_set and len(third["rows"]) == 4 and "best: " in table3


@pytest.fixture
def without_scaling(monkeypatch):
    monkeypatch.setenv("LMFORGE_PLUGINS", "tokenize,data")
    reset_host()
    yield
    monkeypatch.undo()
    reset_host()


def test_without_an_ablation_trainer_part_the_error_names_the_package(inputs, tmp_path, without_scaling,
                                                                       capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "ablate", "--config", str(inputs / "base.toml"), "--variant", "a", "--variant",
              "b:filters=[]", "--heldout", str(inputs / "heldout.txt"), "--budget", "1e8",
              "--out", str(tmp_path / "abl")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "no ablation_trainer part is installed" in err and "install lmforge-scaling" in err
    assert not (tmp_path / "abl").exists()  # refused before any pipeline ran


def test_pipeline_and_variant_syntax(inputs):
    base, dedup = inputs / "base.toml", inputs / "dedup.toml"
    specs = parse_pipelines((str(dedup), f"two={dedup}"), base, ("a", "b:x=1", "b:y=2"),
                            ("input.format=jsonl",))
    assert list(specs) == ["dedup", "two", "a", "b"]
    assert specs["b"].config == base and specs["b"].overrides == ("input.format=jsonl", "x=1", "y=2")
    assert specs["a"].overrides == ("input.format=jsonl",) and specs["dedup"].config == dedup
    for bad, match in [((), ("filters=[]",)), ((), ("b:nothing",))]:
        with pytest.raises(LmforgeError, match="expected NAME or NAME:KEY=VALUE"):
            parse_pipelines(bad, base, match, ())
    with pytest.raises(LmforgeError, match="given twice"):
        parse_pipelines((f"a={dedup}",), base, ("a",), ())
    with pytest.raises(LmforgeError, match="needs the base pipeline config"):
        parse_pipelines((), None, ("a",), ())
