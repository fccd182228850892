"""TorchScript backend: a traced ``tensors -> logits`` module, run without Python model code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from ..arrays import ArrayOrTensor
from ..errors import BackendError, UntrustedCodeError
from .base import TRUST_ENV, Backend
from .threads import install_fork_guard, resolve_threads, torch_threads
from .torch import to_tensor


class TorchScriptBackend(Backend):
    """Runs a TorchScript module (from :func:`torch.jit.trace`) on CPU or CUDA.

    Args:
        module: the scripted/traced module.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        input_names: the module's positional inputs in order (``("input_values",)`` for audio,
            ``("input_ids", "attention_mask")`` for text).
        threads: CPU threads per forward pass (see :mod:`.threads`).
    """

    name = "torchscript"

    def __init__(
        self, module: torch.jit.ScriptModule, device: str, input_names: Sequence[str], *,
        threads: int | None = None,
    ) -> None:
        super().__init__(device)
        self.module = module.to(device).eval()
        self.input_names = tuple(input_names)
        self.threads = resolve_threads(threads)
        install_fork_guard()

    @classmethod
    def from_file(cls, path: Path, device: str, input_names: Sequence[str], *,
                  trust: bool = False, threads: int | None = None) -> TorchScriptBackend:
        """Load a TorchScript file. A TorchScript program runs when it is loaded and called,
        and can do what the Python that wrote it could (read and write files...), so this
        refuses unless ``trust`` is True: the user said so, or voicesafety wrote the file
        itself and checked its hash.

        Raises:
            UntrustedCodeError: ``trust`` is False; the message says how to opt in.
            BackendError: the file cannot be loaded.
        """
        if not trust:
            raise UntrustedCodeError(
                f"{path} is a TorchScript file: loading it runs the program stored in it, "
                "which can do anything Python code can, so voicesafety loads one only when "
                "you say you trust where it came from: Classifier.from_pretrained(..., "
                f"trust_code=True) (for the command line: {TRUST_ENV}=1). Otherwise load "
                "the original checkpoint, or an ONNX export (no code runs on load)."
            )
        try:
            module = torch.jit.load(str(path), map_location=device)
        except (RuntimeError, OSError, ValueError) as exc:
            raise BackendError(
                f"cannot load TorchScript file {path}: {exc}. If the file is truncated or "
                "corrupt, export it again: voicesafety export CHECKPOINT --to torchscript "
                "--out DIR"
            ) from exc
        return cls(module, device, input_names, threads=threads)

    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> torch.Tensor:
        """Logits as a float32 tensor on this backend's device."""
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise BackendError(f"TorchScript model needs inputs {missing}")
        tensors = [to_tensor(inputs[n], self.device) for n in self.input_names]
        with torch_threads(self.threads), torch.inference_mode():
            try:
                return self.module(*tensors).float()
            except RuntimeError as exc:
                if "same device" not in str(exc):
                    raise
                raise BackendError(
                    f"this TorchScript model was traced on another device than {self.device} "
                    "(a trace keeps the device of tensors the model makes as it runs, so it "
                    "runs only where it was traced): on this device load the original "
                    "checkpoint with backend='torch' or 'onnx'"
                ) from exc
