"""Build the benchmark corpora (never committed) from sources every machine here can reach.

    python tools/tokenize/build_corpus.py --work /tmp/lmf_corpus

1. ``english.txt`` (>= 50 MB of real English): the reST sources of the Python 3.11 documentation
   (Debian ``python3.11-doc``, ``html/_sources/**/*.rst.txt``), the Linux 6.1 kernel documentation
   (``linux-doc-6.1``, ``_sources/**/*.rst.txt``) and the first ``--gcide-mb`` MB of the GNU
   Collaborative International Dictionary of English (``dict-gcide``, ``gcide.dict.dz`` is plain gzip).
   Packages come from ``apt-get download`` and are unpacked with ``dpkg-deb -x`` (no install, no
   dependencies). Each source file is one document; documents are separated by ``<|endoftext|>``.
2. ``stdlib.txt``: every ``.py`` file of this Python's standard library except tests and
   site-packages, one document per file, separated the same way.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sysconfig
from pathlib import Path

EOT = "<|endoftext|>"
PACKAGES = ["python3.11-doc", "linux-doc-6.1", "dict-gcide"]


def fetch(work: Path) -> Path:
    root = work / "root"
    work.mkdir(parents=True, exist_ok=True)
    debs = {p: next(iter(work.glob(f"{p}_*.deb")), None) for p in PACKAGES}
    missing = [p for p, d in debs.items() if d is None]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=work, check=True)
    if not root.is_dir():
        for deb in work.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def read_docs(paths) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(paths)]


def build(work: Path, gcide_mb: int) -> None:
    root = fetch(work)
    docs = read_docs((root / "usr/share/doc/python3.11/html/_sources").rglob("*.rst.txt"))
    docs += read_docs((root / "usr/share/doc/linux-doc-6.1").rglob("*.rst.txt"))
    gcide = next((root / "usr/share/dictd").glob("gcide.dict.dz"))
    with gzip.open(gcide, "rt", encoding="utf-8", errors="replace") as f:
        dictionary = f.read(gcide_mb << 20)
    docs += [d for d in dictionary.split("\n\n\n") if d.strip()]
    english = work / "english.txt"
    english.write_text(EOT.join(docs), encoding="utf-8")

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = [p for p in stdlib.rglob("*.py")
               if not {"test", "tests", "site-packages", "idlelib"} & set(p.relative_to(stdlib).parts)]
    (work / "stdlib.txt").write_text(EOT.join(read_docs(sources)), encoding="utf-8")
    for name in ("english.txt", "stdlib.txt"):
        print(f"{work / name}: {(work / name).stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/lmf_corpus"))
    ap.add_argument("--gcide-mb", type=int, default=20)
    args = ap.parse_args()
    build(args.work, args.gcide_mb)
