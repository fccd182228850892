"""The ParaDetox J metric: per-sample products, means, pluggable SIM and FL, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import TEXT_CORPUS, build_tiny_text

import voicesafety as vs
from voicesafety.errors import InputTypeError, InvalidInputError
from voicesafety.metrics import JScore, acceptability, cosine_similarity, j_score

SOURCES = ["you are trash", "shut up noob", "go away loser", "you are an idiot"]
OUTPUTS = ["you are nice", "please be quiet", "", "thanks for the help"]
VOCAB = sorted({w for t in TEXT_CORPUS + SOURCES + OUTPUTS for w in t.split()})


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A real (if simple) sentence encoder: word counts over a fixed vocabulary, plus a bias
    dimension so that empty texts have a direction."""
    out = np.zeros((len(texts), len(VOCAB) + 1))
    for i, text in enumerate(texts):
        out[i, -1] = 1.0
        for word in text.split():
            if word in VOCAB:
                out[i, VOCAB.index(word)] += 1.0
    return out


@pytest.fixture(scope="module")
def sta(roberta_dir):
    return vs.Classifier.from_pretrained(roberta_dir, backend="torch", device="cpu")


@pytest.fixture(scope="module")
def cola(tmp_path_factory) -> vs.Classifier:
    """A tiny CoLA-style classifier with generic labels (LABEL_0 = acceptable)."""
    folder = build_tiny_text(Path(tmp_path_factory.mktemp("ckpt")) / "tiny-cola",
                             ["LABEL_0", "LABEL_1"], kind="bert", seed=9)
    return vs.Classifier.from_pretrained(folder, backend="torch", device="cpu")


def test_j_is_mean_of_products(sta, cola):
    sim = cosine_similarity(bag_of_words)
    fl = acceptability(cola, label="LABEL_0")
    report = j_score(SOURCES, OUTPUTS, sta=sta, sim=sim, fl=fl)
    assert isinstance(report, JScore) and report.n == 4
    tox = np.array([r.toxicity for r in sta.score_text(OUTPUTS)])
    sims = np.array(sim(SOURCES, OUTPUTS))
    fls = np.array([r.scores["LABEL_0"] for r in cola.score_text(OUTPUTS)])
    np.testing.assert_allclose(report.sta_per_sample, 1 - tox, atol=1e-6)
    np.testing.assert_allclose(report.sim_per_sample, sims, atol=1e-12)
    np.testing.assert_allclose(report.fl_per_sample, fls, atol=1e-6)
    per = (1 - tox) * sims * fls
    np.testing.assert_allclose(report.j_per_sample, per, atol=1e-6)
    assert report.j == pytest.approx(per.mean(), abs=1e-6)
    assert report.sta == pytest.approx((1 - tox).mean(), abs=1e-6)
    assert report.summary()["J"] == report.j
    assert report.to_dict()["n"] == 4
    # J is the mean of products, not the product of means
    assert report.j != pytest.approx(report.sta * report.sim * report.fl, abs=1e-9)


def test_cosine_similarity_values():
    sim = cosine_similarity(bag_of_words)
    same = sim(["you are trash"], ["you are trash"])
    assert same[0] == pytest.approx(1.0)
    values = sim(SOURCES, OUTPUTS)
    assert all(0.0 <= v <= 1.0 for v in values)


def test_binary_sta(sta):
    report = j_score(SOURCES, OUTPUTS, sta=sta, sim=None, fl=None, sta_threshold=0.5)
    tox = np.array([r.toxicity for r in sta.score_text(OUTPUTS)])
    assert report.sta_per_sample == [float(t < 0.5) for t in tox]
    assert report.sim is None and report.fl is None and report.sim_per_sample is None
    assert report.j == pytest.approx(report.sta)


def test_callable_sta():
    report = j_score(["a", "b"], ["c", "d"], sta=lambda outs: [1.0, 0.5],
                     sim=lambda s, o: [0.5, 1.0], fl=lambda o: [1.0, 0.0])
    assert report.j_per_sample == [0.5, 0.0] and report.j == 0.25


@pytest.mark.parametrize("sources,outputs,match", [
    (["a", "b"], ["c"], "2 sources but 1 outputs"),
    ([], [], "at least one"),
])
def test_length_errors(sta, sources, outputs, match):
    with pytest.raises(InvalidInputError, match=match):
        j_score(sources, outputs, sta=sta, sim=None, fl=None)


def test_type_errors(sta):
    with pytest.raises(InputTypeError, match="one str"):
        j_score("a", "b", sta=sta, sim=None, fl=None)
    with pytest.raises(InputTypeError, match="outputs"):
        j_score(["a"], [None], sta=sta, sim=None, fl=None)
    with pytest.raises(InputTypeError, match="Classifier or a callable"):
        j_score(["a"], ["b"], sta=0.5, sim=None, fl=None)


@pytest.mark.parametrize("bad,match", [
    (lambda s, o: [0.5], "1 values for 2"),
    (lambda s, o: [0.5, float("nan")], "NaN"),
    (lambda s, o: [0.5, 1.7], "outside"),
    (lambda s, o: ["x", "y"], "numbers"),
])
def test_component_errors(sta, bad, match):
    with pytest.raises(InvalidInputError, match=match):
        j_score(["a", "b"], ["c", "d"], sta=sta, sim=bad, fl=None)


def test_acceptability_unknown_label(cola):
    with pytest.raises(InvalidInputError, match="LABEL_0"):
        acceptability(cola, label="acceptable")
