"""lmforge-data plugin: registers this package's parts with the lmforge host.

Imports here stay cheap: parts that need heavy libraries are thin functions that import them on call.
"""

from lmforge.core import hookimpl

from . import parts
from .filters import ClassifierFilter, LanguageFilter, LengthFilter, PiiMaskFilter
from .gopher import GopherQualityFilter


@hookimpl
def register_html_extractors(register):
    register("resiliparse", parts.resiliparse_extractor)
    register("trafilatura", parts.trafilatura_extractor, reference="resiliparse")


@hookimpl
def register_language_identifiers(register):
    register("fasttext_lid176", parts.fasttext_language)
    register("langid", parts.langid_language, reference="fasttext_lid176")


@hookimpl
def register_classifiers(register):
    register("nsfw", parts.nsfw_classifier)
    register("toxic_speech", parts.toxic_classifier)
    register(
        "quality",
        parts.quality_classifier,
        description="demo quality model: documentation prose vs generated junk (not a web quality model)",
    )
    # Built with options: classifier = "fasttext", model = "<name | path | dolma-jigsaw-nsfw | hf://...>".
    register("fasttext", parts.fasttext_classifier)


@hookimpl
def register_doc_filters(register):
    # doc_filter contract: a class; ``cls(**options)`` builds it, ``.filter(doc)`` runs it.
    register("gopher", GopherQualityFilter)
    register("language", LanguageFilter)
    register("classifier", ClassifierFilter)
    register("pii_mask", PiiMaskFilter)
    register("length", LengthFilter)


@hookimpl
def register_dedupers(register):
    register("exact_line", parts.exact_line_deduper)
    register("minhash", parts.minhash_deduper)


@hookimpl
def register_executors(register):
    register("local", parts.local_executor)
    register("ray", parts.ray_executor, reference="local")


@hookimpl
def register_commands(cli):
    from .cli import data_group

    cli.add_command(data_group)
