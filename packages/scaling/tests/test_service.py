"""``lmforge scaling serve`` end to end: a real uvicorn server in a subprocess, driven by the client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lmforge.scaling.client import Client, ServiceError
from lmforge.scaling.known_law import KnownLaw

SHAPE = dict(vocab_size=256, context_length=32, d_model=32, num_layers=2, num_heads=2)


def shape(d_model: int, layers: int = 2) -> dict:
    return {**SHAPE, "d_model": d_model, "num_layers": layers}


def refused(status: int, call, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call(*args, **kwargs)
    assert info.value.status == status, info.value
    return info.value


def wait_for(client: Client, exp_id: int, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (e := client.experiment(exp_id))["status"] != status:
        assert time.monotonic() < deadline, f"experiment {exp_id} is {e['status']}, never {status}"
        time.sleep(0.05)
    return e


def test_keys_budgets_refusals_and_isolation(lab):
    alice, bob = lab.add_key("alice", 3.5e12), lab.add_key("bob", 1e13)
    server = lab.server(alice)
    a, b = Client(server.url, alice), Client(server.url, bob)
    refused(401, Client(server.url, "lmf_not-a-key").budget)

    first = a.submit(shape(32), flops=1e12)
    assert first["status"] == "queued" and first["budget"]["used"] == pytest.approx(1e12)
    err = refused(409, a.submit, shape(32), flops=1e12)  # the same configuration again
    assert err.detail["existing"] == first["id"]
    refused(400, a.submit, shape(32), flops=3e12)  # 2.5e12 left
    refused(400, a.submit, {**shape(32), "num_heads": 3}, flops=1e12)  # invalid shape
    refused(400, a.submit, shape(32), flops=1e12, tokens=1e6)  # both budgets
    refused(400, a.submit, {"d_model": 32}, tokens=1e6)  # no shape to count tokens with
    refused(400, a.submit, shape(32), flops=1e12, extra={"out": "/etc"})  # not the server's paths
    by_tokens = a.submit(shape(48), tokens=2e6)  # tokens become FLOPs at this shape's exact cost
    assert 1e10 < by_tokens["flops"] < 2.5e12
    assert a.budget()["used"] == pytest.approx(1e12 + by_tokens["flops"])

    # a key sees only its own experiments, and its own budget
    assert b.experiments() == [] and b.budget()["used"] == 0
    refused(404, b.experiment, first["id"])
    assert b.submit(shape(32), flops=1e12)["id"] != first["id"]  # bob's same config is bob's own
    assert {e["id"] for e in a.experiments()} == {first["id"], by_tokens["id"]}

    done = a.wait(timeout=60)
    assert [e["status"] for e in done] == ["done", "done"]
    shown = a.experiment(first["id"])
    curve = shown["curve"]
    assert len(curve) == 20 and curve[-1][1] == pytest.approx(shown["result"]["loss"])
    assert curve[0][1] > curve[-1][1]  # loss falls as tokens grow
    assert "alice" in lab.cli("scaling", "keys", "list", "--lab-dir", str(server.lab_dir))


def test_two_workers_run_a_queue_then_predict(lab):
    key = lab.add_key("sweep", 1e16)
    server = lab.server(key, workers=2, options=("delay=0.3", "noise=0.005"))
    client = Client(server.url, key)
    budgets, widths = (1e12, 1e13, 1e14), (16, 32, 64, 128)
    ids = [client.submit(shape(w), flops=c)["id"] for c in budgets for w in widths]
    runs = client.wait(ids, timeout=120)
    assert all(e["status"] == "done" for e in runs)
    # two workers: runs overlapped in pairs, never three at once
    spans = [(e["started"], e["finished"]) for e in runs]
    overlap = max(sum(s <= t < f for s, f in spans) for t, _ in spans)
    assert overlap == 2
    assert len({e["worker"] for e in runs}) == 2
    assert client.budget()["used"] == pytest.approx(4 * sum(budgets))

    # the service's prediction is the library's fit of the same runs
    from lmforge.scaling.law import fit_law
    from lmforge.scaling.table import table_from_records

    target = shape(256, 4)
    answer = client.predict(1e16, model=target, bootstrap=40)
    rows = [e["result"] for e in runs]
    law = fit_law("parametric", table_from_records(rows), bootstrap=40, level=0.95)
    assert answer["runs"] == 12
    assert answer["optimal"]["params"]["value"] == pytest.approx(law.optimal(1e16).params.value, rel=1e-9)
    at = answer["at_shape"]
    assert at["loss"]["low"] <= at["loss"]["value"] <= at["loss"]["high"]
    truth = float(KnownLaw().loss(at["params"], at["tokens"]))
    assert at["loss"]["value"] == pytest.approx(truth, rel=0.05)
    assert answer["configuration"]["model"]["vocab_size"] == 256
    iso = client.predict(1e16, method="isoflops")
    assert iso["method"] == "isoflops" and iso["optimal"]["params"]["value"] > 0


def test_killed_worker_fails_and_refunds(lab):
    key = lab.add_key("k", 1e13)
    server = lab.server(key, workers=1, options=("delay=3",))
    client = Client(server.url, key)
    victim = client.submit(shape(32), flops=2e12)["id"]
    running = wait_for(client, victim, "running")
    pid = int(running["worker"].split("@")[0])
    time.sleep(0.5)  # let it get into the run
    os.kill(pid, signal.SIGKILL)
    failed = wait_for(client, victim, "failed")
    assert "died" in failed["reason"] and failed["refunded"] == pytest.approx(2e12)
    assert client.budget()["used"] == 0
    # the worker was replaced: the queue goes on
    nxt = client.submit(shape(32), flops=1e12)["id"]
    assert wait_for(client, nxt, "done", timeout=90)["worker"] != running["worker"]
    # a failed configuration may be submitted again
    assert client.submit(shape(32), flops=2e12)["id"] not in (victim, nxt)


def test_restart_resumes_the_queue(lab):
    key = lab.add_key("k", 1e14)
    server = lab.server(key, workers=1, options=("delay=1.5",))
    client = Client(server.url, key)
    ids = [client.submit(shape(w), flops=1e12)["id"] for w in (16, 32, 48, 64)]
    running = wait_for(client, ids[0], "running")
    worker_pid = int(running["worker"].split("@")[0])
    server.stop(crash=True)  # kill -9: no chance to clean up

    deadline = time.monotonic() + 10  # the orphaned worker notices its server is gone and exits
    while _alive(worker_pid):
        assert time.monotonic() < deadline, "the worker outlived its server"
        time.sleep(0.2)
    restarted = lab.server(key, workers=2, options=("delay=0.2",))
    assert "left running by a stopped service" in restarted.log.read_text()
    client = Client(restarted.url, key)
    runs = {e["id"]: e for e in client.wait(timeout=90)}
    assert runs[ids[0]]["status"] == "failed" and "died" in runs[ids[0]]["reason"]
    assert runs[ids[0]]["refunded"] == pytest.approx(1e12)
    assert [runs[i]["status"] for i in ids[1:]] == ["done"] * 3
    assert client.budget()["used"] == pytest.approx(3e12)

    # a clean stop puts the runs in flight back in the queue
    restarted.stop()
    again = lab.server(key, workers=1, options=("delay=1.0",))
    client = Client(again.url, key)
    more = [client.submit(shape(w), flops=1e12)["id"] for w in (80, 96)]
    wait_for(client, more[0], "running")
    again.stop()
    final = lab.server(key, workers=2, options=("delay=0.1",))
    client = Client(final.url, key)
    runs = {e["id"]: e for e in client.wait(more, timeout=90)}
    assert [runs[i]["status"] for i in more] == ["done", "done"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed but not yet reaped by init) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


SUBMITTER = """
import json, sys
from lmforge.scaling.client import Client, ServiceError
url, key, proc = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = Client(url, key)
shape = json.loads(sys.argv[4])
out = []
for seed in range(-1, 6):
    # seed -1 is the same configuration in every process: exactly one may win it
    try:
        client.submit(shape, flops=1e12, seed=seed if seed < 0 else 100 * proc + seed)
        out.append(201)
    except ServiceError as e:
        out.append(e.status)
print(json.dumps(out))
"""


def test_concurrent_submits_never_overspend(lab):
    key = lab.add_key("shared", 5.5e12)  # room for five 1e12 experiments
    server = lab.server(key, workers=2, options=("delay=0.05",))
    args = [sys.executable, "-c", SUBMITTER, server.url, key]
    procs = [subprocess.Popen([*args, str(p), json.dumps(shape(32))], stdout=subprocess.PIPE, text=True)
             for p in range(4)]
    codes = [c for p in procs for c in json.loads(p.communicate(timeout=120)[0])]
    assert codes.count(201) == 5
    assert codes.count(409) == 3  # the shared configuration, accepted once
    assert codes.count(400) == 4 * 7 - 5 - 3
    client = Client(server.url, key)
    assert len(client.experiments()) == 5
    assert client.budget()["used"] == pytest.approx(5e12)
    assert all(e["status"] == "done" for e in client.wait(timeout=60))
    assert client.budget()["used"] <= 5.5e12
