"""Fetch pages over HTTP into a ``.warc.gz``: a breadth-first crawl of one host, or a URL list.

Each fetched page becomes a WARC ``request`` and ``response`` record pair (warcio), with the status
line and headers the server really sent. Failed fetches are counted by reason, never silent.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections import Counter, deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def page_links(base_url: str, html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [urldefrag(urljoin(base_url, h))[0] for h in parser.hrefs]


def crawl_to_warc(start_urls: list[str], out_path: Path, max_pages: int, follow: bool,
                  timeout_s: float = 30.0) -> dict:
    """Fetch ``start_urls`` (and, with ``follow``, same-host links from them) into ``out_path``.

    Returns counts: pages written, bytes, and fetches skipped by reason (HTTP status, errors).
    """
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    hosts = {urlsplit(u).netloc for u in start_urls}
    queue, seen = deque(start_urls), set(start_urls)
    skipped: Counter[str] = Counter()
    pages, payload_bytes = 0, 0
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    with open(tmp, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        while queue and pages < max_pages:
            url = queue.popleft()
            try:
                with urllib.request.urlopen(url, timeout=timeout_s) as resp:
                    body, status, reason = resp.read(), resp.status, resp.reason
                    headers, ctype = list(resp.headers.items()), resp.headers.get_content_type()
            except urllib.error.HTTPError as e:
                skipped[f"http_{e.code}"] += 1
                continue
            except (urllib.error.URLError, TimeoutError, OSError) as e:
                skipped[f"fetch_error:{type(e).__name__}"] += 1
                continue
            req_headers = StatusAndHeaders(f"GET {urlsplit(url).path or '/'} HTTP/1.1",
                                           [("Host", urlsplit(url).netloc)], is_http_request=True)
            writer.write_record(writer.create_warc_record(url, "request", http_headers=req_headers))
            http_headers = StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=http_headers))
            pages += 1
            payload_bytes += len(body)
            if follow and ctype == "text/html":
                for link in page_links(url, body.decode("utf-8", errors="replace")):
                    if urlsplit(link).netloc in hosts and link not in seen:
                        seen.add(link)
                        queue.append(link)
    tmp.replace(out_path)
    return {"pages": pages, "payload_bytes": payload_bytes, "skipped": dict(skipped),
            "unfetched_links": len(queue)}
