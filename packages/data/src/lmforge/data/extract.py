"""HTML bytes to plain text.

Bytes are decoded first: the HTTP charset when the caller knows it and it decodes cleanly, else
resiliparse's encoding detection (meta tags, then byte statistics), with undecodable bytes replaced
rather than failing the document.
"""

from __future__ import annotations

import codecs


def decode_html(html: bytes, charset: str | None = None) -> str:
    """Decode ``html`` with ``charset`` when it is valid for these bytes, else the detected encoding."""
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    if charset:
        try:
            codecs.lookup(charset)
            return html.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        return bytes_to_str(html, detect_encoding(html), errors="replace")


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
