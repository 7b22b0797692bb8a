"""``lmforge scaling serve | keys | client``: the scaling lab as a shared service.

Only click is imported here; FastAPI, SQLAlchemy and httpx load inside each command.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from lmforge.core import LmforgeError

database_options = [
    click.option("--lab-dir", default="scaling_lab", show_default=True,
                 help="Directory of the service's SQLite database and the train backend's runs."),
    click.option("--database-url", default=None,
                 help="SQLAlchemy URL (postgresql+psycopg://user@host/db); default: SQLite in --lab-dir."),
]


def with_database(fn):
    for opt in reversed(database_options):
        fn = opt(fn)
    return fn


def _store(lab_dir: str, database_url: str | None):
    from .service.db import default_url, make_engine
    from .service.store import Store

    return Store(make_engine(database_url or default_url(lab_dir)))


def _option_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # a bare string such as a path


def _options(pairs: tuple[str, ...]) -> dict:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise LmforgeError(f"--option {pair!r}: expected NAME=VALUE")
        out[name.strip()] = _option_value(value.strip())
    return out


# -- serve -----------------------------------------------------------------------------------------


@click.command("serve")
@with_database
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True)
@click.option("--backend", default="train", show_default=True, help="experiment_backend: train or surrogate.")
@click.option("--option", "options", multiple=True, help="Backend option NAME=VALUE (delay=0.5); repeatable.")
@click.option("--data", default="", help="Token file to train on (train backend).")
@click.option("--val-data", default="", help="Validation token file (train backend).")
@click.option("--device", default="cpu", show_default=True, help="Device (train backend).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--workers", default=2, show_default=True, help="Cap on experiments running at once.")
@click.option("--ray-address", default="", help="Ray cluster address (executor ray); empty: a local one.")
def serve_command(lab_dir, database_url, host, port, backend, options, data, val_data, device, executor,
                  workers, ray_address):
    """Serve the lab over HTTP: keys, budgets, a queue run by workers, predictions, a dashboard at /."""
    import logging

    import uvicorn

    from lmforge.core import get_part

    from .service.app import create_app
    from .service.dispatcher import Dispatcher

    opts = _options(options)
    if backend == "train":
        opts = {"data": data, "val_data": val_data, "device": device,
                "out": str(Path(lab_dir).resolve() / "runs"), **opts}
        if not opts["data"]:
            raise LmforgeError("the train backend needs --data TOKENS.bin (or use --backend surrogate)")
    part = get_part("experiment_backend", backend)(**opts)
    store = _store(lab_dir, database_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    dispatcher = Dispatcher(store, backend, opts, executor, workers,
                            {"address": ray_address} if executor == "ray" else None)
    if dispatcher.recovered:
        click.echo(f"{dispatcher.recovered} experiments left running by a stopped service: failed, refunded")
    click.echo(f"lmforge scaling lab on http://{host}:{port}/ ({backend} backend, {executor} executor, "
               f"{workers} workers)")
    uvicorn.run(create_app(store, part, dispatcher), host=host, port=port, log_level="warning")


# -- keys ------------------------------------------------------------------------------------------


@click.group("keys")
def keys_group() -> None:
    """API keys of the service and their FLOPs budgets (works on the database directly)."""


@keys_group.command("add")
@click.argument("name")
@click.option("--budget", type=float, required=True, help="FLOPs this key may spend, e.g. 1e18.")
@with_database
def keys_add(name, budget, lab_dir, database_url):
    """Create a key; it is printed once (only its hash is stored)."""
    click.echo(_store(lab_dir, database_url).add_key(name, budget))


@keys_group.command("list")
@with_database
def keys_list(lab_dir, database_url):
    """Every key with its budget, used and left."""
    for k in _store(lab_dir, database_url).keys():
        click.echo(f"{k['name']:<20} budget {k['budget']:.4g}  used {k['used']:.4g}  left {k['left']:.4g}")


@keys_group.command("set-budget")
@click.argument("name")
@click.argument("budget", type=float)
@with_database
def keys_set_budget(name, budget, lab_dir, database_url):
    """Change a key's total budget."""
    _store(lab_dir, database_url).set_budget(name, budget)
    click.echo(f"{name}: budget {budget:.4g} FLOPs")


# -- client ----------------------------------------------------------------------------------------


