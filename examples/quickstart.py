"""Quickstart: load the embedded default model, score text and audio, apply a policy.

Run with `python examples/quickstart.py` (offline: the default model ships with the package).
"""

from __future__ import annotations

from pathlib import Path

import voicesafety as vs

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Walk through the public API on the embedded default model."""
    clf = vs.Classifier.from_pretrained()  # "voicesafety/mini": audio + text, offline
    print(clf)
    print("labels:", clf.labels)

    # One text -> TextResult; a list -> ResultList of TextResult, input order kept.
    one = clf.score_text("you are a worthless piece of trash")
    print(f"toxicity {one.toxicity:.2f}, flags {one.flags}")
    many = clf.score_text(["gg everyone", "shut up noob", "add me on snapchat"])
    for r in many:
        print(f"{r.text!r:28} toxicity {r.toxicity:.2f} flagged={r.flagged}")

    # Audio: a path, bytes, a file object, a numpy array or a torch tensor.
    clips = sorted((HERE / "audio").glob("*.ogg")) + sorted((HERE / "audio").glob("*.flac"))
    if clips:
        res = clf.score(str(clips[0]))
        print(f"{clips[0].name}: {res.duration:.1f} s in {len(res.windows)} window(s), "
              f"toxicity {res.toxicity:.2f}, flags {res.flags}")
    else:
        print("no example clips in examples/audio/; skipping audio")

    # Results are pydantic models: plain dicts and JSON for free.
    assert set(one.to_dict()) >= {"text", "scores", "flags", "toxicity"}

    # A stricter policy: per-label thresholds; JSON round trip; apply with with_policy.
    policy = vs.ThresholdPolicy(thresholds={"Profanity": 0.9, "Harassment": 0.8}, default=0.7)
    assert vs.ThresholdPolicy.from_json(policy.to_json()) == policy
    strict = clf.with_policy(policy)
    again = strict.score_text("you are a worthless piece of trash")
    print(f"under the stricter policy: flags {again.flags} (was {one.flags})")
    if not one.model.trained:
        print("NOTE: the embedded model is untrained here; its scores are meaningless.")


if __name__ == "__main__":
    main()
