"""``lmforge scaling sweep`` takes the shared run options (--config, --set, --resume, --device) and
locks its sweep directory: a second sweep on the same directory is refused while the first runs."""

import json
import os
import re
import subprocess
import sys
import time
import tomllib

from click.testing import CliRunner

from lmforge.core.cli import build_cli

LEFT = r"runs recorded in .*; (\S+) FLOPs left"


def _sweep(*args):
    return [sys.executable, "-m", "lmforge.core", "scaling", "sweep", *args]


def test_a_second_sweep_on_the_same_directory_is_refused(tmp_path):
    out = tmp_path / "sweep"
    # the surrogate backend's delay makes the first sweep take seconds: 3 runs x 1.5 s
    config = tmp_path / "sweep.toml"
    config.write_text(f'budgets = [1e12]\nsizes = [3]\nbackend = {{name = "surrogate", delay = 1.5}}\n'
                      f'ledger = "{tmp_path / "a.sqlite"}"\ntotal_flops = 1e14\nout = "{out}"\n')
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(_sweep("--config", str(config)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    try:
        lock = out / ".lmforge.lock"
        deadline = time.monotonic() + 120
        while not (lock.is_file() and lock.read_text()) and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.1)
        assert json.loads(lock.read_text())["pid"] == first.pid
        second = subprocess.run(_sweep("--budgets", "1e12", "--sizes", "3", "--backend", "surrogate",
                                       "--ledger", str(tmp_path / "b.sqlite"), "--total-flops", "1e14",
                                       "--out", str(out)),
                                capture_output=True, text=True, timeout=120, env=env)
        assert second.returncode == 1, second.stdout + second.stderr
        assert f"sweep directory {out.resolve()} is being written by pid {first.pid}" in second.stderr
        assert first.poll() is None  # the refusal came while the first sweep was still running
    finally:
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert "3 runs recorded" in stdout and (out / "runs.csv").is_file()
    # once the first has finished, the directory is free again
    again = subprocess.run(_sweep("--config", str(config), "--set", "backend.delay=0"), capture_output=True,
                           text=True, timeout=120, env=env)
    assert again.returncode == 0, again.stderr


def test_config_set_resume_and_device(tmp_path, monkeypatch):
    seen = {}
    import lmforge.scaling.train_backend as train_backend

    class Recorded(Exception):
        pass

    def fake_init(self, data="", out="", device="cpu", **options):
        seen.update(data=data, out=out, device=device)
        raise Recorded

    monkeypatch.setattr(train_backend.TrainBackend, "__init__", fake_init)
    out = tmp_path / "sweep"
    cli = build_cli()
    assert "[default: auto]" in CliRunner().invoke(cli, ["scaling", "sweep", "--help"]).output
    args = ["scaling", "sweep", "--budgets", "1e12", "--data", "t.bin", "--out", str(out),
            "--ledger", str(tmp_path / "l.sqlite"), "--total-flops", "1e14"]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, Recorded) and seen["device"] == "auto"
    CliRunner().invoke(cli, [*args, "--device", "cpu"])
    assert seen == {"data": "t.bin", "out": out.resolve() / "runs", "device": "cpu"}

    result = CliRunner().invoke(cli, ["scaling", "sweep", "--out", str(out)])
    assert "give the budgets" in str(result.exception)

    # --config and --set; the flags win over both; the resolved config is saved for --resume
    config = tmp_path / "s.toml"
    config.write_text(f'budgets = [1e12, 1e13]\nsizes = [3]\nbackend = "surrogate"\nspan = 4.0\n'
                      f'ledger = "{tmp_path / "l.sqlite"}"\ntotal_flops = 1e15\n')
    result = CliRunner().invoke(cli, ["scaling", "sweep", "--config", str(config), "--set", "sizes=[4]",
                                      "--noise", "0", "--out", str(out), "--debug"])
    assert result.exit_code == 0, result.output
    assert "8 runs recorded" in result.output
    left = re.findall(LEFT, result.output)
    assert len(left) == 1
    saved = tomllib.loads((out / "sweep.toml").read_text())
    assert saved["sizes"] == [4.0] and saved["span"] == 4.0 and saved["backend"] == {"name": "surrogate",
                                                                                     "noise": 0.0}
    # --resume DIR: the same sweep again, every run answered from the ledger (no new FLOPs spent)
    result = CliRunner().invoke(cli, ["scaling", "sweep", "--resume", str(out)])
    assert result.exit_code == 0, result.output
    assert "8 runs recorded" in result.output and re.findall(LEFT, result.output) == left
