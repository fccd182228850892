"""numpy arrays from numpy arrays and torch tensors: the one place a tensor becomes an array.

torch is not imported here at module level: a tensor is recognised by its type, so code that
only ever sees numpy never pays for importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard, Union

import numpy as np
from numpy.typing import DTypeLike

if TYPE_CHECKING:
    import torch

ArrayOrTensor = Union[np.ndarray, "torch.Tensor"]  # noqa: UP007 - a runtime alias, py3.10
"""A numpy array or a torch tensor (on any device)."""


def is_tensor(value: object) -> TypeGuard[torch.Tensor]:
    """Whether ``value`` is a torch tensor (checked without importing torch)."""
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def to_numpy(value: ArrayOrTensor, dtype: DTypeLike | None = None) -> np.ndarray:
    """A numpy array of ``value`` (a tensor is detached and copied to the CPU).

    ``dtype`` None keeps the dtype, except for floating tensor types numpy lacks (bfloat16,
    float8), which become float32.
    """
    if isinstance(value, np.ndarray):
        array = value
    else:
        import torch

        tensor = value.detach()
        if tensor.dtype.is_floating_point and tensor.dtype not in (
            torch.float16, torch.float32, torch.float64
        ):
            tensor = tensor.float()
        array = tensor.cpu().numpy()
    return array if dtype is None else array.astype(dtype, copy=False)
