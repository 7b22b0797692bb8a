"""The pipeline's input files: listing, stable shard names, change signatures, and where outputs may go.

A shard's name comes from its input's path (a readable stem plus a hash of the resolved path), not
from its position in the listing, so adding a file that sorts first leaves every other shard's name,
outputs and markers as they were. A shard's signature (size and mtime, or a content hash) is stored
in its done marker: an input replaced in place gets a different signature and is redone.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path

from lmforge.core import ConfigError, file_sha256

VERIFY_MODES = ("stat", "hash")


def list_input_files(patterns: list[str]) -> list[Path]:
    """Every file the patterns name (files, folders searched recursively, globs), sorted and unique."""
    files: set[Path] = set()
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ConfigError(f"input.paths: {pattern!r} matches no file")
        for m in matches:
            p = Path(m)
            if p.is_dir():
                files.update(x for x in p.rglob("*") if x.is_file())
            elif p.is_file():
                files.add(p)
            else:
                raise ConfigError(f"input path not found: {m}")
    if not files:
        raise ConfigError("no input files: set input.paths")
    return sorted(files)


def input_roots(patterns: list[str]) -> list[Path]:
    """The folders the patterns read from: a folder input itself, a glob's fixed leading part."""
    roots = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            fixed = []
            for part in Path(pattern).parts:
                if glob.has_magic(part):
                    break
                fixed.append(part)
            roots.append(Path(*fixed) if fixed else Path("."))
        elif Path(pattern).is_dir():
            roots.append(Path(pattern))
    return roots


def check_output_location(output_dir: Path, patterns: list[str], files: list[Path]) -> None:
    """Refuse an output folder inside an input folder (a rerun would read its own outputs)."""
    out = output_dir.resolve()
    for root in input_roots(patterns):
        r = root.resolve()
        if out == r or out.is_relative_to(r):
            raise ConfigError(
                f"output_dir {output_dir} is inside the input folder {root}: later runs would read "
                "their own outputs; put it elsewhere"
            )
    for f in files:
        if f.resolve().is_relative_to(out):
            raise ConfigError(f"input file {f} is inside output_dir {output_dir}")


def shard_name(path: Path) -> str:
    """``<stem>-<8 hex of the resolved path>``: readable, unique, independent of the other inputs."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.name)[:80]
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return f"{stem}-{digest}"


def input_signature(path: Path, mode: str = "stat") -> dict[str, int | str]:
    """What identifies this version of an input: size and mtime (``stat``) or size and SHA-256 (``hash``)."""
    st = os.stat(path)
    if mode == "stat":
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if mode == "hash":
        return {"size": st.st_size, "sha256": file_sha256(path)}
    raise ConfigError(f"verify_inputs must be one of {', '.join(VERIFY_MODES)}, got {mode!r}")


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refused when it resolves outside ``folder`` (``../x``, absolute paths)."""
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()) or target == folder.resolve():
        raise ConfigError(f"{relative!r} must name a file inside the output folder {folder}")
    return folder / relative
