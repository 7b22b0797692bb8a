"""Fixtures that build inputs at run time: WARC files from generated HTML."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(__file__).resolve().parents[3].parent / "shared"
                                                / "tiktoken_cache"))


def make_warc(path: Path, pages: list[tuple[str, bytes, str]], gzip: bool | None = None) -> Path:
    """Write ``(url, body, content_type)`` pages as WARC response records (plus a request record each)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    gz = path.name.endswith(".gz") if gzip is None else gzip
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gz)
        for url, body, ctype in pages:
            req = writer.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                            http_headers=StatusAndHeaders(f"GET {url} HTTP/1.1", [],
                                                                          is_http_request=True))
            writer.write_record(req)
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
            writer.write_record(rec)
    return path


def html_page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>{title}</title><script>var x = 1;</script></head>"
            f"<body><nav>Home | About</nav>{body}</body></html>").encode()


@pytest.fixture
def warc_maker():
    return make_warc


@pytest.fixture
def page_maker():
    return html_page
