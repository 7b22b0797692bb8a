"""Crawl a Debian documentation HTML folder served on 127.0.0.1 into a real WARC with wget.

The folder comes from an installed package (``/usr/share/doc/python3.11/html``) or one unpacked with
``apt-get download python3.11-doc && dpkg-deb -x python3.11-doc_*.deb ROOT``. Only the loopback
address is ever contacted.

    uv run python tools/data/crawl_debian_docs.py --html ROOT/usr/share/doc/python3.11/html --out crawl
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATES = [
    "/usr/share/doc/python3.11/html",
    "/usr/share/doc/python3-doc/html",
    "/tmp/debdocs/root/usr/share/doc/python3.11/html",
    "/usr/share/doc/linux-doc-6.1/html",
]


def find_html_dir() -> Path | None:
    for c in CANDIDATES:
        if (Path(c) / "index.html").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def crawl(html_dir: Path, out_base: Path, timeout: float = 600) -> Path:
    """Serve ``html_dir`` on 127.0.0.1 and crawl it; returns ``out_base`` + ``.warc.gz``."""
    if shutil.which("wget") is None:
        raise RuntimeError("wget is not installed (apt-get install wget)")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(html_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        out_base.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                [
                    "wget",
                    "--recursive",
                    "--level=inf",
                    "--no-parent",
                    "--no-verbose",
                    "-e",
                    "robots=off",
                    "--reject=png,jpg,jpeg,gif,svg,woff,woff2,ttf,ico",
                    "--delete-after",
                    f"--directory-prefix={scratch}",
                    f"--warc-file={out_base}",
                    "--no-warc-keep-log",
                    f"http://127.0.0.1:{port}/",
                ],
                check=False,
                timeout=timeout,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    finally:
        server.terminate()
        server.wait()
    warc = Path(f"{out_base}.warc.gz")
    if not warc.is_file():
        raise RuntimeError(f"wget wrote no WARC at {warc}")
    return warc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", default=None, help="HTML folder (default: the first known Debian doc folder)")
    ap.add_argument("--out", default=".bench/crawl/debian-docs", help="WARC path without .warc.gz")
    args = ap.parse_args()
    html = Path(args.html) if args.html else find_html_dir()
    if html is None:
        sys.exit("no Debian doc HTML found; apt-get download python3.11-doc and dpkg-deb -x it, then --html")
    warc = crawl(html, Path(args.out))
    print(f"{warc} ({warc.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
