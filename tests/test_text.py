"""Text scoring: parity with transformers, order, batching independence, truncation, errors,
tensors, registry entries, every backend."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TEXT_CORPUS, requires_cuda
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voicesafety as vs
from voicesafety.errors import BackendError, InputTypeError, InvalidInputError

TEXTS = ["you are trash", "gg wp", "i will kill the final boss tomorrow", "nice shot",
         "go away loser you are an idiot", "thanks"]
WORDS = sorted({w for t in TEXT_CORPUS for w in t.split()} | {"zzz", "unknownword"})


def reference_probs(folder: Path, texts: list[str], multilabel: bool) -> np.ndarray:
    """Direct transformers forward, one text at a time, no padding."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    rows = []
    with torch.no_grad():
        for text in texts:
            enc = tok(text, return_tensors="pt", truncation=True)
            logits = model(**enc).logits[0]
            rows.append((torch.sigmoid(logits) if multilabel else logits.softmax(-1)).numpy())
    return np.stack(rows)


def _copy_tokenizer(src: Path, dst: Path) -> int:
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if "token" in f.name or f.name == "special_tokens_map.json":
            shutil.copy(f, dst / f.name)
    return json.loads((src / "config.json").read_text())["vocab_size"]


@pytest.fixture(scope="module")
def distilbert_dir(bert_dir, tmp_path_factory) -> Path:
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    folder = tmp_path_factory.mktemp("ckpt") / "tiny-distilbert"
    vocab = _copy_tokenizer(bert_dir, folder)
    torch.manual_seed(5)
    cfg = DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                           max_position_embeddings=64, num_labels=2,
                           id2label={0: "non-toxic", 1: "toxic"},
                           label2id={"non-toxic": 0, "toxic": 1}, pad_token_id=0)
    model = DistilBertForSequenceClassification(cfg).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(10)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def deberta_dir(bert_dir, tmp_path_factory) -> Path:
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    folder = tmp_path_factory.mktemp("ckpt") / "tiny-deberta"
    vocab = _copy_tokenizer(bert_dir, folder)
    torch.manual_seed(6)
    labels = ["insult", "threat", "obscene"]
    cfg = DebertaV2Config(vocab_size=vocab, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=64,
                          max_position_embeddings=64, relative_attention=True,
                          pos_att_type=["p2c", "c2p"], position_buckets=16, num_labels=3,
                          problem_type="multi_label_classification", pad_token_id=0,
                          id2label=dict(enumerate(labels)),
                          label2id={n: i for i, n in enumerate(labels)})
    model = DebertaV2ForSequenceClassification(cfg).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(10)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def roberta(roberta_dir):
    return vs.Classifier.from_pretrained(roberta_dir, backend="torch", device="cpu")


@pytest.fixture(scope="module")
def bert(bert_dir):
    return vs.Classifier.from_pretrained(bert_dir, backend="torch", device="cpu")


# ------------------------------------------------------------------ loading and parity


@pytest.mark.parametrize("fixture,multilabel", [
    ("roberta_dir", False), ("bert_dir", True), ("distilbert_dir", False),
    ("deberta_dir", True),
])
def test_parity_with_transformers(request, fixture, multilabel):
    folder = request.getfixturevalue(fixture)
    clf = vs.Classifier.from_pretrained(folder, backend="torch", device="cpu")
    assert clf.modalities == ("text",)
    results = clf.score_text(TEXTS, batch_size=4)
    got = np.array([[r.scores[label] for label in clf.text_labels] for r in results])
    ref = reference_probs(folder, TEXTS, multilabel)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    if not multilabel:
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_single_and_multilabel_activation(roberta, bert):
    r = roberta.score_text("you are trash")
    assert set(r.scores) == {"neutral", "toxic"}
    assert r.toxicity == pytest.approx(r.scores["toxic"])
    assert r.toxicity == pytest.approx(1 - r.scores["neutral"], abs=1e-6)
    b = bert.score_text("you are trash")
    assert len(b.scores) == 6 and b.toxicity == pytest.approx(max(b.scores.values()))


def test_negative_label_never_flagged(roberta_dir):
    clf = vs.Classifier.from_pretrained(
        roberta_dir, backend="torch", device="cpu",
        policy=vs.ThresholdPolicy(thresholds={"neutral": 0.0, "toxic": 0.0}))
    for r in clf.score_text(TEXTS):
        assert "neutral" not in r.flags and r.flags == ["toxic"]


