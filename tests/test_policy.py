"""ThresholdPolicy: flags, validation, JSON round trip."""

from __future__ import annotations

import pytest

import voicesafety as vs


def test_flags_use_per_label_thresholds_and_default():
    policy = vs.ThresholdPolicy(thresholds={"A": 0.9}, default=0.3)
    scores = {"A": 0.8, "B": 0.3, "C": 0.29}
    assert policy.flags(scores, ["A", "B", "C"]) == ["B"]
    assert policy.threshold("A") == 0.9 and policy.threshold("Z") == 0.3


def test_only_toxic_labels_are_flagged():
    policy = vs.ThresholdPolicy(default=0.0)
    assert policy.flags({"toxic": 0.1, "neutral": 0.9}, ["toxic"]) == ["toxic"]


@pytest.mark.parametrize("bad", [{"thresholds": {"A": 1.5}}, {"default": -0.1},
                                 {"rule": "all"}, {"extra": 1}])
def test_validation(bad):
    with pytest.raises(ValueError):
        vs.ThresholdPolicy(**bad)


def test_json_round_trip(tmp_path):
    policy = vs.ThresholdPolicy(thresholds={"Sexual": 0.71, "Profanity": 0.2}, default=0.45)
    assert vs.ThresholdPolicy.from_json(policy.to_json()) == policy
    path = tmp_path / "p.json"
    policy.to_json(path)
    assert vs.ThresholdPolicy.from_json(path) == policy


def test_bad_json_and_missing_file(tmp_path):
    with pytest.raises(vs.PolicyError, match="not found"):
        vs.ThresholdPolicy.from_json(tmp_path / "missing.json")
    with pytest.raises(vs.PolicyError, match="invalid"):
        vs.ThresholdPolicy.from_json('{"default": 3}')


def test_unknown_labels_are_rejected():
    with pytest.raises(vs.PolicyError, match="Racist"):
        vs.ThresholdPolicy(thresholds={"Racist": 0.5}).check_labels(["Sexual"])


def test_results_carry_the_policy_and_flags(v2_dir):
    import numpy as np

    strict = vs.ThresholdPolicy(default=1.0)
    clf = vs.Classifier.from_pretrained(v2_dir, policy=strict)
    result = clf.score(np.zeros(16000, np.float32))
    assert result.policy == strict and result.flags == [] and not result.flagged
    lax = clf.with_policy(vs.ThresholdPolicy(default=0.0)).score(np.zeros(16000, np.float32))
    assert lax.flagged and lax.flags == clf.labels
    assert lax.toxicity == max(lax.scores.values())
    assert vs.AudioResult.model_validate_json(lax.model_dump_json()) == lax
