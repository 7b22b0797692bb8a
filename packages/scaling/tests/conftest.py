"""A real ``lmforge scaling serve`` in a subprocess on 127.0.0.1, for the service tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

CLI = "from lmforge.core.cli import main; main()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lmforge(*args: str, timeout: float = 120) -> str:
    """Run the real ``lmforge`` CLI in a fresh process and return its stdout."""
    done = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise AssertionError(f"lmforge {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


class Server:
    def __init__(self, lab_dir: Path, workers: int = 2, options: tuple[str, ...] = ()) -> None:
        self.lab_dir, self.workers, self.options = lab_dir, workers, options
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = lab_dir / "server.log"

    def start(self, key: str) -> Server:
        from lmforge.core import LmforgeError
        from lmforge.scaling.client import Client

        args = ["scaling", "serve", "--lab-dir", str(self.lab_dir), "--port", str(self.port), "--backend",
                "surrogate", "--workers", str(self.workers)]
        for opt in self.options:
            args += ["--option", opt]
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=log, stderr=log,
                                         env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.monotonic() + 120
        with closing(Client(self.url, key, timeout=10)) as client:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"server exited ({self.proc.returncode}):\n{self.log.read_text()}")
                try:
                    client.budget()
                    return self
                except LmforgeError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"no answer in time:\n{self.log.read_text()}") from None
                    time.sleep(0.2)

    def stop(self, crash: bool = False) -> None:
        """SIGTERM (a clean stop) or SIGKILL (a crash)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        self.proc.wait(60)


class Harness:
    """Keys created with the real CLI, servers started on free ports and stopped after the test."""

    def __init__(self, lab_dir: Path) -> None:
        self.dir = lab_dir
        self.servers: list[Server] = []

    def cli(self, *args: str) -> str:
        return lmforge(*args)

    def add_key(self, name: str, budget: float) -> str:
        out = lmforge("scaling", "keys", "add", name, "--budget", repr(budget), "--lab-dir", str(self.dir))
        return out.strip()

    def server(self, key: str, workers: int = 2, options: tuple[str, ...] = ("delay=0.2",)) -> Server:
        server = Server(self.dir, workers, options)
        self.servers.append(server)
        return server.start(key)


@pytest.fixture
def lab(tmp_path):
    harness = Harness(tmp_path / "lab")
    yield harness
    for s in harness.servers:
        s.stop()