@click.group("client")
@click.option("--url", envvar="LMFORGE_SCALING_URL", default="http://127.0.0.1:8765", show_default=True)
@click.option("--key", envvar="LMFORGE_SCALING_KEY", default=None, help="API key (or LMFORGE_SCALING_KEY).")
@click.pass_context
def client_group(ctx, url, key) -> None:
    """Talk to a running `lmforge scaling serve`."""
    ctx.obj = {"url": url, "key": key}


def _client(obj: dict):
    """Connected only when a command runs, so ``--help`` needs no key."""
    from .client import Client

    client = Client(obj["url"], obj["key"])
    click.get_current_context().call_on_close(client.close)
    return client


shape_options = [
    click.option("--vocab-size", type=int, default=256, show_default=True),
    click.option("--context-length", type=int, default=64, show_default=True),
    click.option("--d-model", type=int, default=None),
    click.option("--num-layers", type=int, default=None),
    click.option("--num-heads", type=int, default=None),
    click.option("--d-ff", type=int, default=None),
]


def with_shape(fn):
    for opt in reversed(shape_options):
        fn = opt(fn)
    return fn


def _shape(vocab_size, context_length, d_model, num_layers, num_heads, d_ff) -> dict | None:
    if d_model is None:
        return None
    shape = {"vocab_size": vocab_size, "context_length": context_length, "d_model": d_model,
             "num_layers": num_layers or 1, "num_heads": num_heads or 1}
    if d_ff:
        shape["d_ff"] = d_ff
    return shape


def _echo(obj) -> None:
    click.echo(json.dumps(obj, indent=1))


@client_group.command("submit")
@with_shape
@click.option("--flops", type=float, default=None, help="Train for this many FLOPs ...")
@click.option("--tokens", type=float, default=None, help="... or on this many tokens.")
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--lr", type=float, default=3e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--wait", "wait_s", type=float, default=None, help="Wait up to this many seconds for the run.")
@click.pass_obj
def client_submit(obj, vocab_size, context_length, d_model, num_layers, num_heads, d_ff, flops, tokens,
                  batch_size, lr, seed, wait_s):
    """Queue one experiment (a shape trained for --flops or --tokens)."""
    client = _client(obj)
    shape = _shape(vocab_size, context_length, d_model, num_layers, num_heads, d_ff)
    if shape is None:
        raise LmforgeError("submit needs a shape: --d-model, --num-layers, --num-heads (and --d-ff)")
    out = client.submit(shape, flops=flops, tokens=tokens, batch_size=batch_size, lr=lr, seed=seed)
    if wait_s is not None:
        client.wait([out["id"]], timeout=wait_s)
        out = client.experiment(out["id"])
    _echo(out)


@client_group.command("list")
@click.pass_obj
def client_list(obj):
    """This key's experiments, one line each."""
    client = _client(obj)
    for e in client.experiments():
        r, m = e["result"] or {}, e["request"]["model"]
        loss = f"loss {r['loss']:.4f}" if "loss" in r else ""
        note = f"{e['reason']} (refunded {e['refunded']:.3g})" if e["status"] == "failed" else loss
        click.echo(f"{e['id']:>5}  {e['status']:<8} C={e['flops']:.3g}  d_model={m['d_model']} "
                   f"layers={m['num_layers']}  {note}")


@client_group.command("show")
@click.argument("exp_id", type=int)
@click.pass_obj
def client_show(obj, exp_id):
    """One experiment as JSON: request, status, result, loss curve, failure reason."""
    client = _client(obj)
    _echo(client.experiment(exp_id))


@client_group.command("budget")
@click.pass_obj
def client_budget(obj):
    """Budget, used and left (FLOPs) and experiment counts by status."""
    client = _client(obj)
    _echo(client.budget())


@client_group.command("predict")
@click.option("--budget", type=float, required=True, help="FLOPs budget.")
@with_shape
@click.option("--method", type=click.Choice(["parametric", "isoflops"]), default="parametric",
              show_default=True)
@click.option("--bootstrap", default=100, show_default=True)
@click.pass_obj
def client_predict(obj, budget, vocab_size, context_length, d_model, num_layers, num_heads, d_ff, method,
                   bootstrap):
    """Law fitted to this key's finished runs: compute-optimal config for --budget, and the loss of a
    shape (--d-model ...) at that budget, with intervals."""
    client = _client(obj)
    shape = _shape(vocab_size, context_length, d_model, num_layers, num_heads, d_ff)
    _echo(client.predict(budget, shape, method=method, bootstrap=bootstrap, vocab_size=vocab_size,
                         context_length=context_length))


commands = (serve_command, keys_group, client_group)
