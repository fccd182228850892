"""From logits to scores, flags and toxicity: the one copy of the activations (numpy and torch)
and of the per-item aggregation, shared by the audio and text paths, parity checks and the
differentiable path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .policy import ThresholdPolicy
from .registry import Activation

if TYPE_CHECKING:
    import torch


def activate(logits: np.ndarray, activation: Activation) -> np.ndarray:
    """Probabilities in [0, 1]: elementwise sigmoid, or softmax over the last axis."""
    x = np.asarray(logits, dtype=np.float32)
    if activation == "softmax":
        shifted = x - x.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=-1, keepdims=True)
    # Written with exp of a non-positive number only, so it never overflows.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)


def activate_torch(logits: torch.Tensor, activation: Activation) -> torch.Tensor:
    """:func:`activate` in torch (same device and dtype, differentiable)."""
    return logits.softmax(dim=-1) if activation == "softmax" else logits.sigmoid()


def aggregate(
    row: np.ndarray, labels: Sequence[str], toxic_labels: Sequence[str], policy: ThresholdPolicy
) -> tuple[dict[str, float], list[str], float]:
    """Scores dict, flagged toxic labels, and toxicity (max toxic score) for one item."""
    scores = {label: float(v) for label, v in zip(labels, row)}
    flags = policy.flags(scores, toxic_labels)
    toxicity = max((scores[label] for label in toxic_labels), default=0.0)
    return scores, flags, float(toxicity)
