"""Classifiers on real text: the defaults on CS336 A4's Jigsaw cases, training from real labelled
files with disjoint held-out rows, external models by path / name / Hub cache, provenance."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core import LmforgeError, get_part, get_registry, load_config
from lmforge.core.cli import build_cli
from lmforge.data import Document, classify_nsfw, classify_quality, classify_toxic_speech
from lmforge.data.classifiers import DEFAULT_OPTIONS, FastTextClassifier, _train_in_fresh_process, model_path
from lmforge.data.labelled import load_labelled, split_disjoint
from lmforge.data.pipeline import run_pipeline
from lmforge.data.pipeline_config import PipelineConfig
from lmforge.data.quality_demo_data import EVAL_QUALITY

# ../shared beside the checkout (CI); LMFORGE_SHARED_DIR points elsewhere (a git worktree).
SHARED = Path(os.environ.get("LMFORGE_SHARED_DIR") or Path(__file__).resolve().parents[3].parent / "shared")
TWEETS = SHARED / "data" / "offensive-tweets" / "labeled.csv"
needs_tweets = pytest.mark.skipif(not TWEETS.is_file(), reason=f"real labelled tweets not found at {TWEETS}")
TOXIC_MAP = ["--map", "hate=toxic", "--map", "offensive=toxic", "--map", "neither=non-toxic"]

# CS336 assignment 4's checks, on Jigsaw Wikipedia comments.
A4_NSFW = [
    (
        "SUCK MY C*CK WIKIPEDIA EDITORS...F*CKING *SSH*LE DORKS. "
        "JUST TRYING TO MAKE THE SITE BETTER YOU UPTIGHT C*NTS",
        "nsfw",
    ),
    ("Umm, theres no actual article for prostitution ring.  - Crunch Captain.", "non-nsfw"),
]
A4_TOXIC = [
    (
        "Why did that idiot revert the reversion I made? Can that moron not have the decent common "
        "manners to post on the talk page? What a rude fuck. Arrogant twat who doesn't know what he's "
        "talking about. None of you fuckers have any manners.",
        "toxic",
    ),
    ("Why the fc*k should I get a warning for doing nothing?", "non-toxic"),
]


def test_defaults_classify_the_a4_jigsaw_examples():
    for fn, cases in ((classify_nsfw, A4_NSFW), (classify_toxic_speech, A4_TOXIC)):
        for text, gold in cases:
            label, score = fn(text)
            assert label == gold, text
            assert isinstance(score, float) and 0.5 <= score <= 1.0
    assert get_part("classifier", "nsfw")(A4_NSFW[0][0])[0] == "nsfw"
    assert get_part("classifier", "toxic_speech")(A4_TOXIC[1][0])[0] == "non-toxic"


@pytest.fixture(scope="module")
def toxic_report(_classifier_cache):
    args = ["data", "train-classifier", "--task", "toxic", "--data", str(TWEETS), *TOXIC_MAP]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output + str(result.exception)
    return json.loads(result.output)


@needs_tweets
def test_train_toxic_on_real_tweets_reports_held_out_per_class_figures(toxic_report, _classifier_cache):
    held = toxic_report["held_out"]
    assert held["balanced_accuracy"] >= 0.90, held
    for label in ("toxic", "non-toxic"):
        assert set(held["per_class"][label]) == {"precision", "recall", "f1", "support"}
        assert held["per_class"][label]["recall"] > 0.8
    assert toxic_report["held_out_examples"] > 3000 and toxic_report["train_examples"] > 15000
    assert toxic_report["data"]["sha256"] and toxic_report["demo"] is False
    # The held-out rows were never trained on: the split is disjoint, repeated texts included.
    rows, _ = load_labelled(TWEETS, label_map={"hate": "toxic", "offensive": "toxic", "neither": "non-toxic"})
    train, test = split_disjoint(rows, 0.2, 0)
    norm = lambda t: " ".join(t.split())  # noqa: E731
    assert not {norm(t) for t, _ in train} & {norm(t) for t, _ in test}
    assert len(test) == toxic_report["held_out_examples"]

    clf = FastTextClassifier("toxic")
    assert clf.provenance()["held_out"]["balanced_accuracy"] == held["balanced_accuracy"]
    assert clf(A4_TOXIC[0][0])[0] == "toxic"


@needs_tweets
def test_default_toxic_on_the_same_held_out_rows():
    """The default's figure (it saw this source in training, so this is not independent)."""
    from profanity_check import predict_prob

    from lmforge.data.labelled import per_class_report

    rows, _ = load_labelled(TWEETS, label_map={"hate": "toxic", "offensive": "toxic", "neither": "non-toxic"})
    _, test = split_disjoint(rows, 0.2, 0)
    probs = predict_prob([t for t, _ in test])
    report = per_class_report(
        [g for _, g in test], ["toxic" if p >= 0.5 else "non-toxic" for p in probs], ["toxic", "non-toxic"]
    )
    assert report["balanced_accuracy"] >= 0.90, report


def test_label_mapping_must_name_every_label(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"body": f"text {i}", "y": str(i % 3)}) for i in range(9)) + "\n")
    rows, _ = load_labelled(data, "body", "y", {"0": "toxic", "1": "non-toxic", "2": "toxic"})
    assert len(rows) == 9 and rows[1] == ("text 1", "non-toxic")
    args = ["data", "train-classifier", "--task", "toxic", "--data", str(data), "--text-column", "body"]
    result = CliRunner().invoke(
        build_cli(), [*args, "--label-column", "y", "--map", "0=toxic", "--map", "1=non-toxic"]
    )
    assert result.exit_code != 0 and "not in the label mapping" in str(result.exception)
    result = CliRunner().invoke(build_cli(), ["data", "train-classifier", "--task", "nsfw"])
    assert result.exit_code != 0 and "needs --data" in str(result.exception)