def test_registry_entries(roberta_dir, bert_dir, tmp_path):
    s_nlp = tmp_path / "roberta_toxicity_classifier"
    shutil.copytree(roberta_dir, s_nlp)
    clf = vs.Classifier.from_pretrained(s_nlp, device="cpu")
    assert clf.text_labels == ["neutral", "toxic"] and clf.toxic_labels == ["toxic"]
    assert clf.score_text("x").model.name == "s-nlp/roberta_toxicity_classifier"
    unitary = tmp_path / "toxic-bert"
    shutil.copytree(bert_dir, unitary)
    cfg = json.loads((unitary / "config.json").read_text())
    cfg.pop("problem_type")  # as published: no problem_type, the registry says sigmoid
    cfg["id2label"] = {str(i): f"LABEL_{i}" for i in range(6)}
    (unitary / "config.json").write_text(json.dumps(cfg))
    clf = vs.Classifier.from_pretrained(unitary, device="cpu")
    assert clf.text_labels[0] == "toxic" and len(clf.toxic_labels) == 6
    r = clf.score_text("you are trash")
    assert sum(r.scores.values()) != pytest.approx(1.0, abs=1e-3)  # sigmoid, not softmax


def test_embedded_default_text():
    clf = vs.Classifier.from_pretrained()
    res = clf.score_text(["gg everyone", "", "you are trash"])
    assert [r.text for r in res] == ["gg everyone", "", "you are trash"]
    assert res[1].toxicity == 0.0 and not res[1].flagged


# ------------------------------------------------------------------ order and batching


def test_order_kept(roberta):
    texts = TEXTS * 3
    together = roberta.score_text(texts, batch_size=5)
    assert [r.text for r in together] == texts
    for text, r in zip(texts, together, strict=True):
        alone = roberta.score_text(text)
        assert alone.toxicity == pytest.approx(r.toxicity, abs=1e-5)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join),
                   min_size=1, max_size=10),
    batch_size=st.integers(1, 7),
)
def test_batching_independence(bert, texts, batch_size):
    batched = bert.score_text(texts, batch_size=batch_size)
    one_by_one = [bert.score_text(t) for t in texts]
    for a, b in zip(batched, one_by_one, strict=True):
        assert a.text == b.text and a.num_tokens == b.num_tokens
        for label in a.scores:
            assert a.scores[label] == pytest.approx(b.scores[label], abs=1e-5)


# ------------------------------------------------------------------ truncation and odd input


def test_truncation_reported(roberta):
    long = " ".join(["you are trash"] * 100)
    r = roberta.score_text(long)
    assert r.truncated and r.num_tokens == 64  # tokenizer's model_max_length
    short = roberta.score_text("gg wp")
    assert not short.truncated and short.num_tokens == 4  # <s> gg wp </s>


def test_user_max_length(roberta):
    text = "go away loser you are an idiot"
    full = roberta.score_text(text)
    cut = roberta.score_text(text, max_length=4)
    assert not full.truncated and cut.truncated and cut.num_tokens == 4
    capped = roberta.score_text(" ".join(["gg"] * 200), max_length=10_000)
    assert capped.truncated and capped.num_tokens == 64
    # cut at 4 tokens == scoring the first two words
    assert cut.toxicity == pytest.approx(roberta.score_text("go away").toxicity, abs=1e-5)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True])
def test_bad_max_length(roberta, bad):
    with pytest.raises(InvalidInputError, match="max_length"):
        roberta.score_text("gg", max_length=bad)


def test_max_length_too_small_for_specials(roberta):
    with pytest.raises(InvalidInputError, match="no room"):
        roberta.score_text("you are trash", max_length=1)
    assert roberta.score_text("you are trash", max_length=3).num_tokens == 3


@pytest.mark.parametrize("blank", ["", " ", "\n\t  "])
def test_blank_texts(roberta, bert, blank):
    r = roberta.score_text(blank)
    assert r.toxicity == 0.0 and not r.flagged and r.num_tokens == 0
    assert r.scores == {"neutral": 1.0, "toxic": 0.0}
    b = bert.score_text([blank, "you are trash"])
    assert b[0].toxicity == 0.0 and set(b[0].scores.values()) == {0.0}
    assert b[1].num_tokens > 0


def test_very_long_text(bert):
    r = bert.score_text("x " * 50_000)  # 100k chars, 50k tokens
    assert r.truncated and r.num_tokens == 64 and 0.0 <= r.toxicity <= 1.0
    one_word = bert.score_text("x" * 100_000)  # one (unknown) word: [CLS] [UNK] [SEP]
    assert not one_word.truncated and one_word.num_tokens == 3
    r = bert.score_text(["gg", "you are trash " * 20_000])
    assert r[1].truncated and not r[0].truncated


