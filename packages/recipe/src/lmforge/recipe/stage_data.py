"""Stage ``data``: the curation pipeline (``lmforge.data``) over the web stage's WARCs.

The ``[data]`` section of a recipe is the pipeline's own config; the recipe fills in the input files
and the output folder, and leaves tokenizing to the tokenizer stage (the tokenizer is trained on the
pipeline's output, so it cannot exist yet).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lmforge.core import LmforgeError
from lmforge.data import read_jsonl
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import InputConfig, PipelineConfig, TokenizeConfig

# The data package's example pipeline: every default filter, then exact-line and MinHash dedup. It is
# the base of every size (a preset or a recipe file replaces a list such as ``filters`` whole).
DEFAULT_PIPELINE = {
    "filters": [
        {"name": "length", "min_chars": 200},
        {"name": "language", "languages": ["en"], "min_score": 0.65},
        {"name": "gopher"},
        {"name": "classifier", "classifier": "quality", "drop_label": "cc", "min_score": 0.5},
        {"name": "pii_mask"},
    ],
    "dedup": [{"name": "exact_line"}, {"name": "minhash"}],
}


def run(cfg: PipelineConfig, warcs: list[str], stage_dir: Path, log) -> dict:
    cfg = dataclasses.replace(cfg, output_dir=str(stage_dir / "pipeline"),
                              input=InputConfig(paths=list(warcs), format=cfg.input.format),
                              tokenize=TokenizeConfig(tokenizer_dir=None),
                              # stats.json counts documents, not characters: the report reads the
                              # filtered documents of stage1/, which the pipeline deletes otherwise
                              keep_intermediate=True)
    log(f"filters: {', '.join(f.name for f in cfg.filters) or 'none'}; "
        f"dedup: {', '.join(d.name for d in cfg.dedup) or 'none'}")
    stats = run_pipeline(cfg)
    if not stats["kept"]:
        raise LmforgeError("the data pipeline kept no documents: nothing to train a tokenizer on")
    out = Path(cfg.output_dir)
    kept_files = sorted(str(p) for p in (out / "final").glob("*.jsonl*"))
    # the pipeline's documented layout: stage1/ holds the filtered documents before dedup
    filtered_chars = _characters(sorted((out / "stage1").glob("*.jsonl.gz")))
    first_in = stats["steps"][0]["in"] if stats["steps"] else stats["kept"]
    steps = [{"step": s["step"], "in": s["in"], "kept": s["kept"], "dropped": s["dropped"],
              "seconds": s.get("seconds", 0.0)} for s in stats["steps"]]
    plot = _plot_drops(steps, stage_dir / "drops_per_step.png")
    return {
        "inputs": {"warcs": list(warcs)},
        "outputs": {"kept_files": kept_files, "stats": str(Path(cfg.output_dir) / "stats.json")},
        "figures": {"documents in": first_in, "documents kept": stats["kept"],
                    "kept fraction": round(stats["kept"] / max(first_in, 1), 3),
                    "characters after the filters": filtered_chars,
                    "characters after dedup": _characters(kept_files)},
        "steps": steps,
        "plots": {"drops per step": str(plot)},
        "parts": [("html_extractor", cfg.extract.extractor), *(("doc_filter", f.name) for f in cfg.filters),
                  *(("deduper", d.name) for d in cfg.dedup), ("executor", cfg.executor.name)],
    }


def _characters(files) -> int:
    return sum(len(doc.text) for path in files for doc in read_jsonl(path))


def _plot_drops(steps: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["step"] for s in steps]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 4))
    bottom = [0] * len(steps)
    reasons = sorted({r for s in steps for r in s["dropped"]})
    for reason in reasons:
        vals = [s["dropped"].get(reason, 0) for s in steps]
        ax.bar(names, vals, bottom=bottom, label=reason)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.plot(names, [s["kept"] for s in steps], "ko-", label="kept after step")
    ax.set_ylabel("documents")
    ax.set_title("documents dropped per step, by reason")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
