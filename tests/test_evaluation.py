"""evaluate(), EvalReport, ThresholdPolicy.calibrate and `voicesafety eval`.

Real tiny checkpoints (conftest) and the embedded default; assertions hold for any weights:
metrics are compared with scikit-learn computed independently from the classifier's scores.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import TEXT_CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    precision_recall_fscore_support,
    roc_curve,
)

import voicesafety as vs
from voicesafety.cli import main
from voicesafety.evaluation import load_dataset, threshold_at_fpr

BERT_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = " ".join(TEXT_CORPUS).split()
    return [" ".join(rng.choice(words, size=rng.integers(1, 7))) for _ in range(n)]


def _random_labels(n: int, labels: list[str], seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        chosen = [lab for lab in labels if rng.random() < 0.3]
        out.append(",".join(chosen) or "none")
    return out


@pytest.fixture(scope="module")
def bert(bert_dir):
    return vs.Classifier.from_pretrained(bert_dir)


@pytest.fixture(scope="module")
def roberta(roberta_dir):
    return vs.Classifier.from_pretrained(roberta_dir)


@pytest.fixture(scope="module")
def bert_data():
    texts = _texts(120)
    return list(zip(texts, _random_labels(len(texts), BERT_LABELS), strict=True))


@pytest.fixture(scope="module")
def bert_report(bert, bert_data):
    return vs.evaluate(bert, bert_data)


def _matrix(results, labels):
    return np.array([[r.scores[lab] for lab in labels] for r in results])


def _truth(data, labels):
    return np.array([[lab in str(lbl).split(",") for lab in labels] for _, lbl in data])


# --------------------------------------------------------------------------- agreement


def test_per_label_ap_matches_sklearn(bert, bert_data, bert_report):
    results = bert.score_text([t for t, _ in bert_data])
    scores, y = _matrix(results, BERT_LABELS), _truth(bert_data, BERT_LABELS)
    assert bert_report.labels == BERT_LABELS
    assert bert_report.n_items == len(bert_data)
    np.testing.assert_allclose(np.array(bert_report.scores), scores)
    for j, lab in enumerate(BERT_LABELS):
        expected = average_precision_score(y[:, j], scores[:, j])
        assert bert_report.per_label[lab].average_precision == pytest.approx(expected)
        assert bert_report.average_precision[lab] == pytest.approx(expected)
        assert bert_report.per_label[lab].support == int(y[:, j].sum())
    aps = [average_precision_score(y[:, j], scores[:, j]) for j in range(len(BERT_LABELS))]
    assert bert_report.mean_average_precision == pytest.approx(np.mean(aps))


def test_binarized_ap_is_max_score_against_any_label(bert, bert_data, bert_report):
    results = bert.score_text([t for t, _ in bert_data])
    y_any = _truth(bert_data, BERT_LABELS).any(axis=1)
    toxicity = np.array([r.toxicity for r in results])
    assert bert_report.n_toxic == int(y_any.sum())
    assert bert_report.binarized_ap == pytest.approx(average_precision_score(y_any, toxicity))


def test_precision_recall_at_current_policy_match_sklearn(bert, bert_data, bert_report):
    results = bert.score_text([t for t, _ in bert_data])
    y = _truth(bert_data, BERT_LABELS)
    flags = np.array([[lab in r.flags for lab in BERT_LABELS] for r in results])
    p, r, f, _ = precision_recall_fscore_support(y, flags, average=None, zero_division=0)
    for j, lab in enumerate(BERT_LABELS):
        m = bert_report.per_label[lab]
        assert (m.precision, m.recall, m.f1) == pytest.approx((p[j], r[j], f[j]))
        negatives = ~y[:, j]
        assert m.fpr == pytest.approx(flags[negatives, j].mean())
        assert m.threshold == bert.policy.threshold(lab)
    flagged = np.array([r.flagged for r in results])
    p, r, f, _ = precision_recall_fscore_support(y.any(axis=1), flagged, average="binary",
                                                 zero_division=0)
    assert (bert_report.flagged.precision, bert_report.flagged.recall) == pytest.approx((p, r))


def test_operating_points_match_roc_curve(bert_report):
    scores = np.array(bert_report.scores)
    y = np.array(bert_report.y_true).astype(bool)
    for j, lab in enumerate(bert_report.labels):
        point = bert_report.operating_points[lab]
        fpr, tpr, thr = roc_curve(y[:, j], scores[:, j], drop_intermediate=False)
        ok = np.flatnonzero(fpr <= 0.01)[-1]
        negatives = scores[~y[:, j], j]
        assert (negatives >= point.threshold).mean() <= 0.01
        assert point.fpr == pytest.approx((negatives >= point.threshold).mean())
        if np.isfinite(thr[ok]):
            assert point.threshold == pytest.approx(thr[ok])
            assert point.recall == pytest.approx(tpr[ok])
        else:  # nothing reaches the target: just above the top score
            assert point.threshold > scores[:, j].max() or point.threshold == 1.0


def test_threshold_at_fpr_known_data():
    y = [1, 1, 0, 0, 0, 0, 1, 0, 0, 0]
    s = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.35, 0.05, 0.6, 0.4]
    p0 = threshold_at_fpr(y, s, 0.0)
    assert p0.threshold == 0.8 and p0.fpr == 0.0 and p0.recall == pytest.approx(2 / 3)
    assert p0.precision == 1.0
    p2 = threshold_at_fpr(y, s, 2 / 7)  # two of seven negatives allowed: 0.7 and 0.6
    assert p2.threshold == 0.6 and p2.fpr == pytest.approx(2 / 7)
    assert threshold_at_fpr([1, 1], [0.3, 0.4], 0.01) is None  # no negatives: undefined
    top = threshold_at_fpr([0, 0, 1], [0.9, 0.5, 0.2], 0.0)  # a negative has the top score
    assert top.threshold > 0.9 and top.fpr == 0.0 and top.recall == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=2, max_size=60),
    st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5]),
)
def test_calibrate_meets_target_and_is_the_lowest_such_threshold(rows, target):
    s = np.array([[r[0]] for r in rows])
    y = np.array([[r[1]] for r in rows])
    policy = vs.ThresholdPolicy.calibrate(s, y, ["Profanity"], target_fpr=target)
    negatives = s[~y[:, 0], 0]
    if len(negatives) == 0:
        assert policy.thresholds == {}
        return
    t = policy.threshold("Profanity")
    assert 0.0 <= t <= 1.0
    fpr = (negatives >= t).mean()
    assert fpr <= target or (negatives == 1.0).mean() > target
    # Any lower score used as a threshold would break the target.
    lower = s[s[:, 0] < t, 0]
    if len(lower):
        assert (negatives >= lower.max()).mean() > target


def test_calibrate_rejects_bad_shapes():
    with pytest.raises(vs.PolicyError, match="n_items"):
        vs.ThresholdPolicy.calibrate([[0.1, 0.2]], [[1]], ["a", "b"])


# --------------------------------------------------------------------------- calibration


def test_policy_calibrated_at_1pct_has_at_most_1pct_fpr(bert, bert_data, bert_report):
    policy = bert_report.policy_at_fpr(0.01)
    assert set(policy.thresholds) == set(BERT_LABELS)
    assert vs.ThresholdPolicy.from_json(policy.to_json()) == policy
    calibrated = bert.with_policy(policy)
    results = calibrated.score_text([t for t, _ in bert_data])
    y = _truth(bert_data, BERT_LABELS)
    for j, lab in enumerate(BERT_LABELS):
        flagged = np.array([lab in r.flags for r in results])
        assert flagged[~y[:, j]].mean() <= 0.01, lab
    again = vs.evaluate(calibrated, bert_data)
    for lab in BERT_LABELS:
        assert again.per_label[lab].fpr <= 0.01
        assert again.per_label[lab].recall == pytest.approx(
            bert_report.operating_points[lab].recall)


def test_policy_at_fpr_same_as_calibrate(bert_report):
    direct = vs.ThresholdPolicy.calibrate(bert_report.scores, bert_report.y_true,
                                          bert_report.labels, target_fpr=0.05)
    assert bert_report.policy_at_fpr(0.05).thresholds == direct.thresholds


def test_report_json_round_trip_and_summary(bert_report):
    again = vs.EvalReport.model_validate_json(bert_report.model_dump_json())
    assert again == bert_report
    small = bert_report.to_dict()
    assert "scores" not in small and small["n_items"] == bert_report.n_items
    json.dumps(small)
    text = bert_report.summary()
    assert "binarized AP" in text and all(lab in text for lab in BERT_LABELS)


# --------------------------------------------------------------------------- data and labels


def test_unknown_labels_are_a_clear_error_and_label_map_fixes_them(roberta):
    data = [("you are trash", "insult"), ("gg wp", "none"), ("nice shot", ""),
            ("go away loser", "toxic,spam")]
    with pytest.raises(vs.InvalidInputError, match="label_map") as info:
        vs.evaluate(roberta, data)
    assert "insult" in str(info.value) and "spam" in str(info.value)
    report = vs.evaluate(roberta, data, label_map={"insult": "toxic", "spam": None})
    assert report.labels == ["toxic"]  # "neutral" is the negative label, never scored
    assert report.per_label["toxic"].support == 2
    assert report.y_true == [[1], [0], [0], [1]]


def test_negative_label_names_count_as_clean(roberta):
    data = [("you are trash", "toxic"), ("gg wp", "neutral"), ("nice shot", "clean"),
            ("hello there friend", "NONE")]
    assert vs.evaluate(roberta, data).y_true == [[1], [0], [0], [0]]


def test_file_formats_agree(tmp_path, roberta):
    rows = [("you are trash", "toxic"), ("gg wp", "none"), ("nice shot", ""),
            ("shut up noob", "toxic"), ('say "hi", friend', "none")]
    (tmp_path / "d.csv").write_text(
        "text,labels\n" + "".join(f'"{t.replace(chr(34), 2 * chr(34))}",{lbl}\n'
                                  for t, lbl in rows))
    (tmp_path / "d.tsv").write_text(
        "labels\ttext\n" + "".join(f"{lbl}\t{t}\n" for t, lbl in rows).replace('"', ""))
    (tmp_path / "d.jsonl").write_text(
        "".join(json.dumps({"input": t, "labels": [lbl] if lbl else []}) + "\n"
                for t, lbl in rows))
    base = vs.evaluate(roberta, rows)
    for name in ("d.csv", "d.jsonl"):
        report = vs.evaluate(roberta, tmp_path / name)
        assert report.y_true == base.y_true and report.scores == base.scores, name
    tsv = vs.evaluate(roberta, str(tmp_path / "d.tsv"))
    assert tsv.y_true == base.y_true and tsv.n_items == 5


def test_data_errors(tmp_path, roberta):
    with pytest.raises(vs.InvalidInputError, match="not found"):
        vs.evaluate(roberta, tmp_path / "missing.csv")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(vs.InvalidInputError, match="csv"):
        vs.evaluate(roberta, tmp_path / "x.xlsx")
    (tmp_path / "nolabels.csv").write_text("text\nhello\n")
    with pytest.raises(vs.InvalidInputError, match="labels"):
        vs.evaluate(roberta, tmp_path / "nolabels.csv")
    with pytest.raises(vs.InvalidInputError, match="empty"):
        vs.evaluate(roberta, [])
    with pytest.raises(vs.InvalidInputError, match="pair"):
        vs.evaluate(roberta, ["just a text"])


def _write_clips(folder, n=4, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"clip{i}.wav"
        sf.write(path, (0.1 * rng.standard_normal(8000 + 1600 * i)).astype(np.float32), 16000)
        paths.append(path)
    return paths


def test_audio_csv_with_relative_paths(tmp_path, v2_dir):
    clf = vs.Classifier.from_pretrained(v2_dir)
    clips = _write_clips(tmp_path)
    labels = ["Harassment", "none", "Profanity,Sexual", ""]
    (tmp_path / "audio.csv").write_text(
        "audio,labels\n" + "".join(f'{p.name},"{lbl}"\n' for p, lbl in zip(clips, labels,
                                                                             strict=True)))
    report = vs.evaluate(clf, tmp_path / "audio.csv")
    assert report.modality == "audio" and report.n_items == 4
    direct = clf.score([str(p) for p in clips])
    np.testing.assert_allclose(report.scores, _matrix(direct, report.labels))
    pairs = vs.evaluate(clf, list(zip(clips, labels, strict=True)))  # Path objects are audio
    assert pairs.scores == report.scores
    (tmp_path / "bad.csv").write_text("audio,labels\nnope.wav,none\n")
    with pytest.raises(vs.InvalidInputError, match="not found"):
        vs.evaluate(clf, tmp_path / "bad.csv")


def test_modality_is_decided_per_item_for_the_default(tmp_path):
    clf = vs.Classifier.from_pretrained()
    (clip,) = _write_clips(tmp_path, n=1)
    data = [(str(clip), "Harassment"), ("gg everyone", "none"), ("you are trash", "Harassment")]
    report = vs.evaluate(clf, data)
    assert report.modality == "audio+text"
    audio = clf.score(str(clip)).scores
    text = clf.score_text("gg everyone").scores
    assert report.scores[0] == pytest.approx([audio[lab] for lab in report.labels], abs=1e-5)
    assert report.scores[1] == pytest.approx([text[lab] for lab in report.labels], abs=1e-5)
    with pytest.raises(vs.InvalidInputError, match="does not exist"):
        vs.evaluate(clf, [("missing.ogg", "none")])
    as_text = vs.evaluate(clf, [("missing.ogg", "none"), ("x", "Sexual")], modality="text")
    assert as_text.modality == "text"


def test_text_only_classifier_treats_strings_as_text(roberta, tmp_path):
    report = vs.evaluate(roberta, [(str(tmp_path), "toxic"), ("gg", "none")])
    assert report.modality == "text"
    with pytest.raises(vs.ModalityError):
        vs.evaluate(roberta, [("x", "toxic")], modality="audio")


def test_missing_sklearn_is_a_clear_error(monkeypatch, roberta):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(vs.MissingDependencyError, match=r'voicesafety\[eval\]'):
        vs.evaluate(roberta, [("x", "toxic")])


# --------------------------------------------------------------------------- CLI


def test_cli_eval(tmp_path, roberta_dir, capsys):
    data = tmp_path / "d.csv"
    texts = _texts(30, seed=5)
    data.write_text("text,labels\n" + "".join(
        f"{t},{lbl}\n" for t, lbl in zip(texts, ["toxic", "none", ""] * 10, strict=True)))
    policy_path = tmp_path / "policy.json"
    code = main(["eval", str(data), "--model", str(roberta_dir), "--json", "--target-fpr",
                 "0.05", "--save-policy", str(policy_path), "--no-progress"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_items"] == 30 and out["target_fpr"] == 0.05
    assert "toxic" in out["per_label"] and out["binarized_ap"] is not None
    policy = vs.ThresholdPolicy.from_json(policy_path)
    assert set(policy.thresholds) == {"toxic"}
    code = main(["eval", str(data), "--model", str(roberta_dir), "--threshold-policy",
                 str(policy_path)])
    assert code == 0
    assert "binarized AP" in capsys.readouterr().out


def test_cli_eval_unknown_label_exit_code(tmp_path, roberta_dir, capsys):
    data = tmp_path / "d.csv"
    data.write_text("text,labels\nyou are trash,insult\ngg,none\n")
    assert main(["eval", str(data), "--model", str(roberta_dir)]) == 2
    assert "label_map" in capsys.readouterr().err
    assert main(["eval", str(data), "--model", str(roberta_dir), "--label-map",
                 "insult=toxic", "--no-progress"]) == 0


def test_load_dataset_labels_parsing(tmp_path):
    (tmp_path / "d.jsonl").write_text(
        '{"text": "a", "labels": "x, y"}\n\n{"text": "b", "label": null}\n')
    items = load_dataset(tmp_path / "d.jsonl")
    assert [i.labels for i in items] == [["x", "y"], []]
    assert [i.modality for i in items] == ["text", "text"]
