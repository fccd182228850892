"""The backend interface: a compiled model that maps input arrays to logits."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

from ..arrays import ArrayOrTensor

#: Set to ``1`` to trust TorchScript files without ``trust_code=True`` (for the command line).
TRUST_ENV = "VOICESAFETY_TRUST_CODE"


def trusts_code(trust_code: bool | None) -> bool:
    """The caller's ``trust_code``, or for None whether ``$VOICESAFETY_TRUST_CODE`` is ``1``."""
    if trust_code is None:
        return os.environ.get(TRUST_ENV, "").strip() == "1"
    return bool(trust_code)


class Backend(ABC):
    """Runs one model on one device.

    ``run`` takes the model's inputs by name (``input_values`` for audio; ``input_ids`` and
    ``attention_mask`` for text) as numpy arrays or torch tensors and returns logits
    ``[batch, labels]`` as a numpy array or a torch tensor
    (:func:`voicesafety.arrays.to_numpy` makes either numpy).
    """

    name: ClassVar[str]

    def __init__(self, device: str) -> None:
        self.device = device

    @abstractmethod
    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> ArrayOrTensor:
        """Logits for one batch."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r})"
