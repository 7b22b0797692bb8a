"""The web stage: pydoc pages with their links, served on 127.0.0.1, crawled into a real WARC."""

import json

from lmforge.data import read_warc
from lmforge.recipe.crawl import crawl_to_warc, page_links
from lmforge.recipe.stage_web import WebConfig, render_pydoc_site, run, serve_directory


def test_crawl_follows_links_and_counts_missing_pages(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text('<a href="a.html">a</a> <a href="missing.html">m</a>'
                                     '<a href="https://example.org/x">outside</a>')
    (site / "a.html").write_text('<p>page a</p><a href="index.html#top">back</a>')
    server = serve_directory(site)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        counts = crawl_to_warc([url], tmp_path / "out.warc.gz", max_pages=10, follow=True)
    finally:
        server.shutdown()
        server.server_close()
    assert counts["pages"] == 2  # index and a; the fragment link is the same page; outside never fetched
    assert counts["skipped"] == {"http_404": 1}
    docs = list(read_warc(tmp_path / "out.warc.gz"))
    assert sorted(d.metadata["url"].rsplit("/", 1)[1] for d in docs) == ["a.html", "index.html"]
    from warcio.archiveiterator import ArchiveIterator

    with open(tmp_path / "out.warc.gz", "rb") as f:
        kinds = [(r.rec_type, r.http_headers.get_statuscode() if r.rec_type == "response" else None)
                 for r in ArchiveIterator(f)]
    assert kinds.count(("response", "200")) == 2 and kinds.count(("request", None)) == 2


def test_page_links_resolve_relative_urls():
    assert page_links("http://h/x/i.html", '<a href="j.html#f">j</a><a name="n">') == ["http://h/x/j.html"]


def test_pydoc_site_has_one_page_per_module_and_an_index(tmp_path):
    result = render_pydoc_site(tmp_path, 2)
    assert len(result["modules"]) == 2
    for name in result["modules"]:
        page = (tmp_path / f"{name}.html").read_text()
        assert f"<strong class=\"title\">{name}</strong>" in page
    index = (tmp_path / "index.html").read_text()
    assert all(f'href="{n}.html"' in index for n in result["modules"])


def test_web_stage_pydoc_into_warc(tmp_path):
    result = run(WebConfig(modules=3), tmp_path, log=lambda m: None)
    json.dumps(result)  # stage results go into the done marker
    docs = list(read_warc(result["outputs"]["warcs"][0]))
    assert result["figures"]["pages fetched"] == len(docs) >= 4  # index + 3 modules
    assert result["inputs"]["modules rendered"] == 3


def test_web_stage_url_list_and_user_warcs(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text('<p>a</p><a href="b.html">b</a>')
    (site / "b.html").write_text("<p>b</p>")
    server = serve_directory(site)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        cfg = WebConfig(source="urls", urls=[f"{base}/a.html", f"{base}/nope.html"])
        res = run(cfg, tmp_path / "urls", log=lambda m: None)
    finally:
        server.shutdown()
        server.server_close()
    assert res["figures"]["pages fetched"] == 1  # a list is fetched as given: b.html is not followed
    assert res["figures"]["fetches skipped"] == "http_404=1"
    warc = res["outputs"]["warcs"][0]
    again = run(WebConfig(source="warc", warc_paths=[warc]), tmp_path / "w", log=lambda m: None)
    assert again["outputs"]["warcs"] == [warc]
    import pytest

    from lmforge.core import ConfigError

    with pytest.raises(ConfigError, match="missing"):
        run(WebConfig(source="warc", warc_paths=[str(tmp_path / "absent.warc.gz")]), tmp_path, lambda m: None)
