"""Run ``lmforge scaling serve`` in a subprocess on 127.0.0.1 and wait until it answers.

For notebooks, benchmarks and the service's tests: the server is the real command in its own
process, so a test can kill it (``stop(crash=True)``) as a machine failure would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from lmforge.core import LmforgeError

CLI = "from lmforge.core.cli import main; main()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    def __init__(self, lab_dir: str | Path, backend: str = "surrogate", workers: int = 2,
                 options: tuple[str, ...] = (), port: int | None = None) -> None:
        self.lab_dir, self.backend, self.workers, self.options = Path(lab_dir), backend, workers, options
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = self.lab_dir / "server.log"

    def start(self, key: str, timeout: float = 120.0) -> LocalServer:
        """Start the server and return once ``key`` gets an answer from it."""
        from ..client import Client

        args = ["scaling", "serve", "--lab-dir", str(self.lab_dir), "--port", str(self.port), "--backend",
                self.backend, "--workers", str(self.workers)]
        for opt in self.options:
            args += ["--option", opt]
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=log, stderr=log,
                                         env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.monotonic() + timeout
        with closing(Client(self.url, key, timeout=10)) as client:
            while True:
                if self.proc.poll() is not None:
                    raise LmforgeError(f"server exited ({self.proc.returncode}):\n{self.log.read_text()}")
                try:
                    client.budget()
                    return self
                except LmforgeError:
                    if time.monotonic() > deadline:
                        raise LmforgeError(f"no answer in {timeout:.0f}s:\n{self.log.read_text()}") from None
                    time.sleep(0.2)

    def stop(self, crash: bool = False) -> None:
        """SIGTERM (a clean stop: runs in flight go back to the queue) or SIGKILL (a crash)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        self.proc.wait(60)
