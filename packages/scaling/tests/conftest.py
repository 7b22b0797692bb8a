"""The service tests' harness: keys made with the real CLI, real servers in subprocesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.scaling.service.local_server import CLI, LocalServer


def lmforge(*args: str, timeout: float = 120) -> str:
    """Run the real ``lmforge`` CLI in a fresh process and return its stdout."""
    done = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise AssertionError(f"lmforge {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


class Harness:
    """Keys created with the real CLI, servers started on free ports and stopped after the test."""

    def __init__(self, lab_dir: Path) -> None:
        self.dir = lab_dir
        self.servers: list[LocalServer] = []

    def cli(self, *args: str) -> str:
        return lmforge(*args)

    def add_key(self, name: str, budget: float) -> str:
        out = lmforge("scaling", "keys", "add", name, "--budget", repr(budget), "--lab-dir", str(self.dir))
        return out.strip()

    def server(self, key: str, workers: int = 2, options: tuple[str, ...] = ("delay=0.2",)) -> LocalServer:
        server = LocalServer(self.dir, "surrogate", workers, options)
        self.servers.append(server)
        return server.start(key)


@pytest.fixture
def lab(tmp_path):
    harness = Harness(tmp_path / "lab")
    yield harness
    for s in harness.servers:
        s.stop()
