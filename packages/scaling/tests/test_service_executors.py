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


def test_a_database_hiccup_is_retried_and_a_bug_stops_the_service(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    store = Store(make_engine(default_url(tmp_path / "lab")))
    key = store.authenticate(store.add_key("k", 1e15))["id"]
    backend = SurrogateBackend()
    exp = Experiment(model={**SHAPE, "d_model": 16}, flops=1e12)
    store.submit(key, exp, backend.name, backend.cost(exp))
    claim_next, calls = store.claim_next, []

    def flaky_claim(label):
        calls.append(label)
        if len(calls) == 1:  # the first claim meets a locked database
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        if len(calls) >= 3:  # later claims meet a bug
            raise KeyError("a bug in claim_next")
        return claim_next(label)

    monkeypatch.setattr(store, "claim_next", flaky_claim)
    stopped = []
    dispatcher = Dispatcher(store, "surrogate", {}, "local", workers=1, on_failure=lambda: stopped.append(1))
    dispatcher.start()
    try:
        dispatcher.thread.join(120)  # the loop ends by itself on the bug
        assert not dispatcher.thread.is_alive() and stopped == [1]
        assert store.experiments(key)[0]["status"] in ("running", "done")  # claimed after the retry
    finally:
        dispatcher.stop()
