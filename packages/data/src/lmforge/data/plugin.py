"""lmforge-data plugin: registers this package's parts with the lmforge host.

Imports here stay cheap: parts that need heavy libraries are thin functions that import them on call.
"""

from lmforge.core import hookimpl

from . import parts


@hookimpl
def register_html_extractors(register):
    register("resiliparse", parts.resiliparse_extractor)
    register("trafilatura", parts.trafilatura_extractor, reference="resiliparse")


@hookimpl
def register_language_identifiers(register):
    register("fasttext_lid176", parts.fasttext_language)
    register("langid", parts.langid_language, reference="fasttext_lid176")


@hookimpl
def register_doc_filters(register):
    register("gopher", parts.gopher_filter)
    register("language", parts.language_filter)
    register("pii_mask", parts.pii_mask_filter)
    register("length", parts.length_filter)
