"""``lmforge data fetch-urls``: fetch a list of URLs into a WARC (the A4 quality recipe's positives).

CS336 A4 takes its high-quality examples from the pages Wikipedia cites: a (sub)sample of a URL list,
fetched into a WARC, then extracted like any crawl. Each URL is fetched with a per-request timeout and
a total deadline; every 2xx answer becomes a WARC ``response`` record (HTTP headers and body, the body
as sent, decompressed when the server compressed it anyway). The failures a fetch of the open web
always meets are counted by reason and never stop the run: ``http_<status>`` (404, 500, ...),
``timeout``, ``connection_error`` (refused, reset, DNS, TLS, a broken HTTP answer), ``bad_url``
(not http(s): ``file://`` is never read), ``too_large`` (over ``max_bytes``). Anything else is a bug
and raises. Records are written in the order of the URL list, one gzip member each, atomically (the
WARC appears whole; ``out`` may be an ``s3://`` URL).
"""

from __future__ import annotations

import gzip
import http.client
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from . import storage
from .readers import MAX_RECORD_BYTES

USER_AGENT = "lmforge-data/0.1 (research crawler; +https://github.com/lmforge)"
# Headers that described the bytes on the wire, not the body as stored in the record.
_WIRE_HEADERS = {"transfer-encoding", "content-encoding", "content-length", "connection"}


def read_url_list(path: str, sample: int | None = None, seed: int = 0) -> list[str]:
    """The URLs of a list file (one a line; blank lines and ``#`` comments skipped), or a seeded
    random sample of ``sample`` of them in their file order (reservoir sampling: the list may be huge)."""
    urls: list[str] = []
    rng = random.Random(seed)
    seen = 0
    for line in storage.read_text(path).splitlines():
        url = line.strip()
        if not url or url.startswith("#"):
            continue
        if sample is None or len(urls) < sample:
            urls.append((seen, url))
        else:
            j = rng.randrange(seen + 1)
            if j < sample:
                urls[j] = (seen, url)
        seen += 1
    return [u for _, u in sorted(urls)]


def _fetch(url: str, timeout: float, max_bytes: int) -> tuple[str, Any]:
    """``("ok", (final_url, status, reason, headers, body))`` or ``(failure_reason, detail)``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "bad_url", url
    deadline = time.monotonic() + 3 * timeout  # a server that drips bytes still ends in time
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                return "too_large", length
            chunks, size = [], 0
            while chunk := resp.read(1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    return "too_large", size
                if time.monotonic() > deadline:
                    return "timeout", "total deadline"
            body = _decoded(b"".join(chunks), resp.headers.get("Content-Encoding"))
            return "ok", (resp.geturl(), resp.status, resp.reason, resp.headers.items(), body)
    except urllib.error.HTTPError as e:  # before URLError: it is one
        return f"http_{e.code}", str(e)
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            return "timeout", str(e)
        if isinstance(e.reason, str) and "unknown url type" in e.reason:
            return "bad_url", str(e)
        return "connection_error", str(e)
    except TimeoutError as e:
        return "timeout", str(e)
    except (OSError, http.client.HTTPException, zlib.error, EOFError) as e:
        return "connection_error", f"{type(e).__name__}: {e}"
    except ValueError as e:  # a malformed URL (no host, bad port, control characters)
        return "bad_url", str(e)


def _decoded(body: bytes, encoding: str | None) -> bytes:
    enc = (encoding or "").strip().lower()
    if enc in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if enc == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send it
    return body


def warc_response_record(url: str, status: int, reason: str, headers, body: bytes) -> bytes:
    """One gzipped WARC/1.1 ``response`` record: the HTTP status line, headers and body."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _WIRE_HEADERS]
    lines.append(f"Content-Length: {len(body)}")
    block = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace") + body
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = (
        "WARC/1.1\r\n"
        "WARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:{uuid.uuid4()}>\r\n"
        f"WARC-Date: {date}\r\n"
        f"WARC-Target-URI: {url}\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + block + b"\r\n\r\n", mtime=0)


def fetch_urls(
    urls: Iterable[str],
    out: str,
    *,
    timeout: float = 10.0,
    workers: int = 8,
    max_bytes: int = MAX_RECORD_BYTES,
) -> dict[str, Any]:
    """Fetch ``urls`` into the WARC ``out``; returns counts: urls, fetched, failed by reason, and up
    to 20 example failures."""
    urls = list(urls)
    failed: dict[str, int] = {}
    examples: list[dict[str, str]] = []
    fetched = 0
    with ThreadPoolExecutor(max(1, workers)) as pool, storage.open_atomic(out) as f:
        results = pool.map(lambda u: _fetch(u, timeout, max_bytes), urls)
        for url, (outcome, detail) in zip(urls, results):  # in list order: the WARC is reproducible
            if outcome == "ok":
                f.write(warc_response_record(*detail))
                fetched += 1
            else:
                failed[outcome] = failed.get(outcome, 0) + 1
                if len(examples) < 20:
                    examples.append({"url": url, "reason": outcome, "detail": str(detail)[:200]})
    return {
        "urls": len(urls),
        "fetched": fetched,
        "failed": dict(sorted(failed.items())),
        "failure_examples": examples,
        "out": out,
    }
