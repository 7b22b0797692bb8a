"""Toxic / nsfw classifiers on real human-labelled text: held-out per-class figures.

Trains the fastText model of ``lmforge data train-classifier`` on the offensive-tweets file (hate and
offensive = toxic, neither = non-toxic) and scores it, and the default (alt-profanity-check's model),
on the same held-out rows, disjoint from training. alt-profanity-check's authors trained it partly on
this source, so its figure is not an independent test. Also prints CS336 A4's four Jigsaw cases.

    nice -n 10 uv run python tools/data/bench_classifiers.py \
        --data ../shared/data/offensive-tweets/labeled.csv
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

MAP = {"hate": "toxic", "offensive": "toxic", "neither": "non-toxic"}
A4 = [
    (
        "SUCK MY C*CK WIKIPEDIA EDITORS...F*CKING *SSH*LE DORKS. JUST TRYING TO MAKE THE SITE BETTER YOU "
        "UPTIGHT C*NTS",
        "nsfw",
    ),
    ("Umm, theres no actual article for prostitution ring.  - Crunch Captain.", "non-nsfw"),
    (
        "Why did that idiot revert the reversion I made? Can that moron not have the decent common manners "
        "to post on the talk page? What a rude fuck. Arrogant twat who doesn't know what he's talking about. "
        "None of you fuckers have any manners.",
        "toxic",
    ),
    ("Why the fc*k should I get a warning for doing nothing?", "non-toxic"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from profanity_check import predict_prob

    from lmforge.data.classifiers import (
        FastTextClassifier,
        classify_nsfw,
        classify_toxic_speech,
        train_classifier,
    )
    from lmforge.data.labelled import load_labelled, per_class_report, split_disjoint

    rows, _ = load_labelled(args.data, label_map=MAP)
    _, test = split_disjoint(rows, 0.2, args.seed)
    gold = [g for _, g in test]
    labels = ["toxic", "non-toxic"]
    t0 = time.perf_counter()
    probs = predict_prob([t for t, _ in test])
    default = per_class_report(gold, ["toxic" if p >= 0.5 else "non-toxic" for p in probs], labels)
    default_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        report = train_classifier("toxic", args.data, out_dir=folder, label_map=MAP, seed=args.seed)
        train_s = time.perf_counter() - t0
        clf = FastTextClassifier(f"{folder}/toxic.fasttext.bin")
        as_nsfw = {"toxic": "nsfw", "non-toxic": "non-nsfw"}  # the one model answers both tasks
        ft_a4 = [as_nsfw[clf(t)[0]] if "nsfw" in g else clf(t)[0] for t, g in A4]
    print(f"held-out rows {len(test)} (train {report['train_examples']}), disjoint by text")
    print(f"{'model':34s} {'bal.acc':>8s} {'P toxic':>8s} {'R toxic':>8s} {'P non':>8s} {'R non':>8s}")
    for name, r in (
        ("alt-profanity-check (default)*", default),
        ("fastText on tweets (train-classifier)", report["held_out"]),
    ):
        t, n = r["per_class"]["toxic"], r["per_class"]["non-toxic"]
        print(
            f"{name:34s} {r['balanced_accuracy']:8.3f} {t['precision']:8.3f} {t['recall']:8.3f} "
            f"{n['precision']:8.3f} {n['recall']:8.3f}"
        )
    print("* trained partly on this source by its authors: not an independent figure")
    print(f"default scored {len(test)} rows in {default_s:.2f}s; fastText trained in {train_s:.1f}s")
    defaults = [(classify_nsfw if "nsfw" in g else classify_toxic_speech)(t)[0] for t, g in A4]
    print("A4 Jigsaw cases (gold / default / fastText-on-tweets):")
    for (t, g), d, f in zip(A4, defaults, ft_a4):
        print(f"  {g:9s} {d:9s} {f:9s} {t[:60]!r}")
    print(json.dumps({"default": default, "fasttext": report["held_out"]}))


if __name__ == "__main__":
    main()
