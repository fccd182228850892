"""The reference backend: PyTorch eager."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..arrays import ArrayOrTensor
from .base import Backend
from .threads import install_fork_guard, resolve_threads, torch_threads


class TorchBackend(Backend):
    """Runs a ``tensors -> logits`` module in eager mode under ``torch.inference_mode``.

    ``threads``: CPU threads for each forward pass (see :mod:`.threads`; torch's setting is
    process-global, so it is set for the pass and restored after).
    """

    name = "torch"

    def __init__(self, module: torch.nn.Module, device: str, *,
                 threads: int | None = None) -> None:
        super().__init__(device)
        self.module = module.to(device).eval()
        self.threads = resolve_threads(threads)
        install_fork_guard()

    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> torch.Tensor:
        """Logits as a float32 tensor on this backend's device."""
        tensors = {name: to_tensor(value, self.device) for name, value in inputs.items()}
        with torch_threads(self.threads), torch.inference_mode():
            return self.module(**tensors).float()


def to_tensor(value: ArrayOrTensor, device: str) -> torch.Tensor:
    """A tensor on ``device`` from a numpy array (shared memory when possible) or a tensor."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    return value.to(device, non_blocking=True)
