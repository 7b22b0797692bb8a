"""The pipeline's input files: listing, stable shard names, change signatures, and where outputs may go.

Inputs and outputs are local paths or fsspec URLs (``s3://bucket/crawl/*.warc.gz``; see ``storage``).
A shard's name comes from its input's path (a readable stem plus a hash of the resolved path or URL),
not from its position in the listing, so adding a file that sorts first leaves every other shard's
name, outputs and markers as they were. A shard's signature (size and mtime, or the object's ETag, or
a content hash) is stored in its done marker: an input replaced in place gets a different signature
and is redone.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re

from lmforge.core import ConfigError, file_sha256

from . import storage

VERIFY_MODES = ("stat", "hash")


def list_input_files(patterns: list[str]) -> list[str]:
    """Every file the patterns name (files, folders searched recursively, globs), sorted and unique."""
    files: set[str] = set()
    for pattern in patterns:
        matches = storage.glob(pattern) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ConfigError(f"input.paths: {pattern!r} matches no file")
        for m in matches:
            if storage.isdir(m):
                files.update(storage.files_under(m))
            elif storage.isfile(m):
                files.add(m)
            else:
                raise ConfigError(f"input path not found: {m}")
    if not files:
        raise ConfigError("no input files: set input.paths")
    return sorted(files)


def input_roots(patterns: list[str]) -> list[str]:
    """The folders the patterns read from: a folder input itself, a glob's fixed leading part."""
    roots = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            fixed = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
            fixed = fixed.rsplit("/", 1)[0] if "/" in fixed else "."
            roots.append(fixed or "/")
        elif storage.isdir(pattern):
            roots.append(pattern)
    return roots


def check_output_location(output_dir: str, patterns: list[str], files: list[str]) -> None:
    """Refuse an output folder inside an input folder (a rerun would read its own outputs)."""
    for root in input_roots(patterns):
        if storage.protocol(root) == storage.protocol(output_dir) and storage.is_within(output_dir, root):
            raise ConfigError(
                f"output_dir {output_dir} is inside the input folder {root}: later runs would read "
                "their own outputs; put it elsewhere"
            )
    for f in files:
        if storage.protocol(f) == storage.protocol(output_dir) and storage.is_within(f, output_dir):
            raise ConfigError(f"input file {f} is inside output_dir {output_dir}")


def shard_name(path: str) -> str:
    """``<stem>-<8 hex of the resolved path or URL>``: readable, unique, independent of the other inputs."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", storage.name_of(path))[:80]
    digest = hashlib.sha1(storage.normalize(path).encode()).hexdigest()[:8]
    return f"{stem}-{digest}"


def input_signature(path: str, mode: str = "stat") -> dict[str, int | str]:
    """What identifies this version of an input: size and mtime or ETag (``stat``), or size and
    SHA-256 (``hash``)."""
    if mode == "stat":
        return storage.stat_signature(path)
    if mode == "hash":
        digest = file_sha256(path) if storage.is_local(path) else storage.sha256(path)
        return {"size": storage.size(path), "sha256": digest}
    raise ConfigError(f"verify_inputs must be one of {', '.join(VERIFY_MODES)}, got {mode!r}")


def inside(folder: str, relative: str) -> str:
    """``folder/relative``, refused when it resolves outside ``folder`` (``../x``, absolute paths)."""
    if os.path.isabs(relative) or "://" in relative:
        raise ConfigError(f"{relative!r} must name a file inside the output folder {folder}")
    target = storage.join(folder, relative)
    if not storage.is_within(target, folder) or storage.normalize(target) == storage.normalize(folder):
        raise ConfigError(f"{relative!r} must name a file inside the output folder {folder}")
    return target
