from lmforge.data import extract_text, extract_text_trafilatura, identify_language, identify_language_langid


def test_extract_drops_markup_and_scripts(page_maker):
    html = page_maker("T", ["First paragraph here.", "Second paragraph."])
    text = extract_text(html)
    assert "First paragraph here." in text and "Second paragraph." in text
    assert "var x" not in text and "<p>" not in text


def test_non_utf8_bytes_are_decoded_with_detected_encoding():
    html = (
        '<html><head><meta charset="windows-1252"></head><body><p>Caf\u00e9 na\u00efve r\u00e9sum\u00e9 '
        "\u2018quoted\u2019</p></body></html>"
    ).encode("cp1252")
    text = extract_text(html)
    assert "Caf\u00e9 na\u00efve r\u00e9sum\u00e9" in text and "\u2018quoted\u2019" in text
    # Without a meta tag the byte statistics still find a single-byte encoding, never a crash.
    bare = "<html><body><p>Gr\u00fc\u00dfe aus M\u00fcnchen und K\u00f6ln</p></body></html>".encode("latin-1")
    assert "M\u00fcnchen" in extract_text(bare)


def test_empty_page_gives_none():
    assert extract_text(b"<html><body><script>x()</script></body></html>") is None
    assert extract_text(b"") is None


def test_trafilatura_alternative_finds_main_text():
    paras = [
        f"This is sentence number {i} of a long article about rivers and their ecology." for i in range(12)
    ]
    html = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>"
    text = extract_text_trafilatura(html.encode())
    assert text is not None and "sentence number 3" in text
    # Parity with the reference extractor: the same paragraphs, in the same order.
    reference = extract_text(html.encode())
    assert [p for p in paras if p in text] == [p for p in paras if p in reference] == paras


def test_identify_language_codes_and_scores():
    cases = {
        "en": "The quick brown fox jumps over the lazy dog near the river bank.",
        "fr": "Le renard brun rapide saute par-dessus le chien paresseux.",
        "de": "Der schnelle braune Fuchs springt \u00fcber den faulen Hund.",
        "zh": "\u6211\u4eec\u4eca\u5929\u53bb\u516c\u56ed\u6563\u6b65\uff0c\u5929\u6c14\u5f88\u597d\u3002",
    }
    for code, text in cases.items():
        got, score = identify_language(text + "\n" + text)
        assert got == code and 0.0 <= score <= 1.0 and score > 0.5
        alt, alt_score = identify_language_langid(text)
        assert alt == code and 0.0 <= alt_score <= 1.0
    assert identify_language("   ") == ("unknown", 0.0)
