"""The public trainer (voicesafety.train, ``voicesafety train`` / ``voicesafety distil``):
it learns on real data, distils a teacher, and writes folders every backend loads."""

from __future__ import annotations

import csv
import gzip
import json
import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from voicesafety import Classifier
from voicesafety.cli import main
from voicesafety.errors import InvalidInputError
from voicesafety.train import TextSettings, distil_text, train_audio, train_text

ROOT = Path(__file__).resolve().parents[1]
TEXT_DATA = ROOT / "training" / "data" / "text"
SMALL = {"arch": {"dim": 64, "layers": 1, "heads": 2, "max_length": 64}, "vocab_size": 2000,
         "batch_size": 32, "lr": 3e-3}  # fmt: skip


def _real(source: str) -> list[dict[str, str]]:
    """Training-split rows of a committed real source (never the evaluation-only sets)."""
    with gzip.open(TEXT_DATA / source / "rows.csv.gz", "rt", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == "train"]


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def real_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 400 real labelled texts: Stormfront forum posts (hate / not, same forum), toxic
    Civil Comments (toxic_spans) and benign Topical-Chat conversation."""
    sf = _real("stormfront")
    hate = [r["text"] for r in sf if r["toxic"] == "1"][:600]
    calm = [r["text"] for r in sf if r["toxic"] == "0"][:600]
    toxic = [r["text"] for r in _real("toxic_spans")][:600]
    chat = [r["text"] for r in _real("topical_chat")][:600]
    rows = [[t, 1] for t in hate + toxic] + [[t, 0] for t in calm + chat]
    random.Random(0).shuffle(rows)
    return _write_csv(tmp_path_factory.mktemp("real") / "real.csv", ["text", "toxic"], rows)


@pytest.fixture(scope="module")
def trained(real_set: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("student") / "model"
    # with the lexicon, as the trainer's default arch has it (SMALL alone has none)
    arch = {**SMALL["arch"], "lexicon": True}
    return train_text(real_set, out, settings=TextSettings(epochs=6, **{**SMALL, "arch": arch}))


def test_student_clearly_separates_the_classes_on_its_heldout_split(trained) -> None:
    h = trained.report["heldout"]
    assert h["n"] == 240 and 60 < h["positives"] < 180
    # not stuck at 0.5: far above the base rate, and the classes' scores far apart
    assert h["binarized_ap"] >= max(0.75, h["base_rate"] + 0.2), h
    assert h["mean_score_positive"] - h["mean_score_negative"] >= 0.25, h
    clf = trained.load()
    scores = clf.score_text(["you are a disgusting subhuman piece of trash",
                             "what time does the museum open on sunday?"], as_tensor=True)
    assert scores[0, 0] > scores[1, 0] + 0.3


def test_report_is_printed_and_saved_with_every_figure(trained) -> None:
    folder = trained.folder
    saved = json.loads((folder / "report.json").read_text())
    assert saved["heldout"]["per_label_ap"]["toxic"] == trained.report["heldout"]["binarized_ap"]
    assert set(saved["policy"]) == {"toxic"} and 0.0 < saved["policy"]["toxic"] < 1.0
    assert saved["size_speed"]["student_mb"] > 0.1
    assert saved["size_speed"]["student_texts_per_s"] > 10
    assert saved["training"]["epochs_run"] >= 1 and saved["training"]["history"][0]["heldout"] > 0
    assert "binarized" in (folder / "report.md").read_text() and "binarized" in str(trained)


@pytest.mark.parametrize("backend", ["torch", "torchscript", "onnx", "onnx-int8"])
def test_student_folder_loads_on_every_backend(trained, backend: str) -> None:
    if backend != "torch":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
    texts = ["you are a disgusting subhuman piece of trash", "good game everyone", "hi"]
    ref = Classifier.from_pretrained(trained.folder, backend="torch").score_text(
        texts, as_tensor=True)
    got = Classifier.from_pretrained(trained.folder, backend=backend).score_text(
        texts, as_tensor=True)
    assert torch.allclose(got.cpu().float(), ref.float(), atol=0.05)
    assert Classifier.from_pretrained(trained.folder, backend=backend).text_labels == ["toxic"]


def test_text_student_gives_gradients_as_a_loss(trained) -> None:
    clf = trained.load()
    module = clf.text_module()
    probs, mask = module.one_hot(["you are a disgusting subhuman piece of trash"])
    probs.requires_grad_(True)
    tox = module(probs, mask)
    text = "you are a disgusting subhuman piece of trash"
    assert abs(float(tox[0].detach()) - clf.score_text(text).toxicity) < 1e-4
    (1 - tox).sum().backward()
    assert probs.grad is not None and probs.grad.abs().sum() > 0


def test_lexicon_is_fitted_first_then_kept_fixed_and_ranks_on_its_own(
    tmp_path: Path, real_set: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``arch["lexicon"]``: the lexicon stage learns the lexical signal alone (its logits by
    themselves separate the held-out classes), the transformer then trains with it frozen,
    and the folder exports within the parity bounds."""
    from sklearn.metrics import average_precision_score
    from tokenizers import Tokenizer

    from voicesafety.export import export
    from voicesafety.models.arch import load_mini
    from voicesafety.text import TextEncoder
    from voicesafety.train import loop

    after_stage: list[torch.Tensor] = []
    fit_lexicon = loop.fit_lexicon

    def spy(model, *args, **kwargs):  # the real stage; only its result is copied
        fit_lexicon(model, *args, **kwargs)
        after_stage.append(model.lexicon.weight.detach().clone())

    monkeypatch.setattr(loop, "fit_lexicon", spy)
    arch = {**SMALL["arch"], "lexicon": True}
    res = train_text(real_set, tmp_path / "lex",
                     settings=TextSettings(**{**SMALL, "arch": arch}, epochs=2, lexicon_epochs=4))
    assert len(after_stage) == 1 and after_stage[0].abs().max() > 0.1
    model, config = load_mini(res.folder)
    torch.testing.assert_close(model.lexicon.weight, after_stage[0])  # frozen afterwards
    with real_set.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[-400:]
    tok = Tokenizer.from_file(str(res.folder / "tokenizer.json"))
    encoder = TextEncoder(tok, int(config["max_length"]))
    ids, mask = loop.text_tensors(encoder, [r["text"] for r in rows])
    with torch.no_grad():
        lexical = model.lexical_logits(ids, mask).amax(dim=1).numpy()
    assert average_precision_score([int(r["toxic"]) for r in rows], lexical) >= 0.8
    assert res.report["heldout"]["binarized_ap"] >= 0.8, res.report["heldout"]
    (report,) = export(res.folder, "onnx", tmp_path / "onnx", log=None)  # raises if outside
    assert report.passed


