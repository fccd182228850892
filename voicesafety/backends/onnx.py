"""ONNX Runtime backends: ``onnx`` (fp32) and ``onnx-int8`` (quantised weights).

On ``cuda`` devices the session uses ``CUDAExecutionProvider`` (install the ``gpu`` extra,
``onnxruntime-gpu``); on ``cpu`` the ``CPUExecutionProvider`` with full graph optimisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from ..arrays import ArrayOrTensor, to_numpy
from ..errors import BackendError
from .base import Backend
from .threads import resolve_threads

if TYPE_CHECKING:
    import onnxruntime as ort

#: An ONNX Runtime execution provider: a name, or a name and its options.
Provider = Union[str, tuple[str, dict[str, object]]]  # noqa: UP007 - a runtime alias, py3.10

_DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """ORT session options used by voicesafety: all graph optimisations, sequential execution.

    ``threads``: intra-op threads; None for :func:`~.threads.resolve_threads`'s default
    (``$VOICESAFETY_THREADS``, else the CPUs not already busy).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = resolve_threads(threads)
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
            raise BackendError(
                f"cannot load ONNX model {self.path}: {exc}. If the file is truncated or "
                "corrupt, export it again: voicesafety export CHECKPOINT --to onnx --out DIR"
            ) from exc
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
    """An ONNX model whose weights were quantised to int8 (written by :mod:`voicesafety.export`).

    Its activations are quantised on the fly with one scale per tensor, computed over the
    whole batch (``DynamicQuantizeLinear``), so run as one batch an item's scores would depend
    on its neighbours (and on padding). :meth:`run` therefore runs each item alone, without
    its padding: an item's scores are the same bits whatever else is in the call. The cost
    is measured in docs/backends.md ("Batch independence").
    """

    name = "onnx-int8"

    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> np.ndarray:
        """Logits ``[batch, labels]``: each row computed alone (padding trimmed)."""
        arrays = {name: to_numpy(value) for name, value in inputs.items()}
        n = len(next(iter(arrays.values())))
        if n <= 1 and "attention_mask" not in arrays:
            return super().run(arrays)
        rows = []
        for i in range(n):
            item = {name: a[i:i + 1] for name, a in arrays.items()}
            mask = item.get("attention_mask")
            if mask is not None and mask.ndim == 2:
                # right padding (voicesafety.text.pad_batch): keep up to the last real token
                width = int(np.flatnonzero(mask[0])[-1]) + 1 if mask[0].any() else 1
                item = {name: a[:, :width] if a.ndim == 2 else a for name, a in item.items()}
            rows.append(super().run(item))
        return np.concatenate(rows, axis=0)
