"""Typed results (pydantic v2, frozen), with their notebook display and plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict

from .display import (
    audio_result_html,
    plot_audio,
    plot_results,
    plot_text,
    result_list_html,
    text_result_html,
    text_summary,
    text_table,
)
from .policy import ThresholdPolicy

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class ModelInfo(BaseModel):
    """Which model produced a result, on which backend and device."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    name: str
    backend: str
    device: str
    trained: bool = True
    precision: str = "float32"


class WindowScore(BaseModel):
    """Scores of one analysis window of an audio clip (``start``/``end`` in seconds)."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    scores: dict[str, float]


class SpeechRegion(BaseModel):
    """A stretch of speech found by voice activity detection (seconds, padded)."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())

    ok: Literal[True] = True

    def to_dict(self) -> dict[str, object]:
        """Plain-Python version (JSON-compatible)."""
        return self.model_dump(mode="json")

    def summary(self) -> str:
        """A few readable lines: flags, rounded scores and (audio) windows; what ``print``
        shows. ``repr`` keeps every field."""
        return text_summary(self)  # type: ignore[arg-type]  # a result is a display Row

    def __str__(self) -> str:
        return self.summary()


class AudioResult(_Result):
    """Scores for one audio input.

    ``scores`` holds, per label, the maximum over windows; ``windows`` the per-window scores;
    ``flags`` the toxic labels at or over their threshold under ``policy``; ``toxicity`` the
    maximum score over toxic labels (0 when the model has none).

    ``too_short`` is true for a clip shorter than the shortest input the model can score
    (0.25 s for the embedded model, 25 ms for WavLM): it is not run through the model, and
    gets no windows, toxicity 0 and no flags (see docs/audio.md).

    ``speech`` and ``speech_seconds`` are set when scoring with ``vad=True``: the speech
    regions found (seconds in the original clip) and their total length; only speech was
    scored. A clip with no speech gets ``speech=[]``, no windows, the scores of "nothing
    here" (toxicity 0) and no flags. Both are None without VAD.
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
    too_short: bool = False
    speech: list[SpeechRegion] | None = None
    speech_seconds: float | None = None

    def _repr_html_(self) -> str:
        return audio_result_html(self)

    def plot(self, ax: Axes | None = None, labels: list[str] | None = None) -> Axes:
        """Timeline of per-window scores (matplotlib; ``pip install "voicesafety[plot]"``).

        Draws on ``ax`` when given, else on a new figure; returns the Axes.
        """
        return plot_audio(self, ax=ax, labels=labels)


class StreamEvent(BaseModel):
    """Scores of one window of a live stream (``clf.stream``): a VAD-gated utterance, or a
    rolling window of long speech.

    ``start``/``end`` are seconds of stream time (samples pushed so far, at the input rate);
    ``latency`` is the wall-clock seconds from the ``push`` that completed the window to its
    scores; ``stream`` the session's name, if it was given one.
    """

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    start: float
    end: float
    scores: dict[str, float]
    flags: list[str]
    flagged: bool
    toxicity: float
    latency: float
    stream: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain-Python version (JSON-compatible)."""
        return self.model_dump(mode="json")


class TextResult(_Result):
    """Scores for one text; ``truncated`` is true when the text was cut at the model's limit
    (an LLM judge cuts a long text in its middle, see docs/judge.md); ``explanation`` is the
    judge's own answer when asked for with ``explain=True`` (None otherwise)."""

    text: str
    scores: dict[str, float]
    flags: list[str]
    flagged: bool
    toxicity: float
    truncated: bool = False
    num_tokens: int = 0
    policy: ThresholdPolicy
    model: ModelInfo
    explanation: str | None = None

    def _repr_html_(self) -> str:
        return text_result_html(self)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Bar chart of the scores with thresholds marked (matplotlib; the ``plot`` extra)."""
        return plot_text(self, ax=ax)


class CascadeResult(TextResult):
    """A cascade's verdict on one text (see :class:`voicesafety.cascade.Cascade`), with both
    opinions: ``fast`` (always) and ``judge`` (None when the judge was not asked).

    ``scores`` has the one label ``toxic``; ``toxicity`` is the judge's P(toxic) when it was
    asked, else the fast model's toxicity; ``flagged``, ``flags`` and ``policy`` follow the
    same opinion (flagged under that model's own thresholds).
    """

    fast: TextResult
    judge: TextResult | None = None

    @property
    def asked_judge(self) -> bool:
        """Whether the judge gave its opinion on this text."""
        return self.judge is not None


class ErrorResult(BaseModel):
    """Stands in for an input that failed, when scoring with ``errors="return"``."""

    model_config = ConfigDict(frozen=True)

    ok: Literal[False] = False
    index: int
    source: str
    error: str
    message: str
    flagged: bool = False

    def to_dict(self) -> dict[str, object]:
        """Plain-Python version (JSON-compatible)."""
        return self.model_dump(mode="json")

    def summary(self) -> str:
        """One readable line: which input failed, and why."""
        return text_summary(self)

    def __str__(self) -> str:
        return self.summary()


R = TypeVar("R", bound=AudioResult | TextResult | ErrorResult)


class ResultList(list[R]):
    """A list of results (what ``score``/``score_text`` return for a list input).

    A plain ``list`` in every way, plus a compact HTML table in notebooks and :meth:`plot`.
    """

    def _repr_html_(self) -> str:
        return result_list_html(self)

    def summary(self) -> str:
        """A readable table, one row per result (see :func:`format_table`)."""
        return format_table(self)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax: Axes | None = None) -> Axes:
        """Heat map of items × labels (matplotlib; ``pip install "voicesafety[plot]"``)."""
        return plot_results(self, ax=ax)


Result = Union[AudioResult, TextResult, ErrorResult]  # noqa: UP007 - a runtime alias, py3.10


def format_table(
    results: Result | Sequence[Result], *, names: Sequence[str] | None = None, top: int = 3,
) -> str:
    """A readable plain-text table of results: one row per result, with the input (clip or
    text), length (audio), toxicity, flags and the ``top`` scores rounded to 2 decimals;
    failed inputs show their error. Notes under the table say when clips were too short,
    texts truncated, or the model untrained. ``print(result_list)`` prints the same.

    Args:
        results: one result or a sequence of them (audio, text and errors may be mixed).
        names: what to call each input instead of its source or text (e.g. file names).
        top: how many of the highest scores to show per row.

    Example:
        >>> import voicesafety as vs
        >>> clf = vs.Classifier.from_pretrained()                            # doctest: +SKIP
        >>> print(vs.format_table(clf.score_text(["gg", "you are trash"])))  # doctest: +SKIP
    """
    rows = [results] if isinstance(results, (_Result, ErrorResult)) else list(results)
    return text_table(rows, names=names, top=top)