def test_distilled_student_ranks_texts_like_a_teacher_built_here(
    tmp_path: Path, real_set: Path
) -> None:
    # the teacher: a six-label model trained here on generated game chat
    from training.corpus import generate
    from voicesafety.models.arch import LABELS

    exs = generate(1500, seed=1, heldout=False)
    rows = [[e.text, *e.labels] for e in exs]
    data = _write_csv(tmp_path / "chat.csv", ["text", *LABELS], rows)
    teacher = train_text(data, tmp_path / "teacher", settings=TextSettings(epochs=3, **SMALL))
    # unlabelled texts: more generated chat and the real texts above
    texts = [e.text for e in generate(1500, seed=2, heldout=False)]
    with real_set.open(encoding="utf-8") as fh:
        texts += [r["text"].replace("\n", " ") for r in csv.DictReader(fh)][:1500]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    res = distil_text(teacher.folder, tmp_path / "texts.txt", tmp_path / "student",
                      settings=TextSettings(epochs=12, seed=1, **SMALL))  # fmt: skip
    a = res.report["teacher_agreement"]
    assert a["spearman"] >= 0.8, a
    assert a["mean_abs_delta"] < 0.15 and a["flag_agreement_teacher_policy"] >= 0.85, a
    sp = res.report["size_speed"]
    assert sp["student_texts_per_s"] > 0 and sp["teacher_texts_per_s"] > 0 and sp["speedup"] > 0
    # the student keeps the teacher's policy and labels
    student = Classifier.from_pretrained(res.folder)
    assert student.text_labels == LABELS
    t_pol = Classifier.from_pretrained(teacher.folder).text.spec.policy
    assert all(student.text.spec.policy.threshold(lab) == t_pol.threshold(lab) for lab in LABELS)


# ------------------------------------------------------------------------ data and CLI