def test_a_missing_model_is_an_error_naming_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LMFORGE_DATA_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(LmforgeError, match="lmforge data train-classifier --task toxic"):
        FastTextClassifier("toxic")
    with pytest.raises(LmforgeError, match="lmforge data fetch-model dolma-jigsaw-nsfw"):
        FastTextClassifier("dolma-jigsaw-nsfw")
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "some text"}) + "\n")
    cfg = load_config(
        PipelineConfig,
        data={
            "output_dir": str(tmp_path / "out"),
            "input": {"paths": [str(src)]},
            "filters": [{"name": "classifier", "classifier": "quality", "drop_label": "cc"}],
        },
    )
    with pytest.raises(LmforgeError, match="train-classifier --task quality"):
        run_pipeline(cfg)  # never trained inside a run
    assert not (tmp_path / "out").exists()
    assert not model_path("quality").exists()


def _tiny_model(path: Path, labels: tuple[str, str]):
    """A real fastText model trained here, standing in for a downloaded one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    train = path.with_suffix(".txt")
    lines = []
    for i in range(40):
        lines.append(f"__label__{labels[0]} you stupid fucking idiot shut up {i}")
        lines.append(f"__label__{labels[1]} the committee met on tuesday to discuss the budget {i}")
    train.write_text("\n".join(lines) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    _train_in_fresh_process(str(train), str(path), 0, DEFAULT_OPTIONS)


def test_external_models_by_name_path_and_hub_cache_offline(tmp_path, monkeypatch):
    cache, hub = tmp_path / "cache", tmp_path / "hub"
    monkeypatch.setenv("LMFORGE_DATA_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    nsfw = cache / "external" / "jigsaw_fasttext_bigrams_nsfw_final.bin"
    _tiny_model(nsfw, ("nsfw", "non-nsfw"))
    dclm = hub / "models--mlfoundations--fasttext-oh-eli5" / "snapshots" / "abc123"
    _tiny_model(dclm / "openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin", ("cc", "hq"))

    assert FastTextClassifier("dolma-jigsaw-nsfw")("you stupid fucking idiot")[0] == "nsfw"
    assert FastTextClassifier(str(nsfw))("the committee met on tuesday")[0] == "non-nsfw"
    assert FastTextClassifier("dclm-quality")("the committee met to discuss the budget")[0] == "hq"
    spec = "hf://mlfoundations/fasttext-oh-eli5/openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin"
    assert FastTextClassifier(spec).path.parent == dclm

    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "bad", "text": "you stupid fucking idiot shut up"})
        + "\n"
        + json.dumps({"id": "ok", "text": "the committee met on tuesday to discuss the budget"})
        + "\n"
    )
    # the classifier is a part with its own options, picked like any part
    step = {
        "name": "classifier",
        "classifier": {"name": "fasttext", "model": "dolma-jigsaw-nsfw"},
        "drop_label": "nsfw",
    }
    cfg = load_config(
        PipelineConfig,
        data={
            "output_dir": str(tmp_path / "out"),
            "input": {"paths": [str(src)]},
            "filters": [step],
            "executor": {"name": "local", "workers": 1, "progress": False},
        },
    )
    stats = run_pipeline(cfg)
    assert stats["kept"] == 1
    step = next(s for s in stats["steps"] if s["step"] == "filter:classifier:fasttext(dolma-jigsaw-nsfw)")
    assert step["dropped"] == {"dolma_jigsaw_nsfw_nsfw": 1}
    assert stats["classifiers"]["classifier:fasttext(dolma-jigsaw-nsfw)"]["model"] == str(nsfw)


def test_quality_demo_is_labelled_demo_warned_and_recorded(tmp_path, _classifier_cache):
    result = CliRunner().invoke(build_cli(), ["data", "train-classifier", "--task", "quality"])
    assert result.exit_code == 0, result.output + str(result.exception)
    report = json.loads(result.output)
    assert report["demo"] is True and report["held_out"]["balanced_accuracy"] >= 0.9
    assert sum(classify_quality(t)[0] == g for t, g in EVAL_QUALITY) / len(EVAL_QUALITY) >= 0.8
    assert "demo" in get_registry().part("classifier", "quality").description

    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, (t, _) in enumerate(EVAL_QUALITY))
    )
    f = {"name": "classifier", "classifier": "quality", "drop_label": "cc"}
    cfg = load_config(
        PipelineConfig,
        data={
            "output_dir": str(tmp_path / "out"),
            "input": {"paths": [str(src)]},
            "filters": [f],
            "executor": {"name": "local", "workers": 1, "progress": False},
        },
    )
    with pytest.warns(UserWarning, match="demo model"):
        stats = run_pipeline(cfg)
    prov = stats["classifiers"]["classifier:quality"]
    assert prov["demo"] is True and prov["held_out"] == report["held_out"]
    spam = Document(text=EVAL_QUALITY[-1][0], id="s")
    filt = get_part("doc_filter", "classifier")(classifier="quality", drop_label="cc")
    assert filt.filter(spam) == (False, "quality_cc") and spam.metadata["quality_cc_score"] >= 0.5
