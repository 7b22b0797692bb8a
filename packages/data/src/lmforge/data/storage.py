"""Where the pipeline's files live: a local path, or any fsspec URL (``s3://``, ``memory://``, ...).

Every pipeline path (inputs, globs, stage files, markers, stats, failures, exclusions) goes through
these helpers. A plain local path (or ``file://``) keeps the local fast path: ``os`` calls, atomic
writes by temp file + rename with fsync (core's ``atomic_open``), memory-mapped reads. Any other URL
goes through fsspec (``s3://`` needs the ``s3`` extra, s3fs; credentials and endpoint come from the
usual ``AWS_*`` environment variables). Object stores publish a written object only when its upload
completes, so a remote write is staged in a local temp file and uploaded whole: a reader never sees a
half-written shard, as with the local rename.

The output-directory lock (:func:`lock_output`): a local folder takes core's ``lock_dir`` (an OS
lock the kernel drops when the process dies). On object storage there is no such lock, so the run
creates a lock object ``<output>/.lmforge.lock`` with an exclusive create (S3's conditional
``If-None-Match: *`` put through s3fs; the memory filesystem's own check): a second run's create
fails and it is refused. The object is deleted when the run ends; a run killed hard leaves it
behind, and the refusal message names the holder and the object to delete.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

LOCK_NAME = ".lmforge.lock"


def _str(path: str | os.PathLike) -> str:
    s = os.fspath(path)
    return s.removeprefix("file://") if s.startswith("file://") else s


def is_local(path: str | os.PathLike) -> bool:
    """True for a plain path or a ``file://`` URL."""
    s = _str(path)
    return "://" not in s and not s.startswith(("memory:", "s3:"))


def protocol(path: str | os.PathLike) -> str:
    s = _str(path)
    return "file" if is_local(s) else s.split(":", 1)[0]


def fs_of(path: str | os.PathLike):
    """(fsspec filesystem, path inside it) for a remote URL."""
    import fsspec

    return fsspec.core.url_to_fs(_str(path))


def _full(fs, stripped: str, proto: str) -> str:
    """A path from ``fs.glob`` / ``fs.find`` as a URL again (they drop the protocol)."""
    return stripped if "://" in stripped else f"{proto}://{stripped.lstrip('/')}"


def join(base: str | os.PathLike, *names: str) -> str:
    s = _str(base)
    if is_local(s):
        return os.path.join(s, *names)
    return "/".join([s.rstrip("/"), *names])


def name_of(path: str | os.PathLike) -> str:
    return posixpath.basename(_str(path).rstrip("/"))


def normalize(path: str | os.PathLike) -> str:
    """An absolute local path, or the URL with ``.``/``..`` segments and trailing slashes removed."""
    s = _str(path)
    if is_local(s):
        return str(Path(s).resolve())
    proto, rest = s.split("://", 1)
    return f"{proto}://{posixpath.normpath('/' + rest).lstrip('/')}"


