"""Held-out accuracy of the fastText classifiers (nsfw, toxic speech, quality).

Each model is trained from scratch on 80% of its offline-built labelled data (see
``lmforge.data.classifier_data``) and scored on the other 20% and on hand-written cases never used
in training. The toxic-speech model is also compared with alt-profanity-check (the reference model
that provided part of its weak labels) on the hand-written cases.

    nice -n 10 uv run python tools/data/bench_classifiers.py --out .bench/data_classifiers.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=".bench/data_classifiers.json")
    args = ap.parse_args()

    from lmforge.data.classifiers import classify_profanity_check, train_classifier
    from lmforge.data.wordlists import EVAL_TOXIC

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for task in ("nsfw", "toxic", "quality"):
            t0 = time.perf_counter()
            report = train_classifier(task, folder, seed=args.seed)
            report["train_seconds"] = round(time.perf_counter() - t0, 2)
            report.pop("model")
            results[task] = report
    ref = sum(classify_profanity_check(t)[0] == gold for t, gold in EVAL_TOXIC) / len(EVAL_TOXIC)
    results["toxic"]["alt_profanity_check_hand_written_accuracy"] = round(ref, 4)
    print(f"{'task':<9}{'train':>7}{'held-out':>10}{'held-out acc':>14}{'hand-written':>14}{'hand acc':>10}")
    for task, r in results.items():
        print(
            f"{task:<9}{r['train_examples']:>7}{r['held_out_examples']:>10}{r['held_out_accuracy']:>14.4f}"
            f"{r['hand_written_examples']:>14}{r['hand_written_accuracy']:>10.4f}"
        )
    print(f"alt-profanity-check on the toxic hand-written cases: {ref:.4f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
