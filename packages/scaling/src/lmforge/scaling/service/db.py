"""The service's database: API keys with FLOPs budgets, and experiments, through SQLAlchemy Core.

SQLite (a file under the lab directory, WAL mode so the dashboard reads while the dispatcher writes)
by default; any SQLAlchemy URL (``postgresql+psycopg://...``) otherwise. Budget arithmetic must not
race: on SQLite a writing transaction starts with ``BEGIN IMMEDIATE`` (the database's one write lock
is taken before the budget is read); on PostgreSQL the submit transaction locks the key's row
(``SELECT ... FOR UPDATE``, see ``store.submit``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

metadata = MetaData()

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("budget", Float, nullable=False),  # FLOPs this key may spend in all
    Column("created", Float, nullable=False),
)

STATUSES = ("queued", "running", "done", "failed")

experiments = Table(
    "experiments", metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", Integer, ForeignKey("api_keys.id"), nullable=False, index=True),
    Column("config_hash", String(64), nullable=False),
    Column("backend", String(100), nullable=False),
    Column("request", Text, nullable=False),  # Experiment.canonical() as JSON
    Column("status", String(16), nullable=False, index=True),
    Column("flops", Float, nullable=False),  # what the request asked to spend
    Column("charged", Float, nullable=False),  # what counts against the budget now (0 once refunded)
    Column("refunded", Float, nullable=False, default=0.0),
    Column("result", Text),  # the run-table row as JSON
    Column("curve", Text),  # [[tokens, loss], ...] as JSON
    Column("reason", Text),  # why it failed
    Column("worker", String(100)),  # "pid@host" of the process running it
    Column("submitted", Float, nullable=False),
    Column("started", Float),
    Column("finished", Float),
)

# A configuration is a duplicate while an earlier copy is queued, running or done; a failed one may be
# submitted again. The partial unique index is the database's guard behind the check in ``submit``.
Index("one_live_copy_per_config", experiments.c.key_id, experiments.c.config_hash, unique=True,
      sqlite_where=experiments.c.status != "failed", postgresql_where=experiments.c.status != "failed")


def default_url(lab_dir: str | Path) -> str:
    path = Path(lab_dir).resolve() / "service.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine with the schema created. SQLite connections run in WAL mode, wait for locks instead
    of failing, and open write transactions with ``BEGIN IMMEDIATE`` (``store.write``)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes, one fsync per checkpoint
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:
            immediate = conn.get_execution_options().get("write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine
