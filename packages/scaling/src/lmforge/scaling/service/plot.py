"""The dashboard's IsoFLOPs figure: the library's ``plot_isoflops`` over a key's finished runs, as PNG."""

from __future__ import annotations

import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

_pyplot = threading.Lock()  # pyplot keeps global state; requests are served from a thread pool


def isoflops_png(rows: list[dict[str, Any]]) -> bytes:
    from ..plots import _plt, budget_fits, plot_isoflops
    from ..table import table_from_records

    with _pyplot, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "isoflops.png"
        if rows:
            table = table_from_records(rows, source="service")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a flagged budget is drawn dashed, not reported here
                plot_isoflops(table, budget_fits(table), path)
        else:
            plt = _plt()
            fig, ax = plt.subplots(figsize=(7, 5))
            ax.text(0.5, 0.5, "no finished runs yet", ha="center", va="center")
            ax.set_axis_off()
            fig.savefig(path, dpi=80)
            plt.close(fig)
        return path.read_bytes()
