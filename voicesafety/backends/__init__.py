"""Backends: one small interface (:class:`Backend`), one module per runtime.

:func:`create` builds the backend a user asked for from a loaded torch module.
"""

from __future__ import annotations

from typing import Any

from ..errors import BackendError
from .base import Backend, to_numpy

BACKENDS = ("torch", "torchscript", "onnx", "onnx-int8")

__all__ = ["BACKENDS", "Backend", "create", "resolve_device", "to_numpy"]


def resolve_device(device: str | None) -> str:
    """Turn ``"auto"``/``"cpu"``/``"cuda"``/``"cuda:N"`` into a device that exists here."""
    import torch

    name = (device or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise BackendError(
                f"device={device!r} was asked for but torch sees no CUDA GPU "
                f"(torch {torch.__version__}). Use device='cpu' or 'auto', or install a CUDA "
                "build of torch."
            )
        if ":" in name:
            index = name.split(":", 1)[1]
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise BackendError(
                    f"device={device!r} does not exist; this machine has "
                    f"{torch.cuda.device_count()} CUDA device(s)"
                )
        return name
    raise BackendError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")


def create(module: Any, spec: Any, backend: str, device: str) -> Backend:
    """Build ``backend`` on ``device`` for a loaded ``tensors -> logits`` torch module."""
    name = (backend or "auto").lower()
    if name not in BACKENDS + ("auto",):
        raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}, auto")
    if name in ("auto", "torch"):
        from .torch import TorchBackend

        return TorchBackend(module, device)
    raise BackendError(f"backend {backend!r} is not available in this version; use 'torch'")
