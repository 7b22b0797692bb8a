"""Stage ``web``: real HTML into a WARC.

``source = "pydoc"``: standard-library modules rendered by pydoc (in a child process), served by
``http.server`` on 127.0.0.1 in a thread, and crawled over HTTP from the index page. ``"urls"``: the
given URLs fetched as they are (no link following). ``"warc"``: the user's WARC files, used in place.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lmforge.core import ConfigError

from .crawl import crawl_to_warc


@dataclass
class WebConfig:
    source: str = "pydoc"  # pydoc | urls | warc
    modules: int = 150  # pydoc: how many standard-library modules to render
    max_pages: int = 10_000  # crawl limit
    urls: list[str] = field(default_factory=list)  # source = "urls"
    warc_paths: list[str] = field(default_factory=list)  # source = "warc"
    timeout_s: float = 30.0


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the access log would flood the recipe's output
        pass


def serve_directory(directory: Path) -> ThreadingHTTPServer:
    """An HTTP server for ``directory`` on 127.0.0.1 (a free port), serving in a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def render_pydoc_site(out_dir: Path, count: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "lmforge.recipe.pydoc_site", str(out_dir), str(count)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"rendering the pydoc site failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(cfg: WebConfig, stage_dir: Path, log) -> dict:
    if cfg.source == "warc":
        paths = [Path(p).resolve() for p in cfg.warc_paths]
        missing = [str(p) for p in paths if not p.is_file()]
        if not paths or missing:
            raise ConfigError(f"web.source = 'warc' needs existing web.warc_paths (missing: {missing})")
        names = [str(p) for p in paths]
        return {"inputs": {"warc_paths": names}, "outputs": {"warcs": names},
                "figures": {"warc files": len(paths), "bytes": sum(p.stat().st_size for p in paths)}}
    warc = stage_dir / "web.warc.gz"
    if cfg.source == "urls":
        if not cfg.urls:
            raise ConfigError("web.source = 'urls' needs web.urls")
        counts = crawl_to_warc(list(cfg.urls), warc, cfg.max_pages, follow=False, timeout_s=cfg.timeout_s)
        return _result({"urls": len(cfg.urls)}, warc, counts)
    if cfg.source != "pydoc":
        raise ConfigError(f"web.source must be pydoc, urls or warc, got {cfg.source!r}")
    log(f"rendering up to {cfg.modules} standard-library modules with pydoc")
    site = render_pydoc_site(stage_dir / "site", cfg.modules)
    server = serve_directory(stage_dir / "site")
    try:
        start = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        log(f"crawling {start} into {warc.name}")
        counts = crawl_to_warc([start], warc, cfg.max_pages, follow=True, timeout_s=cfg.timeout_s)
    finally:
        server.shutdown()
        server.server_close()
    inputs = {"source": "pydoc (standard library)", "python": sys.version.split()[0],
              "modules rendered": len(site["modules"]), "modules that failed to import": len(site["failed"])}
    return _result(inputs, warc, counts)


def _result(inputs: dict, warc: Path, counts: dict) -> dict:
    skipped = ", ".join(f"{k}={v}" for k, v in sorted(counts["skipped"].items())) or "none"
    return {"inputs": inputs, "outputs": {"warcs": [str(warc)]},
            "figures": {"pages fetched": counts["pages"], "HTML bytes": counts["payload_bytes"],
                        "fetches skipped": skipped, "WARC bytes": warc.stat().st_size}}
