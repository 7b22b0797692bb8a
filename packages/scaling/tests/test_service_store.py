"""The service's store without a server: charging, refunds, the queue order, and the SQL PostgreSQL gets."""

from __future__ import annotations

import sqlite3

import pytest

from lmforge.core import LmforgeError
from lmforge.scaling.experiment import Experiment
from lmforge.scaling.service.db import default_url, experiments, make_engine
from lmforge.scaling.service.store import DuplicateError, OverBudgetError, Store, hash_key

SHAPE = dict(vocab_size=256, context_length=32, d_model=32, num_layers=2, num_heads=2)


@pytest.fixture
def store(tmp_path):
    return Store(make_engine(default_url(tmp_path)))


def test_keys_are_stored_as_hashes_only(store, tmp_path):
    key = store.add_key("a", 1e12)
    assert store.authenticate(key)["name"] == "a" and store.authenticate(key + "x") is None
    with sqlite3.connect(tmp_path / "service.sqlite") as db:
        stored = repr(db.execute("SELECT * FROM api_keys").fetchall())
    assert key not in stored and key[4:] not in stored and hash_key(key) in stored
    with pytest.raises(LmforgeError, match="already exists"):
        store.add_key("a", 1e12)
    with pytest.raises(LmforgeError, match="positive"):
        store.add_key("b", 0)


def test_charge_settle_refund_and_queue_order(store):
    key = store.authenticate(store.add_key("a", 3e12))["id"]
    first = store.submit(key, Experiment(SHAPE, 1e12), "surrogate", 1e12)
    second = store.submit(key, Experiment(SHAPE, 1e12, seed=1), "surrogate", 1e12)
    with pytest.raises(DuplicateError):
        store.submit(key, Experiment(SHAPE, 1e12), "surrogate", 1e12)
    with pytest.raises(OverBudgetError):
        store.submit(key, Experiment(SHAPE, 1.5e12, seed=2), "surrogate", 1.5e12)
    assert store.claim_next("w1")[0] == first and store.claim_next("w2")[0] == second
    assert store.claim_next("w3") is None
    store.finish(first, {"flops": 1.02e12, "loss": 3.0}, [[1.0, 3.0]])  # a run spends a little past
    store.fail(second, "boom")
    b = store.budget(key)
    assert b["used"] == pytest.approx(1.02e12) and b["experiments"] == {"done": 1, "failed": 1}
    failed = store.experiment(key, second)
    assert failed["refunded"] == 1e12 and failed["charged"] == 0 and failed["reason"] == "boom"
    # the refunded configuration may come back; the finished one may not
    assert store.submit(key, Experiment(SHAPE, 1e12, seed=1), "surrogate", 1e12) > second
    with pytest.raises(DuplicateError):
        store.submit(key, Experiment(SHAPE, 1e12), "surrogate", 1e12)


def test_postgresql_gets_a_partial_unique_index_and_row_locks():
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    index = next(i for i in experiments.indexes if i.name == "one_live_copy_per_config")
    ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
    assert ddl.startswith("CREATE UNIQUE INDEX") and ddl.endswith("WHERE status != 'failed'")
    claim = select(experiments.c.id).where(experiments.c.status == "queued").limit(1)
    sql = str(claim.with_for_update(skip_locked=True).compile(dialect=postgresql.dialect()))
    assert sql.endswith("FOR UPDATE SKIP LOCKED")
