"""Labelled data for the nsfw, toxic-speech and quality classifiers, built offline at run time.

- toxic / non-toxic: generated insults, threats and profanity in sentence templates, everyday
  sentences, and technical prose; the weak label is "toxic" when a listed insult, threat or
  profanity occurs or when alt-profanity-check's model gives a probability >= 0.8.
- nsfw / non-nsfw: generated adult-site spam from templates versus everyday, toxic and technical
  text; weak label by the explicit-term list.
- wiki / cc: reference-quality prose (the Python documentation's ``pydoc_data`` topics and the
  docstrings of standard-library modules, paragraphs of at least 30 words) versus generated web
  low-quality text: navigation boilerplate, cookie banners, link farms, keyword spam, and the
  positive paragraphs with their words shuffled.
"""

from __future__ import annotations

import ast
import functools
import random
import re
import sysconfig
from pathlib import Path

from . import wordlists as W

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _fill(template: str, rng: random.Random, extra: dict[str, list[str]]) -> str:
    slots = {**W.SLOTS, **extra}
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(slots[m.group(1)]), template)


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


def everyday_sentences(rng: random.Random, n: int) -> list[str]:
    templates = W.NEUTRAL_TEMPLATES + W.POLITE_TEMPLATES
    return [_fill(rng.choice(templates), rng, {}) for _ in range(n)]


def _sentences(paragraphs: list[str], rng: random.Random, n: int) -> list[str]:
    sentences = [s for p in paragraphs for s in _SENTENCE.split(p) if len(s.split()) >= 5]
    return rng.sample(sentences, min(n, len(sentences)))


def toxic_dataset(seed: int = 0, n: int = 3000, use_profanity_model: bool = True) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    extra = {"insult": W.INSULTS, "insult2": W.INSULTS, "profanity": W.PROFANITY, "threat": W.THREATS}
    toxic = [_fill(rng.choice(W.TOXIC_TEMPLATES), rng, extra) for _ in range(n // 2)]
    neutral = everyday_sentences(rng, n // 4) + _sentences(reference_paragraphs(), rng, n // 4)
    mixed = [
        f"{s} {_fill(rng.choice(W.TOXIC_TEMPLATES), rng, extra)}" for s in everyday_sentences(rng, n // 10)
    ]
    texts = toxic + neutral + mixed
    terms = [t.lower() for t in W.INSULTS + W.PROFANITY + W.THREATS]
    probs = _profanity_probs(texts) if use_profanity_model else [0.0] * len(texts)
    data = []
    for text, p in zip(texts, probs):
        low = text.lower()
        hit = any(re.search(rf"\b{re.escape(t)}\b", low) for t in terms)
        data.append((text, "toxic" if hit or p >= 0.8 else "non-toxic"))
    rng.shuffle(data)
    return data


def _profanity_probs(texts: list[str]) -> list[float]:
    from profanity_check import predict_prob

    return [float(p) for p in predict_prob(texts)]


def nsfw_dataset(seed: int = 0, n: int = 3000) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    extra = {"nsfw": W.NSFW_TERMS, "nsfw2": W.NSFW_TERMS}
    positives = [_fill(rng.choice(W.NSFW_TEMPLATES), rng, extra) for _ in range(n // 2)]
    tox = {"insult": W.INSULTS, "insult2": W.INSULTS, "profanity": W.PROFANITY, "threat": W.THREATS}
    negatives = (
        everyday_sentences(rng, n // 6)
        + _sentences(reference_paragraphs(), rng, n // 6)
        + [_fill(rng.choice(W.TOXIC_TEMPLATES), rng, tox) for _ in range(n // 6)]
    )
    terms = [t.lower() for t in W.NSFW_TERMS]
    data = []
    for text in positives + negatives:
        hit = any(re.search(rf"\b{re.escape(t)}\b", text.lower()) for t in terms)
        data.append((text, "nsfw" if hit else "non-nsfw"))
    rng.shuffle(data)
    return data


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


DATASETS = {"toxic": toxic_dataset, "nsfw": nsfw_dataset, "quality": quality_dataset}
EVAL_SETS = {"toxic": W.EVAL_TOXIC, "nsfw": W.EVAL_NSFW, "quality": W.EVAL_QUALITY}