def test_cli_dry_runs_train_and_distil(tmp_path: Path, real_set: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "text", str(real_set), "--out", str(tmp_path / "a"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "binarized" in out and "dry_run True" in out
    assert Classifier.from_pretrained(tmp_path / "a").text_labels == ["toxic"]
    texts = tmp_path / "t.txt"
    texts.write_text("\n".join(["gg", "you suck", "nice trade", "shut up idiot"] * 20) + "\n")
    # the teacher flags none of these texts as DatingAndRomantic: said, with the fix for distil
    with pytest.warns(UserWarning, match=r"DatingAndRomantic.*teacher scores >= 0\.5"):
        assert main(["distil", "text", "--teacher", "voicesafety/mini", str(texts),
                     "--out", str(tmp_path / "b"), "--dry-run"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert "DatingAndRomantic" in report["data"]["labels_without_positives"]
    assert report["data"]["teacher"] == "voicesafety/mini" and "spearman" in report[
        "teacher_agreement"]


def test_multilabel_jsonl_with_unknown_cells_and_named_columns(tmp_path: Path) -> None:
    rows = [{"msg": f"text number {i} {'idiot' if i % 2 else 'thanks'}", "insult": i % 2,
             "spam": None if i % 3 else 0, "id": i} for i in range(60)]  # fmt: skip
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # "spam" is 0 or unknown on every row: trained, but the user is told it cannot be learnt
    no_spam = r"label spam has no positive row.*catch-all.*--label-columns"
    with pytest.warns(UserWarning, match=no_spam) as caught:
        res = train_text(path, tmp_path / "m", text_column="msg",
                         label_columns=["insult", "spam"], dry_run=True)  # fmt: skip
    assert [w.filename for w in caught if "spam" in str(w.message)] == [__file__]  # user's line
    assert Classifier.from_pretrained(res.folder).text_labels == ["insult", "spam"]
    assert res.report["data"]["labels_without_positives"] == "spam"
    with pytest.raises(InvalidInputError, match="--label-columns"):  # "id" is no label
        train_text(path, tmp_path / "n", text_column="msg", dry_run=True)


def test_labels_with_positives_give_no_warning(tmp_path: Path) -> None:
    rows = [[f"text number {i} {'idiot' if i % 2 else 'thanks'}", i % 2, int(i % 4 == 1)]
            for i in range(60)]  # fmt: skip
    path = _write_csv(tmp_path / "d.csv", ["text", "insult", "spam"], rows)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*no positive row", category=UserWarning)
        res = train_text(path, tmp_path / "m", dry_run=True)
    assert res.report["data"]["labels_without_positives"] == "none"
    assert "labels_without_positives none" in str(res)


def test_labels_without_positives_reads_nan_as_unknown() -> None:
    from voicesafety.train.data import labels_without_positives

    y = np.array([[1.0, np.nan, 0.4, 0.0], [0.0, np.nan, np.nan, 0.5]], np.float32)
    assert labels_without_positives(y, ["a", "b", "c", "d"]) == ["b", "c"]


def test_parquet_and_continuous_scores(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    texts = [f"message {i} {'you idiot' if i % 2 else 'have fun'}" for i in range(80)]
    table = pa.table({"text": texts, "tox_level": [0.9 if i % 2 else 0.05 for i in range(80)]})
    pq.write_table(table, tmp_path / "d.parquet")
    res = train_text(tmp_path / "d.parquet", tmp_path / "m", dry_run=True)
    assert res.report["data"]["labels"] == "tox_level"


@pytest.mark.parametrize(("content", "name", "message"), [
    ("text,toxic\nhello,1.5\n", "d.csv", r"not a label or score in \[0, 1\]"),
    ("text,toxic\n", "d.csv", "holds no rows"),
    ("body,toxic\nhello,1\n", "d.csv", "--text-column"),
    ("text\tlabel\nhello\tmaybe\n", "d.tsv", "--label-columns"),
    ("text,toxic\nhello,1\n", "d.xlsx", "unknown data format"),
    ("text,toxic\n,1\n", "d.csv", "not a text"),
    ("text,toxic\nhello,\n", "d.csv", "no value in any label column"),
])
def test_bad_data_is_refused_with_the_fix(tmp_path: Path, content: str, name: str,
                                          message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        train_text(path, tmp_path / "m", dry_run=True)
    assert main(["train", "text", str(path), "--out", str(tmp_path / "m"), "--dry-run"]) == 2


@pytest.fixture(scope="module")
def mixed_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Real per-label rows joined to a real binary corpus, as a platform would: ``hate`` from
    Stormfront's hate sentences, ``insult`` from ConvAbuse's harassment turns, benign
    Topical-Chat turns with both labels 0, and toxic news comments (toxic_spans, toxic only)
    with empty label cells and ``toxic`` = 1. Also 150 further toxic news comments, never
    trained on, to probe which label such text lands on."""
    hate = [r["text"] for r in _real("stormfront") if r["toxic"] == "1"][:400]
    insult = [r["text"] for r in _real("convabuse") if r["Harassment"] == "1"][:200]
    news = [r["text"] for r in _real("toxic_spans")]
    chat = [r["text"] for r in _real("topical_chat")][:800]
    rows = ([[t, 1, "", ""] for t in hate] + [[t, "", 1, 1] for t in insult]
            + [[t, 0, 0, 0] for t in chat] + [[t, "", "", 1] for t in news[:600]])
    random.Random(1).shuffle(rows)
    path = tmp_path_factory.mktemp("mixed") / "mixed.csv"
    return _write_csv(path, ["text", "hate", "insult", "toxic"], rows), news[600:750]


def _hate_minus_insult(res, probe: list[str]) -> float:
    scores = res.load().score_text(probe, as_tensor=True)  # columns: hate, insult
    return float((scores[:, 0] - scores[:, 1]).mean())


def test_any_column_trains_rows_of_unknown_category_on_the_labels_named(
    tmp_path: Path, mixed_set: tuple[Path, list[str]]
) -> None:
    """``any_column``: the toxic-only rows count as positives in the report and train the max
    over the labels; ``any_labels`` decides which label they push up, so unseen real news
    comments score higher on ``insult`` than on ``hate``, or the reverse, by that choice
    alone."""
    path, probe = mixed_set
    s = TextSettings(epochs=3, **{**SMALL, "arch": {**SMALL["arch"], "lexicon": True}})
    runs = {lab: train_text(path, tmp_path / lab, any_column="toxic", any_labels=[lab],
                            settings=s) for lab in ("insult", "hate")}  # fmt: skip
    res = runs["insult"]
    assert res.report["data"]["rows_any_only"] == 600
    assert res.report["data"]["any_labels"] == "insult"
    assert res.load().text_labels == ["hate", "insult"]  # the any column is no label
    h = res.report["heldout"]  # ~60 toxic-only rows of 200: positives, not negatives
    assert h["positives"] > 100 and h["binarized_ap"] > 0.8, h
    gap = {lab: _hate_minus_insult(r, probe) for lab, r in runs.items()}
    assert gap["insult"] < 0.0 < gap["hate"], gap  # measured -0.29 / +0.79


@pytest.mark.parametrize(("rows", "kwargs", "message"), [
    ([["you idiot", "", "1"], ["hi", "0", ""]], {"any_labels": ["spam"]},
     "any_labels names 'spam'"),
    ([["you idiot", "1", "0"], ["hi", "0", "0"]], {}, "says not toxic.*'insult' is 1"),
    ([["you idiot", "0", "1"], ["hi", "0", "0"]], {}, "says toxic.*every label is < 0.5"),
    ([["you idiot", "", ""], ["hi", "0", "0"]], {}, "no value in 'toxic' nor in any label"),
    ([["you idiot", "1", "yes please"], ["hi", "0", "0"]], {}, "not a label or score"),
])
def test_any_column_refuses_contradictions_with_the_fix(
    tmp_path: Path, rows: list[list[str]], kwargs: dict, message: str
) -> None:
    path = _write_csv(tmp_path / "d.csv", ["text", "insult", "toxic"], rows * 30)
    with pytest.raises(InvalidInputError, match=message):
        train_text(path, tmp_path / "m", any_column="toxic", dry_run=True, **kwargs)
    cli = ["train", "text", str(path), "--out", str(tmp_path / "m"), "--any-column", "toxic",
           "--dry-run"] + (["--any-labels", "spam"] if kwargs else [])  # fmt: skip
    assert main(cli) == 2
    with pytest.raises(InvalidInputError, match="no column 'tox'.*--any-column"):
        train_text(path, tmp_path / "m", any_column="tox", dry_run=True)


def test_any_column_from_the_command_line(tmp_path: Path) -> None:
    rows = ([[f"you idiot number {i}", "1", ""] for i in range(20)]
            + [[f"you moron number {i}", "", "1"] for i in range(20)]
            + [[f"have fun number {i}", "0", "0"] for i in range(40)])  # fmt: skip
    path = _write_csv(tmp_path / "d.csv", ["text", "insult", "toxic"], rows)
    out = tmp_path / "m"
    assert main(["train", "text", str(path), "--out", str(out), "--any-column", "toxic",
                 "--any-labels", "insult", "--dry-run"]) == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["any_column"] == "toxic" and report["data"]["rows_any_only"] == 20
    assert Classifier.from_pretrained(out).text_labels == ["insult"]
    with pytest.raises(InvalidInputError, match="--any-column"):  # any_labels alone does nothing
        train_text(path, tmp_path / "n", any_labels=["insult"], dry_run=True)


def test_any_label_mask_limits_only_toxic_rows_without_a_known_positive() -> None:
    from voicesafety.train.data import any_label_mask

    y = np.array([[np.nan, np.nan], [1.0, np.nan], [np.nan, np.nan], [0.0, np.nan]], np.float32)
    toxic = np.array([1.0, 1.0, 0.0, 1.0], np.float32)
    mask = any_label_mask(y, toxic, ["a", "b"], ["b"])
    assert mask is not None
    assert mask.tolist() == [[False, True], [True, True], [True, True], [False, True]]
    only = any_label_mask(y, toxic, ["a", "b"], ["b"], rows=np.array([0, 0, 0, 1], bool))
    assert only is not None and only[0].all() and not only[3, 0]
    assert any_label_mask(y, toxic, ["a", "b"], None) is None


def test_too_few_rows_for_a_heldout_split(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", ["text", "toxic"], [["a b", 1], ["c d", 0]])
    with pytest.raises(InvalidInputError, match="too few"):
        train_text(path, tmp_path / "m")


# ------------------------------------------------------------------------------ audio


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_train_audio_with_labels_and_a_text_teacher(tmp_path: Path) -> None:
    import soundfile as sf

    from training.audio_data import SR, synthesize

    with (ROOT / "examples" / "data" / "texts.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    table = []
    for i, r in enumerate(rows):
        for voice in ("en-us", "en-gb"):
            wav = synthesize(r["text"], voice, 160, 50)
            name = f"clip{i}_{voice}.wav"
            sf.write(tmp_path / name, wav, SR)
            table.append([name, r["text"], 0 if r["labels"] in ("", "none") else 1])
    data = _write_csv(tmp_path / "audio.csv", ["audio", "transcript", "toxic"], table)
    res = train_audio(data, tmp_path / "labels", label_columns=["toxic"], dry_run=True)
    clf = Classifier.from_pretrained(res.folder)
    assert clf.labels == ["toxic"] and res.report["heldout"]["n"] >= 8
    assert res.report["size_speed"]["student_x_real_time"] > 1
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    clip = tmp_path / table[0][0]
    ref = clf.score(str(clip))
    got = Classifier.from_pretrained(res.folder, backend="onnx").score(str(clip))
    assert abs(got.toxicity - ref.toxicity) < 0.05
    # the Roblox recipe: transcripts scored by a text teacher (here the embedded model)
    data2 = _write_csv(tmp_path / "audio2.csv", ["audio", "transcript"],
                       [[a, t] for a, t, _ in table])  # fmt: skip
    res2 = train_audio(data2, tmp_path / "teacher", teacher="voicesafety/mini", dry_run=True)
    assert Classifier.from_pretrained(res2.folder).labels == Classifier.from_pretrained(
        None).text_labels
    assert "spearman" in res2.report["teacher_agreement"]
    assert np.isfinite(res2.report["size_speed"]["teacher_texts_per_s"])


def test_distil_from_a_softmax_hugging_face_teacher_keeps_only_its_toxic_label(
    tmp_path: Path, roberta_dir: Path
) -> None:
    """An s-nlp-like teacher (RoBERTa, softmax over neutral / toxic): the student learns
    P(toxic) only, and keeps the teacher's threshold for it."""
    texts = [f"message {i} {'you idiot' if i % 2 else 'good game'}" for i in range(120)]
    res = distil_text(roberta_dir, texts, tmp_path / "s", dry_run=True)
    student = Classifier.from_pretrained(res.folder)
    teacher = Classifier.from_pretrained(roberta_dir)
    assert student.text_labels == ["toxic"] == teacher.toxic_labels
    assert student.text.spec.policy.threshold("toxic") == teacher.text.spec.policy.threshold(
        "toxic")
    assert res.report["data"]["rows"] == 120 and "spearman" in res.report["teacher_agreement"]


def test_distil_from_a_cascade_teacher(tmp_path: Path) -> None:
    """A cascade (fast model + second opinion) teaches like any text model: one `toxic`
    label, thresholds that reproduce its own verdicts, agreement in the report."""
    import voicesafety as vs

    mini = Classifier.from_pretrained()
    cascade = vs.Cascade(mini, mini, band=(0.2, 0.8))
    texts = [f"message {i} {'you are trash' if i % 3 == 0 else 'good game everyone'}"
             for i in range(150)]
    res = distil_text(cascade, texts, tmp_path / "s", dry_run=True)
    student = Classifier.from_pretrained(res.folder)
    assert student.text_labels == ["toxic"]
    assert 0.0 < res.report["policy"]["toxic"] <= 1.0
    assert "cascade(" in json.dumps(res.report)  # the teacher is named
    assert "spearman" in res.report["teacher_agreement"]


def test_trainer_encoding_is_the_library_encoding_and_one_encoder_serves_a_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trainers encode exactly as inference does (same ids, truncation, padding), and a
    training run builds its TextEncoder once (building one copies the tokenizer), not per
    batch."""
    from training.corpus import generate
    from voicesafety.text import TextEncoder, pad_batch
    from voicesafety.train import loop
    from voicesafety.train.tokenizer import encode, train_tokenizer

    texts = [e.text for e in generate(300, seed=3, heldout=False)]
    tok = train_tokenizer(texts, vocab_size=500)
    for max_length in (16, 64):
        fresh = TextEncoder(tok, max_length)
        ids, mask = pad_batch(fresh.encode(texts), fresh.pad_id)
        got_ids, got_mask = encode(TextEncoder(tok, max_length), texts)
        assert (got_ids.tolist(), got_mask.tolist()) == (ids.tolist(), mask.tolist())
    assert max(len(row) for row in encode(TextEncoder(tok, 16), texts)[0]) == 16  # truncated
    built: list[int] = []

    class Counting(TextEncoder):
        def __init__(self, *args, **kwargs) -> None:
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(loop, "TextEncoder", Counting)
    y = np.array([[float("toxic" in t)] for t in texts], np.float32)
    settings = TextSettings(**{**SMALL, "arch": {**SMALL["arch"], "lexicon": True}}, epochs=2,
                            lexicon_epochs=1)  # fmt: skip
    loop.fit_text(texts, y, y[:, 0], settings, tokenizer=tok)
    assert len(built) == 1, f"{len(built)} encoders for one run of {len(texts) // 32 * 2} batches"


def test_heldout_metrics_leave_rows_without_any_known_label_out() -> None:
    """A row whose labels are all unknown is neither a positive nor a negative of the report
    (before: an all-NaN row counted as a negative and moved binarized AP)."""
    from voicesafety.train.api import heldout_metrics

    y = np.array([[1.0, 0.0], [0.0, np.nan], [0.0, 0.0], [np.nan, 1.0]], np.float32)
    p = np.array([[0.9, 0.1], [0.2, 0.3], [0.4, 0.1], [0.1, 0.8]], np.float32)
    unknown = np.array([[np.nan, np.nan]], np.float32)
    m = heldout_metrics(y, p, ["a", "b"])
    # a negative-looking row with the highest score: would cut AP if it counted as negative
    m2 = heldout_metrics(np.concatenate([y, unknown]),
                         np.concatenate([p, [[0.99, 0.99]]]), ["a", "b"])  # fmt: skip
    assert m["binarized_ap"] == m2["binarized_ap"] == 1.0
    assert (m2["positives"], m2["unknown"], m2["base_rate"]) == (2, 1, 0.5)
    assert m2["mean_score_negative"] == pytest.approx(m["mean_score_negative"])
    with_toxic = heldout_metrics(np.full((2, 2), np.nan, np.float32), p[:2], ["a", "b"],
                                 np.array([1.0, 0.0], np.float32))  # fmt: skip
    assert with_toxic["binarized_ap"] == 1.0 and with_toxic["unknown"] == 0
