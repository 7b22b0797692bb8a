from hypothesis import given, settings
from hypothesis import strategies as st

from lmforge.tokenize.patterns import PreTokenizer

_ascii = st.text(alphabet=st.characters(max_codepoint=127), max_size=200)
_tricky = st.lists(st.sampled_from(["a", "Z", "9", "123456", " ", "  ", "\n", "\r\n", "\t", "\x0b", "\x0c",
                                    "\x1c", "'s", "'LL", "'", ".", "!?", "_", "\x00"]), max_size=50)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_ascii, _tricky.map("".join)))
def test_ascii_fast_path_equals_regex(text):
    for name in ("gpt2", "cl100k"):
        pre = PreTokenizer(name)
        assert pre.ascii_regex.findall(text) == pre.regex.findall(text), name


def test_non_ascii_uses_regex():
    pre = PreTokenizer("gpt2")
    assert pre.findall("naïve café") == ["naïve", " café"]
    assert pre.findall("naïve café") == pre.regex.findall("naïve café")
