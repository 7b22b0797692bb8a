"""The dispatcher with each executor, in-process: the Ray executor computes what the local one does."""

from __future__ import annotations

import importlib.util
import time

import pytest

from lmforge.scaling.experiment import Experiment
from lmforge.scaling.service.db import default_url, make_engine
from lmforge.scaling.service.dispatcher import Dispatcher
from lmforge.scaling.service.store import Store
from lmforge.scaling.surrogate import SurrogateBackend

SHAPE = dict(vocab_size=256, context_length=32, num_layers=2, num_heads=2)


def run_queue(tmp_path, executor: str) -> list[dict]:
    store = Store(make_engine(default_url(tmp_path / executor)))
    key = store.authenticate(store.add_key("k", 1e15))["id"]
    backend = SurrogateBackend()
    for width in (16, 32, 48, 64):
        exp = Experiment(model={**SHAPE, "d_model": width}, flops=1e12)
        store.submit(key, exp, backend.name, backend.cost(exp))
    dispatcher = Dispatcher(store, "surrogate", {}, executor, workers=2)
    dispatcher.start()
    try:
        deadline = time.monotonic() + 240
        while any(e["status"] != "done" for e in store.experiments(key)):
            assert time.monotonic() < deadline, store.experiments(key)
            assert not any(e["status"] == "failed" for e in store.experiments(key)), store.experiments(key)
            time.sleep(0.2)
    finally:
        dispatcher.stop()
    return [store.experiment(key, e["id"]) for e in store.experiments(key)]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (lmforge-scaling[ray])")
def test_ray_executor_matches_local(tmp_path):
    import ray

    local = run_queue(tmp_path, "local")
    try:
        remote = run_queue(tmp_path, "ray")
    finally:
        ray.shutdown()
    assert [e["result"] for e in remote] == [e["result"] for e in local]
    assert [e["curve"] for e in remote] == [e["curve"] for e in local]
    assert {e["worker"] for e in remote} == {"ray"}
