"""Fixtures that build inputs at run time: WARC files from generated HTML."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest

os.environ.setdefault(
    "TIKTOKEN_CACHE_DIR", str(Path(__file__).resolve().parents[3].parent / "shared" / "tiktoken_cache")
)


def make_warc(path: Path, pages: list[tuple[str, bytes, str]], gzip: bool | None = None) -> Path:
    """Write ``(url, body, content_type)`` pages as WARC response records (plus a request record each)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    gz = path.name.endswith(".gz") if gzip is None else gzip
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gz)
        for url, body, ctype in pages:
            req = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(f"GET {url} HTTP/1.1", [], is_http_request=True),
            )
            writer.write_record(req)
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
            writer.write_record(rec)
    return path


def html_page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title><script>var x = 1;</script></head>"
        f"<body><nav>Home | About</nav>{body}</body></html>"
    ).encode()


@pytest.fixture
def warc_maker():
    return make_warc


@pytest.fixture
def page_maker():
    return html_page


TOPICS = ["rivers", "bridges", "gardens", "libraries", "railways", "harbours", "forests", "museums"]


def prose(rng: random.Random, topic: str, n_sentences: int = 12) -> str:
    subjects = [
        "The committee",
        "A local historian",
        "The council",
        "Most visitors",
        "The engineers",
        "Several residents",
        "The survey",
        "An early report",
    ]
    verbs = ["described", "examined", "documented", "compared", "restored", "measured", "praised", "mapped"]
    objects = [
        f"the old {topic} of the region",
        f"the history of the {topic}",
        f"several {topic} nearby",
        f"the condition of the {topic}",
        f"how the {topic} changed over time",
    ]
    extra = [
        "during the last century",
        "with great care",
        "after the flood",
        "in considerable detail",
        "before the new plan was approved",
        "for the annual report",
    ]
    sentences = [
        f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} {rng.choice(extra)} "
        f"(note {rng.randrange(10**6)})."
        for _ in range(n_sentences)
    ]
    return "\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))


def html(text: str, charset: str = "utf-8") -> bytes:
    paras = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    return (
        f'<html><head><meta charset="{charset}"><title>t</title></head><body>{paras}</body></html>'
    ).encode(charset, errors="replace")


def build_crawl(folder: Path, make_warc, n_shards: int = 4, docs_per_shard: int = 5, seed: int = 0) -> dict:
    """WARC shards of English prose pages plus planted cases; returns what was planted."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    shards: list[list[tuple[str, bytes, str]]] = [[] for _ in range(n_shards)]
    texts = []
    for s in range(n_shards):
        for d in range(docs_per_shard):
            text = prose(rng, rng.choice(TOPICS))
            texts.append(text)
            shards[s].append((f"http://site{s}.test/{d}", html(text), "text/html; charset=utf-8"))
    planted = {"exact_copy": texts[0], "pii": "alice@example.com"}
    # An exact copy of the first page in the last shard, and a near duplicate (one word changed).
    shards[-1].append(("http://mirror.test/copy", html(texts[0]), "text/html"))
    # One word changed on every line, so exact line dedup leaves it for MinHash to find.
    near = "\n".join(line.replace(" the ", " a ", 1) for line in texts[-2].split("\n"))
    shards[-1].append(("http://mirror.test/near", html(near), "text/html"))
    short = "This page is too short to keep, though long enough for the length filter."
    shards[0].append(("http://site0.test/short", html(short), "text/html"))
    shards[1 % n_shards].append(
        (
            "http://site1.test/fr",
            html(
                " ".join(
                    ["Le comité a examiné l'histoire des ponts de la région avec beaucoup de soin."] * 12
                )
            ),
            "text/html",
        )
    )
    shards[1 % n_shards].append(
        ("http://site1.test/img", b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "image/png")
    )
    shards[2 % n_shards].append(
        ("http://site2.test/empty", b"<html><body><script>1</script></body></html>", "text/html")
    )
    pii_text = prose(rng, "gardens") + "\nWrite to alice@example.com or call 283-182-3829 from 10.0.0.1."
    shards[2 % n_shards].append(("http://site2.test/pii", html(pii_text), "text/html"))
    latin = prose(rng, "museums").replace("The council", "The Café Münster council")
    shards[3 % n_shards].append(("http://site3.test/latin1", html(latin, "latin-1"), "text/html"))
    paths = []
    for s, pages in enumerate(shards):
        paths.append(make_warc(folder / f"crawl-{s}.warc.gz", pages))
    # A truncated copy of shard 0 as an extra shard: its intact records are read, the cut one skipped.
    data = paths[0].read_bytes()
    (folder / "crawl-cut.warc.gz").write_bytes(data[: int(len(data) * 0.6)])
    return planted


@pytest.fixture
def crawl_builder():
    return build_crawl


@pytest.fixture(scope="session", autouse=True)
def _classifier_cache(tmp_path_factory):
    """Classifier models train into a per-session folder, never the user's cache."""
    folder = tmp_path_factory.mktemp("classifier-cache")
    old = os.environ.get("LMFORGE_DATA_CACHE")
    os.environ["LMFORGE_DATA_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("LMFORGE_DATA_CACHE", None)
    else:
        os.environ["LMFORGE_DATA_CACHE"] = old
