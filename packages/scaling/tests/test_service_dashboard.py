"""The dashboard at ``/`` in a real headless Chromium: the page's own script fills the runs table."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from lmforge.scaling.client import Client

SHAPE = dict(vocab_size=256, context_length=32, num_layers=2, num_heads=2)
BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def dump_dom(url: str) -> str:
    """The DOM after the page's scripts ran for (virtual) seconds: what a person would see."""
    out = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--virtual-time-budget=8000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.skipif(BROWSER is None, reason="no chromium binary (apt-get install chromium)")
def test_dashboard_lists_runs_in_headless_chromium(lab):
    key = lab.add_key("viewer", 1e15)
    server = lab.server(key, workers=2, options=("delay=0.05",))
    client = Client(server.url, key)
    ids = [client.submit({**SHAPE, "d_model": w}, flops=c)["id"] for c in (1e12, 1e13) for w in (16, 32, 64)]
    client.wait(ids, timeout=60)

    dom = dump_dom(f"{server.url}/#key={key}")
    rows = re.findall(r'<tr id="run-(\d+)">(.*?)</tr>', dom, re.S)
    assert sorted(int(i) for i, _ in rows) == ids
    assert all('class="status-done">done<' in row for _, row in rows)
    budget = client.budget()  # shown as JavaScript's toPrecision(4) writes these magnitudes
    assert f'<span id="budget-used">{budget["used"]:.3e}</span>' in dom
    assert f'<span id="budget-left">{budget["left"]:.3e}</span>' in dom
    assert re.search(r'<span id="key-name">viewer</span>', dom)
    assert re.search(r'<img id="isoflops"[^>]*src="blob:[^"]*"[^>]*data-finished="6"', dom)
    png = client.http.get("/plot/isoflops.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n" and len(png.content) > 10_000

    # without a key (or with a wrong one) the page shows no data, and a key in the query is not accepted
    assert "a valid API key is required" in dump_dom(f"{server.url}/")
    wrong = dump_dom(f"{server.url}/#key=lmf_wrong")
    assert "HTTP 401" in wrong and not re.findall(r'<tr id="run-', wrong)
    assert client.http.get(f"/budget?key={key}", headers={"Authorization": ""}).status_code == 401
