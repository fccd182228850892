"""The reference backend: PyTorch eager."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .base import Backend


class TorchBackend(Backend):
    """Runs a ``tensors -> logits`` module in eager mode under ``torch.inference_mode``."""

    name = "torch"

    def __init__(self, module: torch.nn.Module, device: str) -> None:
        super().__init__(device)
        self.module = module.to(device).eval()

    def run(self, inputs: Mapping[str, Any]) -> torch.Tensor:
        """Logits as a float32 tensor on this backend's device."""
        tensors = {name: _to_tensor(value, self.device) for name, value in inputs.items()}
        with torch.inference_mode():
            return self.module(**tensors).float()


def _to_tensor(value: Any, device: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    return value.to(device, non_blocking=True)
