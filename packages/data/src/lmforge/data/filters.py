"""Document filters for the pipeline: ``filter(doc) -> True | (False, reason)``.

A filter may also rewrite ``doc.text`` (PII masking) or add metadata (language, scores), which is how
a step's findings travel to the writer and to ``lmforge data stats``.
"""

from __future__ import annotations

import re
from pathlib import Path

from lmforge.core import PartRef, bind_part

from .documents import Document


class LanguageFilter:
    """Keep documents whose identified language is in ``languages`` with score >= ``min_score``.

    The identifier reads the first ``max_chars`` characters: a page's language is settled long before
    its end, and fastText's cost grows with the length of its one input line.
    """

    def __init__(
        self,
        languages: list[str] | None = None,
        min_score: float = 0.65,
        identifier: str | dict = "fasttext_lid176",
        max_chars: int = 10_000,
    ) -> None:
        self.max_chars = max_chars
        self.languages = set(languages or ["en"])
        self.min_score = min_score
        self.identify = bind_part("language_identifier", identifier, "language filter: identifier")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        code, score = self.identify(doc.text[: self.max_chars])
        doc.metadata["language"], doc.metadata["language_score"] = code, round(score, 4)
        if code not in self.languages:
            return False, "language_other"
        if score < self.min_score:
            return False, "language_low_score"
        return True


class ClassifierFilter:
    """Drop a document when a classifier gives ``drop_label`` with confidence >= ``min_score``.

    ``classifier`` is a classifier part, picked like any part: a name (``"nsfw"``) or a table with
    its options (``{name = "fasttext", model = "dolma-jigsaw-nsfw"}``; a model is a trained name, a
    path, a known external name or ``hf://org/repo/file``). The probability of ``drop_label`` is
    stored as ``metadata["<classifier>_<drop_label>_score"]`` for the histograms of
    `lmforge data stats --plot`.
    """

    def __init__(self, classifier: str | dict, drop_label: str, min_score: float = 0.5) -> None:
        self.drop_label, self.min_score = drop_label, min_score
        ref = PartRef.parse(classifier, "classifier filter: classifier")
        model = ref.options.get("model")
        # Named after the model when there is one, so two fastText filters keep apart in the stats.
        self.name = (
            ref.name if model is None else re.sub(r"\W+", "_", Path(str(model)).name.removesuffix(".bin"))
        )
        self.classify = bind_part("classifier", ref, "classifier")

    def provenance(self) -> dict:
        """What the classifier is: model, training data, held-out figures (for ``stats.json``)."""
        describe = getattr(self.classify, "provenance", None)
        return describe() if describe is not None else {"model": self.name}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        label, score = self.classify(doc.text)
        p_drop = score if label == self.drop_label else 1.0 - score
        doc.metadata[f"{self.name}_{self.drop_label}_score"] = round(p_drop, 4)
        if p_drop >= self.min_score:
            return False, f"{self.name}_{self.drop_label}"
        return True


class PiiMaskFilter:
    """Mask e-mails, phone numbers and IPs in place; never drops. Counts go to ``metadata["pii"]``."""

    def filter(self, doc: Document) -> bool:
        from .pii import mask_pii

        doc.text, counts = mask_pii(doc.text)
        if any(counts.values()):
            doc.metadata["pii"] = counts
        return True


class LengthFilter:
    """Drop documents shorter than ``min_chars``; cut longer than ``max_chars`` at the last line break.

    The cut keeps whole lines (at most ``max_chars`` characters), so a gigantic page still yields its
    beginning instead of being lost or stalling later steps.
    """

    def __init__(self, min_chars: int = 1, max_chars: int = 1_000_000) -> None:
        self.min_chars, self.max_chars = min_chars, max_chars

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if len(doc.text.strip()) < self.min_chars:
            return False, "too_short"
        if len(doc.text) > self.max_chars:
            cut = doc.text.rfind("\n", 0, self.max_chars)
            doc.text = doc.text[: cut if cut > 0 else self.max_chars]
            doc.metadata["truncated"] = True
        return True
