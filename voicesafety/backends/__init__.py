"""Backends: one small interface (:class:`Backend`), one module per runtime.

- :mod:`.torch`: PyTorch eager, the reference (a loaded ``tensors -> logits`` module);
- :mod:`.torchscript`: a traced TorchScript file;
- :mod:`.onnx`: ONNX Runtime, fp32 and int8 files.

This package only runs models. It knows nothing of checkpoints, the hub or conversion: which
backend runs what (and converting a checkpoint on demand) is decided by
:mod:`voicesafety.loading`; writing the files is :mod:`voicesafety.export`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..arrays import to_numpy
from ..errors import BackendError
from .base import PRECISIONS, TRUST_ENV, Backend, check_precision, trusts_code
from .threads import resolve_threads

BACKENDS = ("torch", "torchscript", "onnx", "onnx-int8")

__all__ = ["BACKENDS", "PRECISIONS", "TRUST_ENV", "Backend", "check_precision", "open_file",
           "resolve_device", "resolve_threads", "to_numpy", "trusts_code"]


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


def open_file(path: Path, backend: str, device: str, input_names: Sequence[str], *,
              trust_code: bool = False, threads: int | None = None) -> Backend:
    """A backend running a converted model file (``torchscript``, ``onnx`` or ``onnx-int8``).

    ``trust_code``: a TorchScript file runs code when loaded and is refused without it
    (:class:`~voicesafety.errors.UntrustedCodeError`); ONNX files run no code of their own.
    ``threads``: CPU threads (None: :func:`.threads.resolve_threads`'s default).
    """
    if backend == "torchscript":
        from .torchscript import TorchScriptBackend  # imports torch: only when it runs

        return TorchScriptBackend.from_file(path, device, input_names, trust=trust_code,
                                            threads=threads)
    if backend not in ("onnx", "onnx-int8"):
        raise BackendError(f"no file backend {backend!r}; choose torchscript, onnx, onnx-int8")
    from .onnx import OnnxBackend, OnnxInt8Backend

    cls = OnnxInt8Backend if backend == "onnx-int8" else OnnxBackend
    return cls(path, device, threads=threads)
