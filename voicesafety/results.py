"""Typed results (pydantic v2, frozen)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .policy import ThresholdPolicy


class ModelInfo(BaseModel):
    """Which model produced a result, on which backend and device."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    name: str
    backend: str
    device: str
    trained: bool = True


class WindowScore(BaseModel):
    """Scores of one analysis window of an audio clip (``start``/``end`` in seconds)."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    scores: dict[str, float]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())

    ok: Literal[True] = True

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python version (JSON-compatible)."""
        return self.model_dump(mode="json")


class AudioResult(_Result):
    """Scores for one audio input.

    ``scores`` holds, per label, the maximum over windows; ``windows`` the per-window scores;
    ``flags`` the toxic labels at or over their threshold under ``policy``; ``toxicity`` the
    maximum score over toxic labels (0 when the model has none).
    """

    source: str
    duration: float
    scores: dict[str, float]
    windows: list[WindowScore]
    flags: list[str]
    flagged: bool
    toxicity: float
    policy: ThresholdPolicy
    model: ModelInfo


class TextResult(_Result):
    """Scores for one text; ``truncated`` is true when the text was cut at the model's limit."""

    text: str
    scores: dict[str, float]
    flags: list[str]
    flagged: bool
    toxicity: float
    truncated: bool = False
    num_tokens: int = 0
    policy: ThresholdPolicy
    model: ModelInfo


class ErrorResult(BaseModel):
    """Stands in for an input that failed, when scoring with ``errors="return"``."""

    model_config = ConfigDict(frozen=True)

    ok: Literal[False] = False
    index: int
    source: str
    error: str
    message: str
    flagged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python version (JSON-compatible)."""
        return self.model_dump(mode="json")
