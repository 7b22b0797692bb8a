"""The run table: one row per finished training run, as a polars DataFrame.

Canonical columns (every loader produces them):

- ``name``: where the run came from (a run directory or ``file:row``)
- ``params``: non-embedding parameters N (what scaling laws are fitted on)
- ``params_total``: all parameters, embeddings included (equal to ``params`` when unknown)
- ``tokens``: training tokens D
- ``flops``: training compute C (6ND, or the exact count from model accounting)
- ``budget``: the nominal FLOPs budget the run belongs to (its IsoFLOPs group)
- ``loss``: final loss
- hyperparameters when known: ``d_model``, ``num_layers``, ``num_heads``, ``d_ff``, ``vocab_size``,
  ``context_length``, ``batch_size``, ``lr``
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from lmforge.core import LmforgeError

from .runs_dir import is_run_dir, read_run_dir, run_status

CORE_COLUMNS = ("name", "params", "params_total", "tokens", "flops", "budget", "loss")
HYPER_COLUMNS = ("d_model", "num_layers", "num_heads", "d_ff", "vocab_size", "context_length",
                 "batch_size", "lr")

# Column names seen in the wild (Chinchilla-style CSVs, our own exports) -> canonical name.
ALIASES = {
    "parameters": "params", "params": "params", "n": "params", "non_embedding_params": "params",
    "non_embedding_parameters": "params", "model_size": "params",
    "total_parameters": "params_total", "params_total": "params_total", "total_params": "params_total",
    "tokens": "tokens", "d": "tokens", "training_tokens": "tokens", "train_tokens": "tokens",
    "compute": "flops", "flops": "flops", "c": "flops", "compute_flops": "flops",
    "compute_budget": "budget", "budget": "budget", "flops_budget": "budget",
    "final_loss": "loss", "loss": "loss", "val_loss": "loss", "eval_loss": "loss",
    "name": "name", "run": "name",
}


def nominal_budget(flops: float) -> float:
    """Round a compute count to 2 significant digits so runs trained for "1e14" group together."""
    if not flops > 0:
        return flops
    exp = math.floor(math.log10(flops))
    return round(flops / 10**exp, 1) * 10**exp


def _rename(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        canon = ALIASES.get(str(key).strip().lower(), str(key).strip())
        if canon in out and canon == "loss":
            continue  # final_loss wins over a later val_loss column
        out[canon] = value
    return out


def complete_row(row: dict[str, Any], source: str) -> dict[str, Any]:
    """Fill derived quantities: D = C/(6N) when absent, C = 6ND when absent, the budget group."""
    row = dict(row)
    row.setdefault("name", source)
    n = _num(row.get("params"), "params", source)
    if n is None or n <= 0:
        raise LmforgeError(f"{source}: needs a positive parameter count (column 'parameters' or 'params')")
    d = _num(row.get("tokens"), "tokens", source)
    c = _num(row.get("flops"), "flops", source)
    b = _num(row.get("budget"), "budget", source)
    if c is None:
        c = b if d is None else 6.0 * n * d
    if c is None:
        raise LmforgeError(f"{source}: needs tokens or a compute budget (columns 'tokens', 'compute_budget')")
    if d is None:
        d = c / (6.0 * n)
    row.update(params=float(n), tokens=float(d), flops=float(c),
               budget=float(b) if b is not None else nominal_budget(c))
    total = _num(row.get("params_total"), "params_total", source)
    row["params_total"] = float(total) if total is not None else float(n)
    loss = _num(row.get("loss"), "loss", source)
    row["loss"] = float("nan") if loss is None else float(loss)
    return row


def _num(v: Any, key: str, source: str) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise LmforgeError(f"{source}: column {key!r} is not a number: {v!r}") from None


def table_from_records(rows: Sequence[dict[str, Any]], source: str = "records") -> pl.DataFrame:
    """Build the canonical table from dicts (aliases accepted, derived columns filled)."""
    done = [complete_row(_rename(r), f"{source}:{i}") for i, r in enumerate(rows)]
    return _frame(done)


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        raise LmforgeError("no runs found")
    keys = list(CORE_COLUMNS) + [k for k in HYPER_COLUMNS if any(k in r for r in rows)]
    keys += sorted({k for r in rows for k in r} - set(keys))
    data = {k: [r.get(k) for r in rows] for k in keys}
    schema = {k: pl.Float64 for k in CORE_COLUMNS if k != "name"}
    schema["name"] = pl.String
    return pl.DataFrame(data, schema_overrides=schema, strict=False)


def read_table_file(path: str | Path) -> pl.DataFrame:
    """A CSV, JSON (list of objects or {"runs": [...]}) or JSONL file of runs."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            records = pl.read_csv(path, infer_schema_length=10_000).to_dicts()
        elif suffix == ".jsonl":
            records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        elif suffix == ".json":
            data = json.loads(path.read_text())
            records = data["runs"] if isinstance(data, dict) and "runs" in data else data
            if not isinstance(records, list):
                raise LmforgeError(f"{path}: expected a list of runs or an object with a 'runs' list")
        else:
            raise LmforgeError(f"{path}: unsupported run file (use .csv, .json, .jsonl or a run directory)")
    except (OSError, json.JSONDecodeError, pl.exceptions.PolarsError) as e:
        raise LmforgeError(f"{path}: cannot read runs: {e}") from None
    return table_from_records(records, source=str(path))


def load_runs(paths: Iterable[str | Path]) -> pl.DataFrame:
    """Load and concatenate runs from files, run directories, or folders holding run directories."""
    frames: list[pl.DataFrame] = []
    dir_rows: list[dict[str, Any]] = []
    for p in map(Path, paths):
        if not p.exists():
            raise LmforgeError(f"runs path not found: {p}")
        if p.is_file():
            frames.append(read_table_file(p))
        elif is_run_dir(p):
            dir_rows.append(complete_row(read_run_dir(p), str(p)))
        else:
            found = sorted(d for d in p.rglob("metrics.jsonl"))
            if not found:
                raise LmforgeError(f"{p}: no run directories (metrics.jsonl) below it")
            skipped = []
            for m in found:
                if is_run_dir(m.parent):
                    if run_status(m.parent) != "completed":  # still training, interrupted or diverged
                        skipped.append(f"{m.parent.name} ({run_status(m.parent)})")
                        continue
                    dir_rows.append(complete_row(read_run_dir(m.parent), str(m.parent)))
            if skipped:
                warnings.warn(f"{p}: skipped {len(skipped)} run(s) that did not complete: "
                              + ", ".join(skipped[:5]), stacklevel=2)
    if dir_rows:
        frames.append(_frame(dir_rows))
    if not frames:
        raise LmforgeError("no runs found")
    return pl.concat(frames, how="diagonal_relaxed")


def check_losses(table: pl.DataFrame) -> pl.DataFrame:
    """Refuse tables with non-positive or NaN losses: a fit on them is meaningless."""
    bad = table.filter(pl.col("loss").is_nan() | pl.col("loss").is_null() | (pl.col("loss") <= 0))
    if bad.height:
        names = ", ".join(bad["name"].head(3).to_list())
        raise LmforgeError(f"{bad.height} run(s) have a non-positive or NaN loss (e.g. {names}); "
                           "remove or fix them before fitting")
    bad = table.filter((pl.col("params") <= 0) | (pl.col("tokens") <= 0))
    if bad.height:
        raise LmforgeError(f"{bad.height} run(s) have non-positive params or tokens")
    return table
