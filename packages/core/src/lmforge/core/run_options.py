"""The options every run-type command shares: ``--config``, ``--set``, ``--resume``, ``--device``.

Use it on a click command; the command receives one ``run: RunOptions`` argument instead of four::

    from lmforge.core.run_options import RunOptions, run_options

    @click.command("train")
    @run_options
    def train_command(run: RunOptions) -> None:
        cfg = run.load(TrainConfig)          # --config file, then every --set, type-checked
        if run.resume: ...                   # --resume DIR: continue that run directory (a Path)
        device = run.device                  # "auto" unless given ("cpu", "cuda", "cuda:1", ...)

``--resume`` may also be a URL (``s3://bucket/run``) for commands that write to object storage: it then
stays a string (a ``Path`` would fold ``//``), and ``local_resume`` refuses it for the commands that
resume from local directories only.

``--debug`` is accepted anywhere on the command line: ``lmforge.core.cli.main`` removes it before
click sees it; the hidden flag here only keeps direct invocations (CliRunner, tests) from failing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click

from .config import load_config
from .errors import LmforgeError

T = TypeVar("T")


@dataclass(frozen=True)
class RunOptions:
    config: Path | None
    overrides: tuple[str, ...]
    resume: Path | str | None  # a URL stays a str
    device: str

    def load(self, cls: type[T]) -> T:
        """``cls`` from the ``--config`` file (or its defaults) with the ``--set`` overrides applied."""
        return load_config(cls, self.config, self.overrides)

    def cpu_only(self, why: str) -> None:
        """Refuse a GPU ``--device`` for a command whose work runs on the CPU; ``why`` says so."""
        if self.device not in ("auto", "cpu"):
            raise LmforgeError(f"--device {self.device}: {why} (give auto or cpu)")

    def local_resume(self, what: str) -> Path | None:
        """``--resume`` as a local directory; a URL is an error for a ``what`` that resumes locally."""
        if isinstance(self.resume, str):
            raise LmforgeError(f"--resume {self.resume}: {what} resumes from a local directory, not a URL")
        return self.resume

    def config_or_saved(self, saved_name: str, what: str) -> Path | None:
        """``--config``; with ``--resume DIR`` and no ``--config``, the config the run saved as
        ``DIR/saved_name`` (a DIR without it holds no ``what``: an error)."""
        resume = self.local_resume(what)
        if resume is None:
            return self.config
        saved = resume / saved_name
        if not saved.is_file():
            raise LmforgeError(f"--resume {self.resume}: no {what} there (no {saved_name})")
        return self.config or saved


def run_options(fn):
    """Decorate a click command callback with the shared run options (see the module docstring)."""

    @click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="TOML config file.")
    @click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                  help="Override a config key (repeatable), e.g. --set train.lr=3e-4.")
    @click.option("--resume", default=None, metavar="DIR",
                  help="Continue the run in this run directory (or at this URL, where the command allows).")
    @click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N, mps.")
    @click.option("--debug", is_flag=True, hidden=True, expose_value=False)
    @functools.wraps(fn)
    def command(*args, config, overrides, resume, device, **kwargs):
        if resume is not None and "://" not in resume:
            resume = Path(resume)
        return fn(*args, run=RunOptions(config, tuple(overrides), resume, device), **kwargs)

    return command
