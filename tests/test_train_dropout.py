"""FastDropout (voicesafety.train.dropout): the same Bernoulli keep mask as nn.Dropout from a
quarter of the random draws, and the swap the audio trainer does around its steps."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from voicesafety.models.arch import MiniAudioModel
from voicesafety.train.dropout import FastDropout, fast_dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drop_rate_and_scale(p: float) -> None:
    torch.manual_seed(0)
    n = 1 << 20
    y = FastDropout(p).train()(torch.ones(n))
    dropped = (y == 0).float()
    sd = math.sqrt(p * (1 - p) / n)
    assert abs(dropped.mean().item() - p) < 6 * sd
    # each of the four 16-bit lanes cut from one 64-bit word drops at rate p (no biased lane)
    for lane in range(4):
        assert abs(dropped[lane::4].mean().item() - p) < 6 * 2 * sd
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)))
    assert abs(y.mean().item() - 1.0) < 6 * math.sqrt(p / (1 - p) / n)


def test_seeded_like_torch_and_masks_differ_between_calls() -> None:
    d = FastDropout(0.3).train()
    x = torch.ones(4, 1000)
    torch.manual_seed(7)
    a, b = d(x), d(x)
    torch.manual_seed(7)
    assert torch.equal(d(x), a)
    assert not torch.equal(a, b)


def test_eval_identity_and_gradient_is_the_mask() -> None:
    d = FastDropout(0.25)
    x = torch.randn(3, 5, 7, requires_grad=True)
    assert d.eval()(x) is x
    y = d.train()(x)
    y.sum().backward()
    assert x.grad is not None
    mask = (y != 0).float() / 0.75
    assert torch.allclose(x.grad, mask)
    assert FastDropout(0.0).train()(x) is x
    assert torch.equal(FastDropout(1.0).train()(x), torch.zeros_like(x))


def test_fast_dropout_swaps_and_restores() -> None:
    model = MiniAudioModel(n_mels=16, channels=16, attn_layers=1, heads=2).train()
    before = {name: m for name, m in model.named_modules() if isinstance(m, nn.Dropout)}
    keys = list(model.state_dict())
    assert before
    with fast_dropout(model):
        during = {name: m for name, m in model.named_modules() if isinstance(m, nn.Dropout)}
        assert during.keys() == before.keys()
        assert all(type(m) is FastDropout for m in during.values())
        assert all(m.p == before[name].p for name, m in during.items())
        assert list(model.state_dict()) == keys
        model.eval()  # a criterion run inside the block switches the swapped modules
    after = {name: m for name, m in model.named_modules() if isinstance(m, nn.Dropout)}
    assert all(after[name] is m for name, m in before.items())
    assert all(not m.training for m in after.values())  # the mode set inside is kept
