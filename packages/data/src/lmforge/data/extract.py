"""HTML bytes to plain text.

Bytes are decoded first (:func:`decode_html_checked`): UTF-8 when the bytes are UTF-8, else the
declared HTTP charset when it decodes cleanly, else resiliparse's detection with undecodable bytes
replaced; a declared charset that disagrees with the bytes is reported so the pipeline can count it.
"""

from __future__ import annotations

import codecs


def decode_html_checked(html: bytes, charset: str | None = None) -> tuple[str, bool]:
    """``(text, mismatch)``: ``html`` decoded, and whether a declared ``charset`` disagreed with the bytes.

    Bytes that are valid UTF-8 and not plain ASCII are UTF-8 whatever the header says (a page saved as
    UTF-8 but served as windows-1252 would otherwise become ``CafÃ©``; random single-byte text is
    practically never valid multi-byte UTF-8). Otherwise the declared charset is used when it decodes
    cleanly, else resiliparse's detection (meta tags, then byte statistics) with replacement.
    """
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    declared = _codec_name(charset)
    try:
        text = html.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        mismatch = charset is not None and declared != "utf-8" and not html.isascii()
        return text, mismatch
    if declared is not None:
        try:
            return html.decode(declared), False
        except UnicodeDecodeError:
            pass
    return bytes_to_str(html, detect_encoding(html), errors="replace"), charset is not None


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


def decode_html(html: bytes, charset: str | None = None) -> str:
    """``html`` decoded as :func:`decode_html_checked` does, without the mismatch flag."""
    return decode_html_checked(html, charset)[0]


def extract_text(html: bytes | str, charset: str | None = None) -> str | None:
    """Visible text of an HTML page via resiliparse's ``extract_plain_text``; ``None`` if there is none."""
    from resiliparse.extract.html2text import extract_plain_text

    page = html if isinstance(html, str) else decode_html(html, charset)
    text = extract_plain_text(page, preserve_formatting=True, main_content=False)
    text = text.strip() if text else ""
    return text or None


def extract_text_trafilatura(html: bytes | str, charset: str | None = None) -> str | None:
    """Alternative extractor: trafilatura's main-content extraction (drops menus and footers)."""
    import trafilatura

    page = html if isinstance(html, str) else decode_html(html, charset)
    text = trafilatura.extract(page, include_comments=False, include_tables=True, favor_recall=True)
    text = text.strip() if text else ""
    return text or None