def is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (normalized; different protocols never)."""
    p, f = normalize(path), normalize(folder)
    return p == f or p.startswith(f.rstrip("/") + "/")


def isfile(path: str | os.PathLike) -> bool:
    s = _str(path)
    if is_local(s):
        return os.path.isfile(s)
    fs, p = fs_of(s)
    return fs.isfile(p)


def isdir(path: str | os.PathLike) -> bool:
    s = _str(path)
    if is_local(s):
        return os.path.isdir(s)
    fs, p = fs_of(s)
    return fs.isdir(p)


def makedirs(path: str | os.PathLike) -> None:
    s = _str(path)
    if is_local(s):
        os.makedirs(s, exist_ok=True)
    else:
        fs, p = fs_of(s)
        fs.makedirs(p, exist_ok=True)  # a no-op on object stores: folders are key prefixes


def read_bytes(path: str | os.PathLike) -> bytes:
    s = _str(path)
    if is_local(s):
        return Path(s).read_bytes()
    fs, p = fs_of(s)
    return fs.cat_file(p)


def read_text(path: str | os.PathLike) -> str:
    return read_bytes(path).decode("utf-8")


def open_read(path: str | os.PathLike) -> IO[bytes]:
    """A seekable binary reader (fsspec's buffered file for a remote URL)."""
    s = _str(path)
    if is_local(s):
        return open(s, "rb")
    fs, p = fs_of(s)
    return fs.open(p, "rb", block_size=4 << 20)


def size(path: str | os.PathLike) -> int:
    s = _str(path)
    if is_local(s):
        return os.stat(s).st_size
    fs, p = fs_of(s)
    return int(fs.size(p))


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Write ``path`` whole or not at all (binary): local temp + rename, remote temp + one upload."""
    from lmforge.core import atomic_open

    s = _str(path)
    if is_local(s):
        with atomic_open(s, "wb") as f:
            yield f
        return
    fs, p = fs_of(s)
    with tempfile.NamedTemporaryFile(prefix="lmforge-upload-", suffix=".tmp") as tmp:
        yield tmp
        tmp.flush()
        fs.put_file(tmp.name, p)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    s = _str(path)
    if is_local(s):
        from lmforge.core import atomic_write

        atomic_write(s, raw)
    else:
        fs, p = fs_of(s)
        fs.pipe_file(p, raw)  # one PUT: the object appears whole


def remove(path: str | os.PathLike) -> None:
    """Delete a file if it exists."""
    s = _str(path)
    if is_local(s):
        Path(s).unlink(missing_ok=True)
        return
    fs, p = fs_of(s)
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(p)


def rmtree(path: str | os.PathLike) -> None:
    s = _str(path)
    if is_local(s):
        shutil.rmtree(s, ignore_errors=True)
        return
    fs, p = fs_of(s)
    if fs.exists(p):
        fs.rm(p, recursive=True)


def glob(pattern: str | os.PathLike) -> list[str]:
    """Sorted paths matching ``pattern`` (``**`` recursive), as local paths or full URLs."""
    s = _str(pattern)
    if is_local(s):
        import glob as _glob

        return sorted(_glob.glob(s, recursive=True))
    fs, p = fs_of(s)
    return sorted(_full(fs, m, protocol(s)) for m in fs.glob(p))


def files_under(folder: str | os.PathLike) -> list[str]:
    """Every file below ``folder``, recursively."""
    s = _str(folder)
    if is_local(s):
        return sorted(str(x) for x in Path(s).rglob("*") if x.is_file())
    fs, p = fs_of(s)
    return sorted(_full(fs, m, protocol(s)) for m in fs.find(p))


def stat_signature(path: str | os.PathLike) -> dict[str, Any]:
    """Size and modification stamp: mtime in ns locally, the ETag (else modified time) remotely."""
    s = _str(path)
    if is_local(s):
        st = os.stat(s)
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    fs, p = fs_of(s)
    info = fs.info(p)
    stamp = info.get("ETag") or info.get("etag")
    if stamp is None:
        stamp = str(fs.modified(p))
    return {"size": int(info["size"]), "version": str(stamp)}


def sha256(path: str | os.PathLike) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open_read(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def link_or_copy(src: str, dst: str) -> str:
    """Publish ``src`` also as ``dst``: a hard link locally (``linked``), else a copy (a server-side
    copy on object storage)."""
    remove(dst)
    if is_local(src) and is_local(dst):
        try:
            os.link(src, dst)
            return "linked"
        except OSError:  # a filesystem without hard links
            shutil.copyfile(src, dst)
            return "copied"
    if protocol(src) == protocol(dst):
        fs, p = fs_of(src)
        fs.copy(p, fs_of(dst)[1])
    else:
        write_atomic(dst, read_bytes(src))
    return "copied"


def save_array(path: str, array) -> None:
    import numpy as np

    with open_atomic(path) as f:
        np.save(f, array)


def load_array(path: str, mmap: bool = False):
    """A saved array; memory-mapped when local and asked (remote arrays are read whole)."""
    import numpy as np

    if is_local(path):
        return np.load(path, mmap_mode="r" if mmap else None)
    return np.load(io.BytesIO(read_bytes(path)))


class RemoteBytes:
    """What the readers need of an ``mmap`` (``find``, slices, ``len``) over a remote file, reading
    windows of it on demand: byte-range splitting and WARC resync work without a download."""

    WINDOW = 1 << 20

    def __init__(self, f: IO[bytes], length: int) -> None:
        self.f, self.length = f, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _ = key.indices(self.length)
        if stop <= start:
            return b""
        self.f.seek(start)
        return self.f.read(stop - start)

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        end = self.length if end is None else min(end, self.length)
        at = max(start, 0)
        while at < end:
            stop = min(end, at + self.WINDOW + len(sub) - 1)
            i = self[at:stop].find(sub)
            if i >= 0 and at + i + len(sub) <= end:
                return at + i
            at += self.WINDOW
        return -1


@contextlib.contextmanager
def byte_view(path: str | os.PathLike) -> Iterator[Any]:
    """An mmap of a local file, or a :class:`RemoteBytes` of a remote one (empty files: ``b""``)."""
    import mmap

    s = _str(path)
    if is_local(s):
        if os.path.getsize(s) == 0:
            yield b""
            return
        with open(s, "rb") as raw, mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as m:
            yield m
        return
    with open_read(s) as f:
        yield RemoteBytes(f, size(s))


@contextlib.contextmanager
def lock_output(folder: str, what: str = "pipeline output directory") -> Iterator[None]:
    """Hold the output folder for this run; a second run is refused (see the module docstring)."""
    from lmforge.core import LmforgeError, lock_dir

    if is_local(folder):
        with lock_dir(folder, what):
            yield
        return
    fs, p = fs_of(folder)
    fs.makedirs(p, exist_ok=True)
    lock = join(folder, LOCK_NAME)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        with fs.open(fs_of(lock)[1], "xb") as f:  # exclusive create: fails when the object exists
            f.write(json.dumps(holder).encode())
    except FileExistsError:
        try:
            who = json.loads(read_text(lock))
            who = f"pid {who['pid']} on host {who['host']} since {who['since']}"
        except (OSError, ValueError, KeyError):
            who = "another run"
        raise LmforgeError(
            f"{what} {folder} is being written by {who} (lock object {lock}); wait for it to finish, "
            "or delete the lock object if that run is dead"
        ) from None
    except (NotImplementedError, ValueError) as e:  # no exclusive create on this filesystem
        raise LmforgeError(
            f"{what} {folder}: its filesystem ({protocol(folder)}) cannot create a lock object "
            f"exclusively ({e}), so two runs could not be kept apart; use s3://, memory:// or a local "
            "folder"
        ) from None
    try:
        yield
    finally:
        remove(lock)
