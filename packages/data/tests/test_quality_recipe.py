"""CS336 A4's quality recipe as commands, offline: URLs fetched from a local HTTP server (pydoc's HTML
pages of stdlib modules) into a WARC, a crawl WARC of junk pages sampled as negatives, a quality
classifier trained on the examples and evaluated on a held-out part."""

from __future__ import annotations

import gzip
import http.server
import json
import pydoc
import random
import socket
import threading
import time

import pytest
from click.testing import CliRunner

from lmforge.core.cli import build_cli
from lmforge.data.fetch_urls import read_url_list
from lmforge.data.readers import read_warc

MODULES = [
    "json", "textwrap", "argparse", "csv", "difflib", "fractions", "heapq", "bisect", "calendar",
    "string", "shlex", "fnmatch", "glob", "gzip", "base64", "hashlib", "hmac", "secrets", "statistics",
    "random", "decimal", "copy", "pprint", "enum", "functools", "itertools", "operator", "pathlib",
    "tempfile", "shutil", "zipfile", "tarfile", "configparser", "logging", "getopt", "queue",
    "sched", "contextlib", "abc", "dataclasses", "typing", "weakref", "collections", "array",
]  # fmt: skip


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files of the site folder, plus the failures a fetch meets: a slow page, a server error, and a
    page sent gzip-compressed although the client asked for identity."""

    def do_GET(self):  # noqa: N802 (the http.server API)
        if self.path == "/slow":  # the client gives up first (a daemon thread: shutdown does not wait)
            time.sleep(12)
            return
        if self.path == "/boom":
            self.send_error(500)
            return
        elif self.path == "/gz":
            body = gzip.compress(b"<html><body><p>" + b"compressed page text. " * 30 + b"</p></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    for name in MODULES:
        module = __import__(name)
        page = pydoc.html.page(pydoc.describe(module), pydoc.html.document(module, name))
        (folder / f"{name}.html").write_text(page, encoding="utf-8")
    handler = lambda *a, **k: _Handler(*a, directory=str(folder), **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.handle_error = lambda *a: None  # a client that timed out and left is expected here
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _invoke(*args):
    result = CliRunner().invoke(build_cli(), ["data", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.output)


def test_fetch_urls_writes_a_warc_and_counts_failures(tmp_path, site):
    good = [f"{site}/{m}.html" for m in MODULES[:5]] + [f"{site}/gz"]
    bad = [
        f"{site}/missing.html",  # 404
        f"{site}/boom",  # 500
        f"{site}/slow",  # longer than --timeout
        f"http://127.0.0.1:{_closed_port()}/x",  # refused
        "file:///etc/passwd",  # never read: not http(s)
        "http://",  # no host
    ]
    urls = tmp_path / "urls.txt"
    urls.write_text("# cited pages\n" + "\n".join(good[:3] + bad + good[3:]) + "\n\n")
    out = str(tmp_path / "pos.warc.gz")
    # 3 s, not 1: on a loaded machine a local page took over a second and was counted as a timeout
    report = _invoke("fetch-urls", "--urls", str(urls), "--out", out, "--timeout", "3")
    assert report["fetched"] == len(good)
    assert report["failed"] == {
        "bad_url": 2, "connection_error": 1, "http_404": 1, "http_500": 1, "timeout": 1,
    }  # fmt: skip
    docs = list(read_warc(tmp_path / "pos.warc.gz"))
    assert [d.metadata["url"] for d in docs] == good  # list order, failures left out
    assert b"json" in docs[0].text and docs[0].metadata["charset"] in (None, "utf-8")
    assert docs[-1].text.startswith(b"<html>") and b"compressed page text" in docs[-1].text  # decoded

    sample = read_url_list(str(urls), sample=4, seed=1)
    assert len(sample) == 4 and sample == read_url_list(str(urls), sample=4, seed=1)
    assert set(sample) <= set(good + bad) and sample != read_url_list(str(urls), sample=4, seed=2)


def test_quality_recipe_fetch_examples_train_evaluate(tmp_path, site, warc_maker, _classifier_cache):
    from lmforge.data.quality_demo_data import _low_quality, reference_paragraphs

    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(f"{site}/{m}.html" for m in MODULES) + f"\n{site}/missing.html\n")
    fetched = _invoke("fetch-urls", "--urls", str(urls), "--out", str(tmp_path / "pos.warc.gz"))
    assert fetched["fetched"] == len(MODULES) and fetched["failed"] == {"http_404": 1}

    # The "crawl": junk pages (navigation, spam, cookie banners, link farms, shuffled prose).
    rng = random.Random(0)
    prose = reference_paragraphs(50)
    pages = []
    for i in range(3 * len(MODULES)):
        body = "".join(f"<p>{_low_quality(rng, prose)}</p>" for _ in range(6))
        pages.append((f"http://junk{i}.test/", f"<html><body>{body}</body></html>".encode(), "text/html"))
    warc_maker(tmp_path / "crawl.warc.gz", pages)

    examples = tmp_path / "train.jsonl"
    report = _invoke(
        "quality-examples", "--positives", str(tmp_path / "pos.warc.gz"),
        "--negatives", str(tmp_path / "crawl.warc.gz"), "--out", str(examples),
    )  # fmt: skip
    assert report["positives"]["written"] == len(MODULES)
    assert report["negatives"]["written"] == len(MODULES)  # balanced: a sample of the crawl
    assert report["negatives"]["sampled_from"] > len(MODULES)
    rows = [json.loads(line) for line in examples.read_text().splitlines()]
    assert {r["label"] for r in rows} == {"wiki", "cc"} and all(len(r["text"]) >= 200 for r in rows)

    trained = _invoke(
        "train-classifier", "--task", "quality", "--data", str(examples), "--name", "a4-quality",
        "--held-out", "0.3",
    )  # fmt: skip
    assert trained["demo"] is False and trained["held_out_examples"] >= 15
    assert trained["held_out"]["balanced_accuracy"] >= 0.9, trained["held_out"]
