"""Dropout with a cheaper random mask on CPU, for the training loops (a leaf module).

Why: ``nn.Dropout`` on CPU draws one Mersenne-Twister number per element
(``aten::bernoulli_``). Profiling a training step of the embedded audio model on 2 cores
(``python benchmarks/bench_train_mini.py audio --profile``) put 38 % of the step in those
draws, most of them for the ``[B, heads, S, S]`` attention weights. :class:`FastDropout`
draws 64-bit words from the same torch generator and cuts each into four 16-bit numbers: a
quarter of the draws, the same Bernoulli(1 - p) keep mask up to 1 / 65536 in ``p``, seeded
by ``torch.manual_seed`` like ``nn.Dropout``. CUDA tensors keep torch's own kernel (fast
there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

_LANES = 4  # 16-bit lanes per 64-bit word
_LEVELS = 1 << 16  # values of a lane: int16, -32768 .. 32767, each equally likely


class FastDropout(nn.Dropout):
    """``nn.Dropout`` whose CPU mask costs a quarter of the random draws (module docstring).

    Same ``p``, same scaling by ``1 / (1 - p)``, identity in eval mode; ``p`` is rounded to a
    multiple of 1 / 65536.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Zero each element with probability ``p`` (training only) and rescale the rest."""
        if not self.training or self.p == 0.0 or x.device.type != "cpu" or self.inplace:
            return super().forward(x)
        if self.p >= 1.0:
            return x * 0.0
        n = x.numel()
        # random_(-2**63, None) fills all 64 bits, so every int16 lane is uniform
        words = torch.empty((n + _LANES - 1) // _LANES, dtype=torch.int64).random_(-(2**63), None)
        lanes = words.view(torch.int16)[:n].view(x.shape)
        keep = lanes >= round(self.p * _LEVELS) - _LEVELS // 2
        # a float mask: its backward is one multiply (torch.where's is a second where)
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))


@contextmanager
def fast_dropout(model: nn.Module) -> Iterator[nn.Module]:
    """Swap every ``nn.Dropout`` of ``model`` for a :class:`FastDropout` with the same ``p``
    while the block runs, and put the originals back after it (the state dict is unchanged:
    dropout has no weights)."""
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                fast = FastDropout(child.p, child.inplace)
                fast.train(child.training)
                setattr(parent, name, fast)
                swapped.append((parent, name, child))
    try:
        yield model
    finally:
        for parent, name, child in swapped:
            child.train(getattr(parent, name).training)
            setattr(parent, name, child)
