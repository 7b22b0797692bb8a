"""A client for ``lmforge scaling serve``.

    from lmforge.scaling.client import Client
    lab = Client("http://127.0.0.1:8765", key)            # or LMFORGE_SCALING_URL / LMFORGE_SCALING_KEY
    exp = lab.submit({"vocab_size": 256, "context_length": 64, "d_model": 64, "num_layers": 2,
                      "num_heads": 2, "d_ff": 256}, flops=1e13)
    lab.wait([exp["id"]]); lab.experiment(exp["id"])["result"]["loss"]
    lab.predict(1e16, model={...})["at_shape"]["loss"]     # {value, low, high}

Refusals raise ``ServiceError`` carrying the HTTP status (400 over budget or invalid, 409 duplicate).
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx

from lmforge.core import LmforgeError


class ServiceError(LmforgeError):
    def __init__(self, status: int, detail: Any) -> None:
        message = detail.get("message", detail) if isinstance(detail, dict) else detail
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.detail = status, detail


class Client:
    def __init__(self, url: str | None = None, key: str | None = None, timeout: float = 60.0) -> None:
        url = url or os.environ.get("LMFORGE_SCALING_URL", "http://127.0.0.1:8765")
        key = key or os.environ.get("LMFORGE_SCALING_KEY")
        if not key:
            raise LmforgeError("an API key is needed (--key or LMFORGE_SCALING_KEY); "
                               "create one with `lmforge scaling keys add NAME --budget FLOPS`")
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                 headers={"Authorization": f"Bearer {key}"})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            r = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise LmforgeError(f"cannot reach the scaling service at {self.http.base_url}: {e}") from None
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            raise ServiceError(r.status_code, detail)
        return r.json()

    def submit(self, model: dict[str, int], flops: float | None = None, tokens: float | None = None,
               batch_size: int = 16, lr: float = 3e-3, seed: int = 0,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"model": model, "flops": flops, "tokens": tokens, "batch_size": batch_size, "lr": lr,
                "seed": seed, "extra": extra or {}}
        return self._call("POST", "/submit", json=body)

    def experiments(self) -> list[dict[str, Any]]:
        return self._call("GET", "/experiments")

    def experiment(self, exp_id: int) -> dict[str, Any]:
        return self._call("GET", f"/experiment/{exp_id}")

    def budget(self) -> dict[str, Any]:
        return self._call("GET", "/budget")

    def predict(self, budget: float, model: dict[str, int] | None = None, method: str = "parametric",
                bootstrap: int = 100, level: float = 0.95, vocab_size: int | None = None,
                context_length: int | None = None) -> dict[str, Any]:
        body = {"budget": budget, "model": model, "method": method, "bootstrap": bootstrap, "level": level,
                "vocab_size": vocab_size, "context_length": context_length}
        return self._call("POST", "/predict", json=body)

    def wait(self, ids: list[int] | None = None, timeout: float = 600.0, poll: float = 0.2) -> list[dict]:
        """Wait until the experiments (all of this key's when ``ids`` is None) are done or failed."""
        deadline = time.monotonic() + timeout
        while True:
            runs = [e for e in self.experiments() if ids is None or e["id"] in ids]
            if all(e["status"] in ("done", "failed") for e in runs):
                return runs
            if time.monotonic() > deadline:
                pending = [e["id"] for e in runs if e["status"] not in ("done", "failed")]
                raise LmforgeError(f"experiments {pending} still pending after {timeout:.0f}s")
            time.sleep(poll)

    def close(self) -> None:
        self.http.close()
