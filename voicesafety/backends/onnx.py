"""ONNX Runtime backends: ``onnx`` (fp32) and ``onnx-int8`` (quantised weights).

On ``cuda`` devices the session uses ``CUDAExecutionProvider`` (install the ``gpu`` extra,
``onnxruntime-gpu``); on ``cpu`` the ``CPUExecutionProvider`` with full graph optimisation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from ..arrays import ArrayOrTensor, to_numpy
from ..errors import BackendError
from .base import Backend

if TYPE_CHECKING:
    import onnxruntime as ort

#: An ONNX Runtime execution provider: a name, or a name and its options.
Provider = Union[str, tuple[str, dict[str, object]]]  # noqa: UP007 - a runtime alias, py3.10

_DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """ORT session options used by voicesafety: all graph optimisations, sequential execution.

    ``threads`` defaults to ``$VOICESAFETY_THREADS`` or ORT's own choice (one per core).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    env = os.environ.get("VOICESAFETY_THREADS")
    threads = threads if threads is not None else (int(env) if env and env.isdigit() else None)
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return opts


def providers_for(device: str) -> list[Provider]:
    """ONNX Runtime execution providers for a voicesafety device string."""
    import onnxruntime as ort

    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise BackendError(
                f"device={device!r} with an ONNX backend needs ONNX Runtime's "
                "CUDAExecutionProvider, which this onnxruntime build lacks (it has "
                f"{', '.join(ort.get_available_providers())}). Install the GPU build: "
                "pip install 'voicesafety[gpu]' (onnxruntime-gpu), or use device='cpu'."
            )
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxBackend(Backend):
    """Runs an ONNX model with ONNX Runtime. Returns float32 numpy logits."""

    name = "onnx"

    def __init__(self, path: str | Path, device: str, *, threads: int | None = None) -> None:
        super().__init__(device)
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
            raise BackendError("ONNX backends need onnxruntime: pip install onnxruntime") from exc
        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(
                str(self.path), session_options(threads), providers=providers_for(device)
            )
        except BackendError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types
            raise BackendError(f"cannot load ONNX model {self.path}: {exc}") from exc
        self.inputs = {i.name: _DTYPES.get(i.type, np.float32) for i in self.session.get_inputs()}
        self.output = self.session.get_outputs()[0].name

    @property
    def metadata(self) -> dict[str, str]:
        """The model's custom metadata (voicesafety stores its manifest there)."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> np.ndarray:
        """Logits ``[batch, labels]`` as float32 numpy."""
        feeds = {}
        for name, dtype in self.inputs.items():
            if name not in inputs:
                raise BackendError(f"ONNX model {self.path.name} needs input {name!r}")
            feeds[name] = np.ascontiguousarray(to_numpy(inputs[name]), dtype=dtype)
        return self.session.run([self.output], feeds)[0].astype(np.float32, copy=False)


class OnnxInt8Backend(OnnxBackend):
    """An ONNX model whose weights were quantised to int8 (written by :mod:`voicesafety.export`)."""

    name = "onnx-int8"
