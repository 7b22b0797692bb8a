"""Directory locks between real processes: a second writer is refused, a killed holder frees the lock."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from lmforge.core import DirectoryLockedError, atomic_write, lock_dir

HOLD = """
import sys, time
from lmforge.core import lock_dir
lock_dir(sys.argv[1], "run directory")
print("locked", flush=True)
time.sleep(60)
"""

TRY = """
import sys
from lmforge.core import LmforgeError, lock_dir
try:
    lock_dir(sys.argv[1], "run directory")
except LmforgeError as e:
    print(e)
    sys.exit(3)
print("got it")
"""


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _try(path):
    return subprocess.run([sys.executable, "-c", TRY, str(path)], capture_output=True, text=True, timeout=60)


def test_second_process_is_refused_with_holder_pid_and_host(tmp_path):
    holder = _holder(tmp_path / "run")
    try:
        second = _try(tmp_path / "run")
        assert second.returncode == 3, second.stdout + second.stderr
        line = second.stdout.strip()
        assert "\n" not in line
        assert f"pid {holder.pid}" in line and socket.gethostname() in line and "run directory" in line
    finally:
        holder.kill()
        holder.wait()


def test_killed_holder_releases_the_lock(tmp_path):
    holder = _holder(tmp_path / "run")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    second = _try(tmp_path / "run")
    assert second.returncode == 0 and "got it" in second.stdout


def test_same_process_may_lock_twice_and_release_in_order(tmp_path):
    outer = lock_dir(tmp_path)
    inner = lock_dir(tmp_path)
    assert inner is outer
    inner.release()
    assert _try(tmp_path).returncode == 3  # still held by the outer user
    outer.release()
    assert _try(tmp_path).returncode == 0


def test_lock_in_this_process_refuses_another(tmp_path):
    with lock_dir(tmp_path / "out", "data output"):
        proc = _try(tmp_path / "out")
        assert proc.returncode == 3 and f"pid {os.getpid()}" in proc.stdout
    with pytest.raises(DirectoryLockedError):
        holder = _holder(tmp_path / "x")
        try:
            lock_dir(tmp_path / "x")
        finally:
            holder.kill()
            holder.wait()


def test_atomic_write_keeps_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", "x")
        os.umask(0o077)
        atomic_write(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o600
