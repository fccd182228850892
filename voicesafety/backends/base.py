"""The backend interface: a compiled model that maps input arrays to logits."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

from ..arrays import ArrayOrTensor
from ..errors import BackendError

#: ``precision=`` values. Reduced precision runs on CUDA only: there it uses the tensor cores
#: (benchmarks/results/gpu.md); on CPU the fast path is ONNX (int8), not a narrower float.
PRECISIONS = ("float32", "float16", "bfloat16")

#: Set to ``1`` to trust TorchScript files without ``trust_code=True`` (for the command line).
TRUST_ENV = "VOICESAFETY_TRUST_CODE"


def trusts_code(trust_code: bool | None) -> bool:
    """The caller's ``trust_code``, or for None whether ``$VOICESAFETY_TRUST_CODE`` is ``1``."""
    if trust_code is None:
        return os.environ.get(TRUST_ENV, "").strip() == "1"
    return bool(trust_code)


def check_precision(precision: str, device: str, backend: str) -> str:
    """``precision`` if it can run on ``device`` with ``backend`` (``"auto"`` is torch on
    CUDA); else a :class:`BackendError` that says what to do."""
    if precision not in PRECISIONS:
        raise BackendError(f"unknown precision {precision!r}; choose one of "
                           f"{', '.join(PRECISIONS)}")
    if precision == "float32":
        return precision
    if not device.startswith("cuda"):
        raise BackendError(
            f"precision={precision!r} runs on CUDA only (device='cuda'); on CPU leave it at "
            "'float32' and use backend='auto' (or 'onnx-int8') for speed")
    if backend not in ("torch", "auto"):
        raise BackendError(
            f"precision={precision!r} is for backend='torch' (or 'auto', which is torch on "
            f"CUDA); {backend!r} runs an exported float32 graph: use backend='torch'")
    return precision


class Backend(ABC):
    """Runs one model on one device.

    ``run`` takes the model's inputs by name (``input_values`` for audio; ``input_ids`` and
    ``attention_mask`` for text) as numpy arrays or torch tensors and returns logits
    ``[batch, labels]`` as a numpy array or a torch tensor
    (:func:`voicesafety.arrays.to_numpy` makes either numpy).
    """

    name: ClassVar[str]
    #: dtype the model computes in (``"float32"``; :class:`~.torch.TorchBackend` on CUDA may
    #: run ``"float16"``/``"bfloat16"``), reported in :class:`~voicesafety.results.ModelInfo`.
    precision: str = "float32"

    def __init__(self, device: str) -> None:
        self.device = device

    @abstractmethod
    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> ArrayOrTensor:
        """Logits for one batch."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r})"
