"""The backend interface: a compiled model that maps input arrays to logits."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

from ..arrays import ArrayOrTensor


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
