"""The data parity checks: dedupers keep the same set, classifiers agree on a labelled set."""

import pytest

from lmforge.core import get_part
from lmforge.core.parity import ParitySkipped
from lmforge.data.parity_checks import classifier_parity, dedup_corpus, deduper_parity, labelled_tweets


def test_dedup_corpus_has_every_kind_of_duplicate():
    texts = [d.text for shard in dedup_corpus() for d in shard]
    assert len(texts) > len(set(texts))  # exact copies
    assert sum("Subscribe to our newsletter" in t for t in texts) > 10  # a repeated line


def test_deduper_check():
    exact, minhash = get_part("deduper", "exact_line"), get_part("deduper", "minhash")
    assert deduper_parity(exact, exact).passed
    assert deduper_parity(minhash, minhash, num_hashes=64, num_bands=16).passed
    different = deduper_parity(minhash, exact)
    assert not different.passed and "kept differently" in different.detail


needs_tweets = pytest.mark.skipif(not labelled_tweets().is_file(),
                                  reason=f"no labelled set at {labelled_tweets()}")


def always_toxic(text):
    return "toxic", 1.0


@needs_tweets
def test_classifier_check_on_the_labelled_tweets():
    reference = get_part("classifier", "toxic_speech")
    assert classifier_parity(reference, reference).passed
    worse = classifier_parity(always_toxic, reference)
    assert not worse.passed and worse.max_error > 0.2 and "balanced accuracy 0.500" in worse.detail


@needs_tweets
def test_classifier_check_skips_label_sets_it_has_no_data_for():
    with pytest.raises(ParitySkipped, match="no labelled set for the reference's labels"):
        classifier_parity(always_toxic, lambda text: ("wiki", 0.9))
