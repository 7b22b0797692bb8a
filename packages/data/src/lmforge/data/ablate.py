"""``run_data_ablation``: which pipeline's output trains the best model at a fixed compute budget?

1. Every pipeline runs through data's own ``run_pipeline``, each into ``OUT/pipelines/NAME`` (its
   output as jsonl.gz and not tokenized there: the ablation tokenizes). A finished pipeline is reused:
   ``run_pipeline`` answers a rerun on the same inputs from its stats.
2. One tokenizer for all outputs, and each output encoded with it (``ablate_tokens``).
3. An ``ablation_trainer`` part (``lab`` from lmforge-scaling) trains one model per token file at
   exactly the same FLOPs (same shape, same tokens seen: a pipeline that kept less is repeated) and
   judges each on the held-out text, once per seed. The data package never imports a trainer; the
   part crosses through core's registry.
4. ``ablate_report`` checks that the compute was equal, merges the seeds and ranks the pipelines.

Everything that can be checked is checked before the first pipeline runs: configs, names, the held-out
text, the tokenizer, and that a trainer part is installed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.core import LmforgeError, atomic_write, file_sha256, get_part, load_config, part_names

from .ablate_report import check_equal_compute, merge_seeds, plot_data_ablation
from .ablate_tokens import tokenize_output, train_tokenizer
from .pipeline import run_pipeline
from .pipeline_config import PipelineConfig

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # a folder name and a table label
TRAINER_PACKAGE = "lmforge-scaling"


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline of the ablation: a config file (None: the defaults) and ``--set`` overrides on it."""

    config: Path | None
    overrides: tuple[str, ...] = ()


def ablation_trainer(name: str) -> Callable[..., dict[str, Any]]:
    if not part_names("ablation_trainer"):
        raise LmforgeError(f"no ablation_trainer part is installed: `lmforge data ablate` trains its models "
                           f"through one; install {TRAINER_PACKAGE} (it registers 'lab', the equal-FLOPs "
                           "trainer)")
    return get_part("ablation_trainer", name)


def load_pipelines(specs: dict[str, PipelineSpec], out: Path) -> dict[str, PipelineConfig]:
    """Each spec through data's config loader, pointed at its own folder, jsonl.gz out, untokenized."""
    if len(specs) < 2:
        raise LmforgeError(f"an ablation compares at least two pipelines, got {len(specs)}")
    configs = {}
    for name, spec in specs.items():
        if not NAME.match(name):
            raise LmforgeError(f"pipeline name {name!r}: use letters, digits and _ . + - (it names a folder)")
        forced = (f"output_dir={out / 'pipelines' / name}", "output.format=jsonl.gz",
                  "tokenize.tokenizer_dir=none")
        try:
            configs[name] = load_config(PipelineConfig, spec.config, [*spec.overrides, *forced])
        except LmforgeError as e:
            raise LmforgeError(f"pipeline {name}: {e}") from None
    return configs


def run_data_ablation(specs: dict[str, PipelineSpec], heldout: str | Path, budget: float, out: str | Path,
                      model: dict[str, int], *, tokenizer_dir: str | Path | None = None,
                      vocab_size: int = 2000, sample_chars: int = 2_000_000, bpe_trainer: str = "python",
                      trainer: str = "lab", seeds: tuple[int, ...] = (0,),
                      echo: Callable[[str], None] = lambda line: None, **options: Any) -> dict[str, Any]:
    """Run the pipelines, tokenize their outputs alike, train one model each at ``budget`` FLOPs.

    Each of ``seeds`` trains every pipeline once (in ``OUT/train/SET/seed-N``); ``options`` go to
    the trainer part (``batch_size``, ``lr``, ``device``, ...). Returns the merged report (see
    ``ablate_report``: one row per pipeline, best first) with ``pipelines``, ``tokenizer``, the
    trainer's own reports and the plot; also written to ``OUT/data_ablation.json``."""
    out = Path(out)
    heldout = Path(heldout)
    if not heldout.is_file():
        raise LmforgeError(f"--heldout {heldout}: no such file")
    if budget <= 0:
        raise LmforgeError(f"--budget must be positive, got {budget:g}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise LmforgeError(f"give one or more distinct seeds, got {list(seeds)}")
    train = ablation_trainer(trainer)
    configs = load_pipelines(specs, out)
    if tokenizer_dir is not None:
        from lmforge.tokenize import load_tokenizer

        load_tokenizer(tokenizer_dir)  # a bad folder fails now, not after the pipelines ran

    pipelines = {}
    for name, cfg in configs.items():
        before = _stored_stats(Path(cfg.output_dir))
        t0 = time.perf_counter()
        try:
            stats = run_pipeline(cfg)
        except LmforgeError as e:
            raise LmforgeError(f"pipeline {name} ({cfg.output_dir}): {e}") from None
        pipelines[name] = {"folder": cfg.output_dir, "config": str(specs[name].config or ""),
                           "overrides": list(specs[name].overrides), "documents_in": stats["steps"][0]["in"],
                           "documents_kept": stats["kept"], "reused": stats == before,
                           "seconds": round(time.perf_counter() - t0, 2), "input_key": stats["input_key"]}
        echo(f"pipeline {name}: {stats['kept']:,} of {stats['steps'][0]['in']:,} documents kept"
             + (" (reused)" if stats == before else f" ({pipelines[name]['seconds']:.0f} s)"))

    if tokenizer_dir is None:
        tok_dir, tokenizer = train_tokenizer({n: Path(c.output_dir) for n, c in configs.items()}, out,
                                             vocab_size, sample_chars, bpe_trainer)
        echo(f"tokenizer: BPE {vocab_size:,} {'reused' if tokenizer['reused'] else 'trained'} at {tok_dir}")
    else:
        tok_dir, tokenizer = Path(tokenizer_dir), {"given": str(tokenizer_dir)}
    token_files = {}
    for name, cfg in configs.items():
        meta = tokenize_output(Path(cfg.output_dir), pipelines[name]["input_key"], tok_dir)
        token_files[name] = meta["path"]
        pipelines[name]["tokens"] = meta["count"]

    # One folder (so one budget ledger, sized to its runs) per set of token files and seed: an unchanged
    # set is answered from its ledger, and another set (a pipeline added or changed, a new tokenizer)
    # is not refused by a ledger sized for the old one.
    train_dir = out / "train" / _content_id(token_files.values())
    reports = {}
    for seed in seeds:
        reports[seed] = train(token_files, heldout, tok_dir, budget, model, train_dir / f"seed-{seed}",
                              seed=seed, **options)
        echo(f"seed {seed}: best {reports[seed]['best']}")
    check_equal_compute(reports, budget, trainer)
    report = merge_seeds(reports, pipelines)
    report.update(pipelines=pipelines, tokenizer={"dir": str(tok_dir), **tokenizer}, trainer=trainer,
                  trainer_reports=reports, plot=str(plot_data_ablation(report, out / "data_ablation.png")))
    atomic_write(out / "data_ablation.json", json.dumps(report, indent=1, default=str))
    return report


def _content_id(paths) -> str:
    return hashlib.sha256("\n".join(sorted(file_sha256(p) for p in paths)).encode()).hexdigest()[:12]


def _stored_stats(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "stats.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
