"""ThresholdPolicy: flags, validation, JSON round trip."""

from __future__ import annotations

import numpy as np
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


# ---------------------------------------------------------------- issue 19: mistakes and merging


@pytest.mark.parametrize("kwargs, match", [
    ({"thresholds": {"Profanity": 1.5}}, r"\[0, 1\].*Profanity"),
    ({"thresholds": {"Profanity": -0.1}}, r"\[0, 1\]"),
    ({"default": 2.0}, r"default.*\[0, 1\]"),
    ({"Profanity": 0.9}, r"thresholds=\{'Profanity': 0.9\}"),
])
def test_bad_policies_raise_policy_error_saying_what_to_write(kwargs, match):
    with pytest.raises(vs.PolicyError, match=match) as info:
        vs.ThresholdPolicy(**kwargs)
    assert isinstance(info.value, ValueError)  # code catching ValueError keeps working
    assert "pydantic" not in str(info.value)


def test_coerce_accepts_a_plain_threshold_dict():
    assert vs.ThresholdPolicy.coerce({"Profanity": 0.9}) == vs.ThresholdPolicy(
        thresholds={"Profanity": 0.9})
    assert vs.ThresholdPolicy.coerce({"thresholds": {"Sexual": 0.2}, "default": 0.3}) == (
        vs.ThresholdPolicy(thresholds={"Sexual": 0.2}, default=0.3))
    with pytest.raises(vs.PolicyError, match=r"\[0, 1\]"):
        vs.ThresholdPolicy.coerce({"Profanity": 9})


def test_updated_keeps_unnamed_labels_and_the_default():
    base = vs.ThresholdPolicy(thresholds={"A": 0.9, "B": 0.8}, default=0.7)
    assert base.updated(vs.ThresholdPolicy(thresholds={"A": 0.1})) == vs.ThresholdPolicy(
        thresholds={"A": 0.1, "B": 0.8}, default=0.7)
    assert base.updated(vs.ThresholdPolicy(default=0.2)).default == 0.2


@pytest.fixture(scope="module")
def mini():
    return vs.Classifier.from_pretrained(backend="torch")


def test_each_modality_keeps_its_own_shipped_policy(mini):
    audio, text = mini.policies["audio"], mini.policies["text"]
    assert audio != text  # the embedded bundle ships a calibrated policy per model
    assert mini.audio.policy == audio and mini.text.policy == text and mini.policy == audio
    assert mini.score_text("gg").policy == text
    assert mini.score(np.zeros(32_000, np.float32), sample_rate=16_000).policy == audio


def test_with_policy_merges_a_partial_update_per_modality(mini):
    before = mini.policies
    strict = mini.with_policy(vs.ThresholdPolicy(thresholds={"Discrimination": 0.9}))
    for modality, policy in strict.policies.items():
        assert policy.threshold("Discrimination") == 0.9
        for label in mini.toxic_labels:
            if label != "Discrimination":  # every other label keeps its shipped threshold
                assert policy.threshold(label) == before[modality].threshold(label)
    assert mini.policies == before  # the original is untouched


def test_with_policy_plain_dict_per_modality_and_replace(mini):
    only_text = mini.with_policy(text={"Profanity": 0.1})
    assert only_text.policies["audio"] == mini.policies["audio"]
    assert only_text.policies["text"].threshold("Profanity") == 0.1
    assert only_text.score_text("what the hell").policy.threshold("Profanity") == 0.1
    replaced = mini.with_policy({"Profanity": 0.9}, replace=True)
    assert replaced.policies == {"audio": vs.ThresholdPolicy(thresholds={"Profanity": 0.9}),
                                 "text": vs.ThresholdPolicy(thresholds={"Profanity": 0.9})}


def test_with_policy_mistakes(mini):
    with pytest.raises(vs.PolicyError, match="Racist"):
        mini.with_policy({"Racist": 0.5})
    with pytest.raises(vs.PolicyError, match="needs thresholds"):
        mini.with_policy()
    with pytest.raises(vs.PolicyError, match=r"\[0, 1\]"):
        mini.with_policy({"Profanity": 1.5})
