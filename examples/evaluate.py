"""Evaluate a classifier on labelled data and calibrate thresholds at a target FPR.

Run with `python examples/evaluate.py [--model M] [--target-fpr 0.05] [--save-policy P]`.
Uses the tiny sets in examples/data/ (texts.csv, and audio.csv when the clips exist).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import voicesafety as vs

DATA = Path(__file__).resolve().parent / "data"


def main() -> None:
    """Evaluate, calibrate, apply the calibrated policy, and evaluate again."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="default: the embedded voicesafety/mini")
    parser.add_argument("--target-fpr", type=float, default=0.05,
                        help="40 items are too few for 1%%: 5%% by default here")
    parser.add_argument("--save-policy", default=None, help="where to write the policy JSON")
    args = parser.parse_args()

    clf = vs.Classifier.from_pretrained(args.model)
    report = vs.evaluate(clf, DATA / "texts.csv", target_fpr=args.target_fpr)
    print(report.summary())

    # Thresholds that keep each label's false-positive rate <= target on this data.
    policy = report.policy_at_fpr()
    path = Path(args.save_policy or Path(tempfile.mkdtemp()) / "policy.json")
    policy.to_json(path)
    print(f"\ncalibrated policy written to {path}")

    calibrated = clf.with_policy(text=vs.ThresholdPolicy.from_json(path))  # text thresholds
    after = vs.evaluate(calibrated, DATA / "texts.csv", target_fpr=args.target_fpr)
    for label, m in after.per_label.items():
        assert m.fpr is None or m.fpr <= args.target_fpr, (label, m.fpr)
        print(f"{label:20} FPR {m.fpr:.3f}  recall {m.recall:.3f}  (threshold {m.threshold:.3f})")

    # Audio rows: paths in audio.csv are relative to examples/data/.
    audio_csv = DATA / "audio.csv"
    clips = [line.split(",")[0] for line in audio_csv.read_text().splitlines()[1:]]
    if "audio" in clf.modalities and clips and all((DATA / c).is_file() for c in clips):
        audio_report = vs.evaluate(clf, audio_csv, target_fpr=args.target_fpr)
        print(f"\naudio: {audio_report.n_items} clips, binarized AP "
              f"{audio_report.binarized_ap:.3f}")
    else:
        print("\naudio clips not found (or no audio model): skipping the audio evaluation")

    if not clf.score_text("gg").model.trained:
        print("NOTE: the model is untrained (random weights): these numbers are meaningless.")


if __name__ == "__main__":
    main()
