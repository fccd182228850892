"""Backends: one small interface (:class:`Backend`), one module per runtime.

:func:`create` builds the backend a user asked for from a loaded torch module (converting it
on demand, with a parity check and a cache, see :mod:`voicesafety.export`) or from an
exported model file.

``backend="auto"`` never converts anything: it runs the fastest form already on disk for the
device. An exported folder or file runs on its own backend; a torch checkpoint runs on torch.
Ask for ``"onnx-int8"`` (fastest on CPU) or ``"onnx"`` explicitly to convert once and cache.
"""

from __future__ import annotations

from typing import Any

from ..arrays import to_numpy
from ..errors import BackendError
from .base import Backend

BACKENDS = ("torch", "torchscript", "onnx", "onnx-int8")

__all__ = ["BACKENDS", "Backend", "backend_from_file", "create", "pick_auto", "resolve_device",
           "to_numpy"]

#: Fastest first, per device kind (measured; see docs/backends.md).
SPEED_ORDER = {
    "cpu": ("onnx-int8", "onnx", "torchscript", "torch"),
    "cuda": ("onnx", "torchscript", "torch", "onnx-int8"),
}


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


def pick_auto(available: tuple[str, ...], device: str) -> str:
    """The fastest of ``available`` backends on ``device``."""
    order = SPEED_ORDER["cuda" if device.startswith("cuda") else "cpu"]
    return min(available, key=lambda b: order.index(b) if b in order else len(order))


def backend_from_file(model: Any, device: str) -> Backend:
    """A backend for an :class:`~voicesafety.export.ExportedModel` (a converted model file)."""
    if model.backend == "torchscript":
        from .torchscript import TorchScriptBackend

        return TorchScriptBackend.from_file(model.path, device, model.input_names)
    from .onnx import OnnxBackend, OnnxInt8Backend

    cls = OnnxInt8Backend if model.backend == "onnx-int8" else OnnxBackend
    return cls(model.path, device)


def create(module: Any, spec: Any, backend: str, device: str, tokenizer: Any = None) -> Backend:
    """Build ``backend`` on ``device``.

    ``module`` is a loaded ``tensors -> logits`` torch module (any backend; non-torch ones are
    converted on demand and cached) or an :class:`~voicesafety.export.ExportedModel` (its
    own backend only).
    """
    from ..export import ExportedModel, cached_export

    name = (backend or "auto").lower()
    if name not in BACKENDS + ("auto",):
        choices = ", ".join(BACKENDS)
        raise BackendError(f"unknown backend {backend!r}; choose one of {choices}, auto")
    if isinstance(module, ExportedModel):
        if name not in ("auto", module.backend):
            raise BackendError(
                f"{module.path} is a {module.backend} export and can only run on backend "
                f"{module.backend!r} (or 'auto'); to get {name!r}, export the original "
                f"checkpoint: voicesafety export CHECKPOINT --to {name} --out DIR"
            )
        return backend_from_file(module, device)
    if name == "auto":
        name = "torch"
    if name == "torch":
        from .torch import TorchBackend

        return TorchBackend(module, device)
    return backend_from_file(cached_export(module, spec, tokenizer, name), device)
