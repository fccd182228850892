"""TorchScript backend: a traced ``tensors -> logits`` module, run without Python model code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from ..arrays import ArrayOrTensor
from ..errors import BackendError
from .base import Backend
from .torch import to_tensor


class TorchScriptBackend(Backend):
    """Runs a TorchScript module (from :func:`torch.jit.trace`) on CPU or CUDA.

    Args:
        module: the scripted/traced module.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        input_names: the module's positional inputs in order (``("input_values",)`` for audio,
            ``("input_ids", "attention_mask")`` for text).
    """

    name = "torchscript"

    def __init__(
        self, module: torch.jit.ScriptModule, device: str, input_names: Sequence[str]
    ) -> None:
        super().__init__(device)
        self.module = module.to(device).eval()
        self.input_names = tuple(input_names)

    @classmethod
    def from_file(cls, path: Path, device: str, input_names: Sequence[str]) -> TorchScriptBackend:
        """Load a TorchScript file the user pointed at (TorchScript runs code: trust the file)."""
        try:
            module = torch.jit.load(str(path), map_location=device)
        except (RuntimeError, OSError, ValueError) as exc:
            raise BackendError(f"cannot load TorchScript file {path}: {exc}") from exc
        return cls(module, device, input_names)

    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> torch.Tensor:
        """Logits as a float32 tensor on this backend's device."""
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise BackendError(f"TorchScript model needs inputs {missing}")
        tensors = [to_tensor(inputs[n], self.device) for n in self.input_names]
        with torch.inference_mode():
            return self.module(*tensors).float()
