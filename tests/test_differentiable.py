"""The differentiable text path: parity with score_text, gradients, finite differences."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

import voicesafety as vs
from voicesafety.differentiable import DifferentiableToxicity
from voicesafety.errors import BackendError, InvalidInputError

TEXTS = ["you are trash", "gg wp", "go away loser you are an idiot", "nice shot"]


@pytest.fixture(scope="module")
def roberta(roberta_dir):
    return vs.Classifier.from_pretrained(roberta_dir, backend="torch", device="cpu")


@pytest.fixture(scope="module")
def bert(bert_dir):
    return vs.Classifier.from_pretrained(bert_dir, backend="torch", device="cpu")


@pytest.fixture(scope="module")
def mini():
    return vs.Classifier.from_pretrained(backend="torch", device="cpu")


def _first_member(folder: Path, lexicon: bool) -> vs.Classifier:
    """The embedded text model's first member alone, with or without its lexicon."""
    from voicesafety.formats.hub import embedded_path
    from voicesafety.models.arch import (
        build_mini,
        load_mini,
        load_policy,
        save_mini,
        split_members,
    )

    src = embedded_path() / "text"
    base, config = split_members(*load_mini(src))[0]
    assert config["arch"]["lexicon"] is True  # the shipped model has one
    config = {**config, "arch": {**config["arch"], "lexicon": lexicon}}
    model = build_mini(config)
    state = {k: v for k, v in base.state_dict().items() if lexicon or not k.startswith("lexicon.")}
    model.load_state_dict(state, strict=True)
    save_mini(model, config, folder, policy=load_policy(src), tokenizer=src / "tokenizer.json")
    return vs.Classifier.from_pretrained(folder, backend="torch", device="cpu")


@pytest.fixture(scope="module")
def mini_plain(tmp_path_factory):
    """The first member without its lexicon (the transformer alone): the path a single
    MiniTextModel without one takes, ``inputs_embeds`` included."""
    return _first_member(tmp_path_factory.mktemp("plain") / "text", lexicon=False)


def test_the_lexicon_changes_the_scores(tmp_path, mini_plain):
    with_lexicon = _first_member(tmp_path / "text", lexicon=True)
    a = with_lexicon.score_text(TEXTS, as_tensor=True)
    b = mini_plain.score_text(TEXTS, as_tensor=True)
    assert (a - b).abs().max() > 0.01


@pytest.mark.parametrize("name", ["roberta", "bert", "mini", "mini_plain"])
def test_one_hot_matches_score_text(request, name):
    clf = request.getfixturevalue(name)
    module = clf.text_module()
    assert isinstance(module, DifferentiableToxicity)
    assert module is clf.text_module()  # cached
    probs, mask = module.one_hot(TEXTS)
    assert probs.shape[:2] == mask.shape and probs.shape[-1] == module.vocab_size
    with torch.no_grad():
        got = module.probabilities(probs, mask)
        tox = module(probs, mask)
    want = clf.score_text(TEXTS, as_tensor=True)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    results = clf.score_text(TEXTS)
    torch.testing.assert_close(tox, torch.tensor([r.toxicity for r in results]), atol=1e-5,
                               rtol=0)
    same = clf.score_text_differentiable(probs, mask)
    torch.testing.assert_close(same, tox, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["roberta", "bert", "mini", "mini_plain"])
def test_inputs_embeds_path(request, name):
    module = request.getfixturevalue(name).text_module()
    probs, mask = module.one_hot(TEXTS)
    if name == "mini":  # its members' lexicons read tokens, and each has its own embeddings
        with pytest.raises(InvalidInputError, match="pass token_probs"):
            module(inputs_embeds=module.embed(probs), attention_mask=mask)
        return
    with torch.no_grad():
        a = module(probs, mask)
        b = module(inputs_embeds=module.embed(probs), attention_mask=mask)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["roberta", "bert", "mini", "mini_plain"])
def test_gradients_reach_the_generator(request, name):
    module = request.getfixturevalue(name).text_module()
    _, mask = module.one_hot(TEXTS)
    torch.manual_seed(0)
    logits = torch.randn(*mask.shape, module.vocab_size, requires_grad=True)
    loss = module(logits.softmax(-1), mask).mean()
    loss.backward()
    grad = logits.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().max() > 0
    assert all(p.grad is None and not p.requires_grad for p in module.parameters())


@pytest.mark.parametrize("name", ["roberta", "bert", "mini", "mini_plain"])
def test_gradients_match_finite_differences(request, name):
    module = copy.deepcopy(request.getfixturevalue(name).text_module()).double()
    _, mask = module.one_hot(TEXTS[:2])
    torch.manual_seed(1)
    base = torch.randn(*mask.shape, module.vocab_size, dtype=torch.float64)

    weights = torch.arange(1, len(module.labels) + 1, dtype=torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        # a weighted sum of every label's probability: smooth everywhere (toxicity's max over
        # labels is only piecewise smooth) and not constant under a softmax head
        return (module.probabilities(x.softmax(-1), mask) * weights).sum()

    x = base.clone().requires_grad_(True)
    f(x).backward()
    grad = x.grad
    assert grad is not None
    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        direction = torch.randn(base.shape, generator=gen, dtype=torch.float64)
        eps = 1e-5
        with torch.no_grad():
            numeric = (f(base + eps * direction) - f(base - eps * direction)) / (2 * eps)
        analytic = (grad * direction).sum()
        assert float(abs(numeric - analytic)) <= 1e-6 + 1e-4 * float(abs(numeric)), (
            float(numeric), float(analytic))
        assert abs(float(analytic)) > 0


def test_input_errors(roberta):
    module = roberta.text_module()
    with pytest.raises(InvalidInputError, match="vocabulary"):
        module(torch.rand(1, 4, module.vocab_size + 1))
    with pytest.raises(InvalidInputError, match="exactly one"):
        module()
    with pytest.raises(InvalidInputError, match="maximum"):
        module(torch.rand(1, module.max_length + 1, module.vocab_size))
    with pytest.raises(InvalidInputError, match="inputs_embeds"):
        module(inputs_embeds=torch.rand(1, 4, 7))


def test_stays_in_eval_mode(roberta):
    module = roberta.text_module()
    module.train()
    assert not module.training and not module.model.training


def test_works_from_other_backends(roberta_dir, roberta, tmp_path, monkeypatch):
    monkeypatch.setenv("VOICESAFETY_CACHE", str(tmp_path / "cache"))
    try:
        clf = vs.Classifier.from_pretrained(roberta_dir, backend="onnx", device="cpu")
    except BackendError as exc:
        pytest.skip(f"onnx backend not available here: {exc}")
    module = clf.text_module()
    probs, mask = module.one_hot(TEXTS)
    with torch.no_grad():
        torch.testing.assert_close(module(probs, mask), roberta.text_module()(probs, mask),
                                   atol=1e-6, rtol=0)


def test_loss_example_runs():
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "loss_function.py"
    namespace = runpy.run_path(str(script), run_name="not_main")
    history = namespace["main"](["--steps", "15"])
    assert history[-1] < history[0]
