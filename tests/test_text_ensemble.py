"""A text model of several members on one tokenizer (MiniTextEnsemble): folder format,
scores (the members' mean logit), every backend and the gradient path (the recipe's
``text_member_seeds``: tests/test_training.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import voicesafety as vs
from voicesafety import export as ex
from voicesafety.errors import InvalidInputError
from voicesafety.formats.hub import embedded_path
from voicesafety.models.arch import (
    MiniTextEnsemble,
    MiniTextModel,
    load_mini,
    load_policy,
    save_mini,
    split_members,
)

TEXTS = ["you are trash", "gg wp", "go away loser you are an idiot", "nice shot", "I love hummus"]


def _first_member() -> tuple[MiniTextModel, dict]:
    """The shipped text model's first member (the shipped model itself if it has one) and its
    single-model config."""
    return split_members(*load_mini(embedded_path() / "text"))[0]


def _second_member() -> MiniTextModel:
    """The first member with every weight moved by seeded noise: a different model on the same
    tokenizer, as a second seed of the recipe would be."""
    model, _ = _first_member()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g) * (p.std() if p.numel() > 1 else 1))
    return model


def _save(model: torch.nn.Module, config: dict, folder: Path) -> Path:
    src = embedded_path() / "text"
    save_mini(model, config, folder, policy=load_policy(src), tokenizer=src / "tokenizer.json")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ensemble")
    first, config = _first_member()
    second = _second_member()
    ensemble = MiniTextEnsemble([first, second])
    config2 = {**config, "arch": {**config["arch"], "members": 2}}
    return {
        "first": _save(first, config, root / "first"),
        "second": _save(second, config, root / "second"),
        "pair": _save(ensemble, config2, root / "pair"),
    }


@pytest.fixture(scope="module")
def pair(folders) -> vs.Classifier:
    return vs.Classifier.from_pretrained(folders["pair"], backend="torch", device="cpu")


def _logit(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p) - torch.log1p(-p)


def test_scores_are_the_members_mean_logit(folders, pair) -> None:
    one = vs.Classifier.from_pretrained(folders["first"], backend="torch", device="cpu")
    two = vs.Classifier.from_pretrained(folders["second"], backend="torch", device="cpu")
    a = one.score_text(TEXTS, as_tensor=True).double()
    b = two.score_text(TEXTS, as_tensor=True).double()
    assert (a - b).abs().max() > 0.01  # the members differ
    got = pair.score_text(TEXTS, as_tensor=True).double()
    want = torch.sigmoid((_logit(a) + _logit(b)) / 2)
    assert torch.allclose(got, want, atol=1e-4)
    # the folder says what it is, and the loaded module is the ensemble
    model, config = load_mini(folders["pair"])
    assert config["arch"]["members"] == 2 and isinstance(model, MiniTextEnsemble)
    assert model.num_labels == len(config["labels"])


@pytest.mark.parametrize("backend", ex.EXPORT_BACKENDS)
def test_every_backend_within_the_export_bounds(folders, tmp_path, backend) -> None:
    (report,) = ex.export(folders["pair"], backend, tmp_path / backend, log=None)
    assert report.passed
    assert report.max_abs_diff <= (0.05 if backend == "onnx-int8" else 1e-4)
    clf = vs.Classifier.from_pretrained(tmp_path / backend, trust_code=backend == "torchscript")
    ref = vs.Classifier.from_pretrained(folders["pair"], backend="torch", device="cpu")
    got = np.array([r.toxicity for r in clf.score_text(TEXTS)])
    want = np.array([r.toxicity for r in ref.score_text(TEXTS)])
    assert np.abs(got - want).max() <= (0.05 if backend == "onnx-int8" else 1e-4)


def test_gradient_path_takes_token_probs(pair) -> None:
    module = pair.text_module()
    probs, mask = module.one_hot(TEXTS)
    tox = module(probs, mask)
    want = torch.tensor([r.toxicity for r in pair.score_text(TEXTS)])
    assert torch.allclose(tox, want, atol=1e-5)
    soft = probs.clone().requires_grad_(True)
    module(soft, mask).sum().backward()
    assert soft.grad is not None and soft.grad.abs().sum() > 0
    with pytest.raises(InvalidInputError, match="token_probs"):
        module(inputs_embeds=torch.zeros(1, 4, module.embedding.weight.shape[1]))


def test_construction_errors() -> None:
    model, _ = _first_member()
    with pytest.raises(ValueError, match="at least 2 members"):
        MiniTextEnsemble([model])
    with pytest.raises(ValueError, match="at least 2 members"):
        MiniTextEnsemble(1, vocab_size=10)
    with pytest.raises(ValueError, match="member count with arch"):
        MiniTextEnsemble([model, model], vocab_size=10)


def test_the_shipped_text_model_is_a_pair() -> None:
    model, config = load_mini(embedded_path() / "text")
    assert isinstance(model, MiniTextEnsemble) and len(model.members) == config["arch"]["members"]


def test_split_members_gives_each_member_with_a_single_model_config(folders) -> None:
    pair, config = load_mini(folders["pair"])
    parts = split_members(pair, config)
    assert [m for m, _ in parts] == list(pair.members)
    for _, cfg in parts:
        assert "members" not in cfg["arch"] and config["arch"]["members"] == 2
        assert cfg["arch"] == {k: v for k, v in config["arch"].items() if k != "members"}
    single, cfg1 = load_mini(folders["first"])
    assert split_members(single, cfg1) == [(single, cfg1)]
    with pytest.raises(TypeError, match="text model"):
        split_members(torch.nn.Linear(2, 2), cfg1)
