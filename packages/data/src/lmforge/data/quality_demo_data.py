"""The built-in quality classifier's demo data, built offline at run time (no labelled set is reachable).

``wiki`` (positives): reference-quality prose, the Python documentation's ``pydoc_data`` topics and
the docstrings of standard-library modules (paragraphs of at least 30 words). ``cc`` (negatives):
generated low-quality web text: navigation boilerplate, cookie banners, link farms, keyword spam,
and positive paragraphs with their words shuffled. A model trained on this separates documentation
from generated junk; it is a demo, not a web quality model (see the README for DCLM's).
"""

from __future__ import annotations

import ast
import functools
import random
import re
import sysconfig
from pathlib import Path

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@functools.cache
def reference_paragraphs(max_files: int = 400) -> list[str]:
    """Prose paragraphs (>= 30 words) from pydoc_data topics and stdlib module/class docstrings."""
    import pydoc_data.topics

    paras: list[str] = []
    for text in pydoc_data.topics.topics.values():
        paras.extend(_prose_paragraphs(text))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py"))[:max_files]
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in [tree, *(n for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef))]:
            doc = ast.get_docstring(node)
            if doc:
                paras.extend(_prose_paragraphs(doc))
    return paras


def _prose_paragraphs(text: str) -> list[str]:
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines()]
        if any(line.startswith((">>>", "...", "$", "|", "+--", "*", "-")) for line in lines):
            continue  # code samples, tables and bullet lists are not running prose
        para = " ".join(lines)
        words = para.split()
        if len(words) >= 30 and sum(w.isalpha() for w in words) / len(words) > 0.7:
            out.append(para)
    return out


_NAV = [
    "Home",
    "About",
    "Contact",
    "Login",
    "Register",
    "Blog",
    "Shop",
    "Cart (0)",
    "FAQ",
    "Help",
    "Search",
    "Privacy Policy",
    "Terms of Use",
    "Sitemap",
    "Careers",
    "Press",
    "Subscribe",
    "Next",
    "Previous",
]
_SPAM = [
    "buy cheap",
    "best price",
    "click here",
    "free download",
    "limited offer",
    "act now",
    "casino bonus",
    "win money",
    "lose weight fast",
    "crack serial keygen",
    "replica watches",
    "cheap flights",
    "work from home",
    "earn $500 a day",
    "100% free",
    "no credit check",
    "hot deals",
    "top 10",
]
_COOKIE = [
    "We use cookies to improve your experience.",
    "By continuing you accept our cookie policy.",
    "Accept all",
    "Reject",
    "Manage settings",
    "This site uses cookies and similar technologies.",
    "Subscribe to our newsletter for the latest deals.",
    "All rights reserved.",
    "Copyright 2024.",
    "Posted by admin",
    "0 comments",
    "Share on Facebook",
    "Tweet",
    "Read more >>",
    "Tags:",
]


def _low_quality(rng: random.Random, positives: list[str]) -> str:
    kind = rng.randrange(5)
    if kind == 0:  # navigation boilerplate
        return " | ".join(rng.choices(_NAV, k=rng.randint(8, 25)))
    if kind == 1:  # keyword spam
        words = rng.choices(_SPAM, k=rng.randint(10, 30))
        return " ".join(w.upper() if rng.random() < 0.3 else w for w in words) + "!!!"
    if kind == 2:  # cookie banner and blog chrome
        return " ".join(rng.choices(_COOKIE, k=rng.randint(4, 12)))
    if kind == 3:  # link farm
        site = rng.choice(["deals", "best", "top", "free", "cheap"])
        return " ".join(
            f"{rng.choice(_SPAM)} http://{site}{rng.randint(1, 999)}.example/{rng.randint(1, 99)}"
            for _ in range(rng.randint(5, 15))
        )
    words = rng.choice(positives).split()  # shuffled prose: right words, no sentences
    rng.shuffle(words)
    return " ".join(words)


def quality_dataset(seed: int = 0, max_positives: int = 3000) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    positives = reference_paragraphs()
    positives = rng.sample(positives, min(max_positives, len(positives)))
    negatives = [_low_quality(rng, positives) for _ in range(len(positives))]
    data = [(t, "wiki") for t in positives] + [(t, "cc") for t in negatives]
    rng.shuffle(data)
    return data


EVAL_QUALITY = [
    (
        "The mitochondrion is an organelle found in most eukaryotic cells. It generates most of the cell's "
        "supply of adenosine triphosphate, which is used as a source of chemical energy. Mitochondria have "
        "their own genome, which is inherited maternally in most species.",
        "wiki",
    ),
    (
        "A compiler translates source code written in a high-level programming language into a lower-level "
        "language such as machine code. Most compilers perform lexical analysis, parsing, semantic analysis "
        "and optimization before generating code for the target architecture.",
        "wiki",
    ),
    (
        "The river rises in the northern hills and flows south for about 300 kilometres before reaching the "
        "sea. Its basin supports agriculture, and several towns were founded along its banks during the "
        "medieval period, when the river was the main route for trade.",
        "wiki",
    ),
    (
        "Photosynthesis is the process by which plants and other organisms convert light energy into "
        "chemical "
        "energy. Oxygen is released as a by-product, and the stored energy is later used to fuel the "
        "organism's activities.",
        "wiki",
    ),
    (
        "Home | About | Contact | Login | Register | Cart (0) | Free shipping on orders over $50 | "
        "Subscribe to our newsletter | Privacy Policy | Terms | Cookies | Sitemap",
        "cc",
    ),
    (
        "BUY CHEAP VIAGRA ONLINE!!! best price guaranteed click here click here click here limited offer "
        "act now free bonus pills discount casino bonus win money fast",
        "cc",
    ),
    (
        "We use cookies to improve your experience. By continuing to browse you accept our cookie policy. "
        "Accept all | Reject | Settings | Learn more",
        "cc",
    ),
    (
        "cheap flights cheap hotels cheap cars cheap flights london cheap flights paris cheap hotels rome "
        "best cheap flights deals cheap cheap cheap",
        "cc",
    ),
    (
        "Posted by admin | 0 comments | Tags: news, best, top, 2024, free, download, crack, serial, keygen | "
        "Previous post | Next post | Related posts",
        "cc",
    ),
    (
        "click here to read more >> page 1 2 3 4 5 6 7 8 next >> last >> share on facebook share on twitter "
        "share on pinterest",
        "cc",
    ),
]
