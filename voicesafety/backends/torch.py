"""The reference backend: PyTorch eager."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ..arrays import ArrayOrTensor
from .base import Backend, check_precision
from .threads import install_fork_guard, resolve_threads, torch_threads

#: torch dtypes of the ``precision=`` values (:data:`voicesafety.backends.PRECISIONS`).
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class TorchBackend(Backend):
    """Runs a ``tensors -> logits`` module in eager mode under ``torch.inference_mode``.

    ``threads``: CPU threads for each forward pass (see :mod:`.threads`; torch's setting is
    process-global, so it is set for the pass and restored after). ``precision``: the dtype
    of the weights and float inputs (``"float16"``/``"bfloat16"`` on CUDA only, see
    :func:`check_precision`); logits always come back as float32.
    """

    name = "torch"

    def __init__(self, module: torch.nn.Module, device: str, *,
                 threads: int | None = None, precision: str = "float32") -> None:
        super().__init__(device)
        self.precision = check_precision(precision, device, "torch")
        self.dtype = DTYPES[self.precision]
        # A whole-module cast, as transformers' torch_dtype does: autocast re-casts every
        # weight on every call, which costs more than the matrix products at batch 1.
        self.module = module.to(device=device, dtype=self.dtype).eval()
        self.threads = resolve_threads(threads)
        install_fork_guard()

    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> torch.Tensor:
        """Logits as a float32 tensor on this backend's device."""
        tensors = {name: to_tensor(value, self.device) for name, value in inputs.items()}
        if self.dtype != torch.float32:
            tensors = {name: t.to(self.dtype) if t.is_floating_point() else t
                       for name, t in tensors.items()}
        with torch_threads(self.threads), torch.inference_mode():
            return self.module(**tensors).float()


def to_tensor(value: ArrayOrTensor, device: str) -> torch.Tensor:
    """A tensor on ``device`` from a numpy array (shared memory when possible) or a tensor."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    return value.to(device, non_blocking=True)
