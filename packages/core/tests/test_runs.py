import json

import pytest

from lmforge.core import JsonlLogger, atomic_open, atomic_write, new_run_dir, read_metrics, truncate_metrics


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    atomic_write(path, "one")
    atomic_write(path, b"two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]


def test_atomic_open_leaves_old_file_on_error(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, b"good")
    with pytest.raises(RuntimeError), atomic_open(path) as f:
        f.write(b"half")
        raise RuntimeError("crash mid-write")
    assert path.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_new_run_dir_never_reuses_a_name(tmp_path):
    a = new_run_dir(tmp_path, "exp")
    b = new_run_dir(tmp_path, "exp")
    assert a.name == "exp" and b.name == "exp-1"


def test_metrics_have_step_and_time_and_survive_a_torn_line(tmp_path):
    log = JsonlLogger(tmp_path)
    log.log(1, loss=2.5)
    log.log(2, loss=float("nan"))
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 3, "lo')  # a crash mid-line
    records = read_metrics(tmp_path)
    assert [r["step"] for r in records] == [1, 2]
    assert all("time_s" in r for r in records)
    assert records[1]["loss"] == "nan"


def test_truncate_drops_later_steps_and_resumed_clock_continues(tmp_path):
    log = JsonlLogger(tmp_path)
    for s in range(1, 6):
        log.log(s, loss=1.0 / s)
    log.close()
    truncate_metrics(tmp_path, 3)
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]
    resumed = JsonlLogger(tmp_path, start_time_s=100.0)
    record = resumed.log(4, loss=0.1)
    resumed.close()
    assert record["time_s"] >= 100.0
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 4