@pytest.mark.parametrize("bad,match", [
    (None, "None"), (5, "int"), (b"bytes", "bytes"), ({"a": 1}, "dict"),
    (["ok", None], "#1"), (["ok", "fine", 3.5], "#2"),
])
def test_bad_input_types(roberta, bad, match):
    with pytest.raises(InputTypeError, match=match):
        roberta.score_text(bad)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "8", True])
def test_bad_batch_size(roberta, bad):
    with pytest.raises(InvalidInputError, match="batch_size"):
        roberta.score_text(["a", "b"], batch_size=bad)


def test_default_batch_size_depends_on_device_not_on_scores(roberta):
    assert roberta._batch_size(None, cpu=8, cuda=64) == (64 if roberta.device != "cpu" else 8)
    assert roberta._batch_size(3, cpu=8, cuda=64) == 3
    texts = [f"gg {'nice shot ' * (i % 7)}team" for i in range(21)]
    default = roberta.score_text(texts)
    explicit = roberta.score_text(texts, batch_size=32)
    for a, b in zip(default, explicit, strict=True):
        assert max(abs(a.scores[k] - b.scores[k]) for k in a.scores) <= 1e-5


def test_empty_list(roberta):
    assert list(roberta.score_text([])) == []
    t = roberta.score_text([], as_tensor=True)
    assert isinstance(t, torch.Tensor) and t.shape == (0, 2)


def test_audio_only_classifier_refuses_text(v1_dir):
    clf = vs.Classifier.from_pretrained(v1_dir, device="cpu")
    with pytest.raises(vs.ModalityError, match="roberta_toxicity_classifier"):
        clf.score_text("hi")


# ------------------------------------------------------------------ tensors


def test_as_tensor(bert):
    texts = TEXTS + [""]
    t = bert.score_text(texts, as_tensor=True, batch_size=3)
    assert isinstance(t, torch.Tensor) and t.shape == (len(texts), 6)
    assert t.dtype == torch.float32 and t.device.type == "cpu" and not t.requires_grad
    results = bert.score_text(texts)
    want = torch.tensor([[r.scores[lb] for lb in bert.text_labels] for r in results])
    torch.testing.assert_close(t, want, atol=1e-6, rtol=0)
    single = bert.score_text("gg", as_tensor=True)
    assert single.shape == (1, 6)


def test_as_tensor_usable_in_a_loss(roberta):
    target = roberta.score_text(TEXTS, as_tensor=True)
    weight = torch.ones(2, requires_grad=True)
    loss = ((target * weight).sum(-1) - 0.5).pow(2).mean()  # target saved for backward
    loss.backward()
    assert weight.grad is not None and torch.isfinite(weight.grad).all()


@requires_cuda
def test_cuda_parity(roberta_dir, roberta):
    gpu = vs.Classifier.from_pretrained(roberta_dir, backend="torch", device="cuda")
    t = gpu.score_text(TEXTS, as_tensor=True)
    assert t.device.type == "cuda"
    torch.testing.assert_close(t.cpu(), roberta.score_text(TEXTS, as_tensor=True), atol=1e-4,
                               rtol=0)


# ------------------------------------------------------------------ backends


@pytest.mark.parametrize("backend,bound", [
    ("torchscript", 1e-4), ("onnx", 1e-4), ("onnx-int8", 0.05),
])
@pytest.mark.parametrize("fixture", ["roberta_dir", "bert_dir"])
def test_backend_parity(request, tmp_path_factory, monkeypatch, fixture, backend, bound):
    monkeypatch.setenv("VOICESAFETY_CACHE", str(tmp_path_factory.getbasetemp() / "vs-cache"))
    folder = request.getfixturevalue(fixture)
    ref = vs.Classifier.from_pretrained(folder, backend="torch", device="cpu")
    try:
        clf = vs.Classifier.from_pretrained(folder, backend=backend, device="cpu")
    except BackendError as exc:
        if "not available" in str(exc):
            pytest.skip(f"{backend} backend not available here: {exc}")
        raise
    texts = TEXTS + ["", "you are trash " * 40]
    got = clf.score_text(texts, batch_size=3, as_tensor=True)
    want = ref.score_text(texts, batch_size=3, as_tensor=True)
    assert float((got - want).abs().max()) <= bound
    results = clf.score_text(texts)
    assert results[-1].truncated and results[0].model.backend == backend
