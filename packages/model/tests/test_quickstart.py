"""The quickstart's whole code path at the ``tiny`` size: corpus, BPE, tokens, training, report, samples."""

import json

import numpy as np

from lmforge.model.quickstart import run_quickstart, unigram_baseline
from lmforge.model.quickstart_corpus import EOT, build_corpus


def test_corpus_comes_from_the_standard_library(tmp_path):
    info = build_corpus(tmp_path / "c.txt", 50_000)
    text = (tmp_path / "c.txt").read_text()
    assert 0 < info["bytes"] <= 50_000 and info["documents"] == text.count(EOT)
    assert "def " in text or "import " in text


def test_unigram_baseline_is_the_entropy_of_the_train_frequencies():
    tokens = np.array([0, 1] * 50, dtype=np.uint16)
    # train and validation both half 0s, half 1s: add-one smoothing over 4 ids barely moves ln 2
    assert abs(unigram_baseline(tokens, 0.2, 4) - np.log(2)) < 0.05


def test_tiny_quickstart_end_to_end(tmp_path):
    result = run_quickstart(size="tiny", out=tmp_path, device="cpu")
    run = tmp_path / "quickstart-tiny"
    assert (run / "loss_curve.png").stat().st_size > 1000
    assert (run / "tokenizer" / "tokenizer.meta.json").is_file()
    assert np.isfinite([result["val_loss"], result["val_bpb"], result["unigram_loss"]]).all()
    assert result["val_loss"] < 6.0  # ln(384) = 5.95: it learned something in 30 steps
    assert len(result["samples"]) == 4 and all(isinstance(s, str) for s in result["samples"])
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
