from lmforge.data import Document, GopherQualityFilter, gopher_quality_filter, gopher_quality_reason

GOOD = " ".join(["The committee reviewed the proposals of the council about public transport funding."] * 8)


def test_passes_normal_prose():
    assert gopher_quality_filter(GOOD)


def test_each_rule_has_its_reason():
    assert gopher_quality_reason("too short text") == "gopher_too_few_words"
    assert gopher_quality_reason("word " * 100_001) == "gopher_too_many_words"
    assert gopher_quality_reason("a b " * 40) == "gopher_mean_word_length_short"
    assert gopher_quality_reason("incomprehensibilities " * 60) == "gopher_mean_word_length_long"
    lines = "\n".join(["This line is a perfectly ordinary sentence..."] * 4 + [GOOD])
    assert gopher_quality_reason(lines) == "gopher_ellipsis_lines"
    numbers = " ".join(["12345 67890 1234 5678 9999 word"] * 20)
    assert gopher_quality_reason(numbers) == "gopher_non_alpha_words"
    # The three rules datatrove had and this filter lacked:
    assert gopher_quality_reason(GOOD + " #tag" * 16) == "gopher_hash_ratio"
    assert gopher_quality_reason(GOOD + " and so on..." * 20) == "gopher_ellipsis_ratio"
    bullets = "\n".join(f"- item {i} of the shopping list for the week" for i in range(9))
    assert gopher_quality_reason(bullets) == "gopher_bullet_lines"
    assert gopher_quality_reason(bullets + "\n" + GOOD) is None  # 9 of 10 lines: not over 90%
    no_stop = " ".join(["Committee reviewed several proposals about public transport funding."] * 8)
    assert gopher_quality_reason(no_stop) == "gopher_stop_words"
    assert gopher_quality_reason(no_stop.replace("about", "with the", 1)) is None


def test_words_are_counted_without_surrounding_punctuation():
    from lmforge.data.gopher import words

    assert words("The end. -- | (quoted) don't ... #tag") == ["The", "end", "quoted", "don't", "tag"]
    # 49 words plus separators is still too few: "|" and "-" are not words.
    assert gopher_quality_reason(" | ".join(["word"] * 49) + " - -") == "gopher_too_few_words"


def test_thresholds_are_parameters():
    assert not gopher_quality_filter("only five words right here")
    assert gopher_quality_filter("only five words right here", min_words=5, min_stop_words=0)
    assert not gopher_quality_filter(GOOD + " #tag" * 16)
    assert gopher_quality_filter(GOOD + " #tag" * 16, max_hash_word_ratio=0.2)
    assert not gopher_quality_filter(GOOD, max_words=10)


def test_filter_part_returns_reason():
    f = GopherQualityFilter(min_words=3)
    assert f.filter(Document(text=GOOD, id="a")) is True
    assert f.filter(Document(text="hi", id="b")) == (False, "gopher_too_few_words")
