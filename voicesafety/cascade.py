"""A fast model first, an LLM judge second: :class:`Cascade`.

The fast model scores every text; the judge (slow, large) is asked only about the texts the
fast model flags or is unsure of (toxicity inside ``band``). Each result carries both opinions
(:class:`~voicesafety.results.CascadeResult`); its verdict is the judge's when the judge was
asked, else the fast model's. A cascade has ``score_text`` itself, so it serves wherever a
text scorer does: as a teacher for labelling and distillation, in ``evaluate``, or as the fast
or the slow stage of another cascade.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, overload

from .errors import InvalidInputError
from .results import CascadeResult, ModelInfo, ResultList, TextResult
from .text import check_texts

#: The one label a cascade reports (its judge's).
LABEL = "toxic"


class TextScorer(Protocol):
    """Anything with ``score_text(list[str]) -> list[TextResult]`` (a Classifier, a Cascade)."""

    def score_text(self, text: list[str], *, batch_size: int | None = ...,
                   progress: bool | None = ...) -> list[TextResult]: ...


class Cascade:
    """Ask ``judge`` only about what ``fast`` flags or is unsure of.

    Args:
        fast: the first opinion on every text (e.g. ``Classifier.from_pretrained()``).
        judge: the second opinion (e.g. an LLM judge loaded with ``from_pretrained``).
        band: ``(low, high)``: a text whose fast toxicity lies in ``[low, high]`` goes to the
            judge, and so does every text the fast model flags. ``None``: flagged texts only.

    Example:
        >>> fast = vs.Classifier.from_pretrained()                           # doctest: +SKIP
        >>> judge = vs.Classifier.from_pretrained("grounded-ai/phi3-toxicity-judge")  # +SKIP
        >>> cascade = vs.Cascade(fast, judge, band=(0.3, 0.7))               # doctest: +SKIP
        >>> r = cascade.score_text("you are trash")                          # doctest: +SKIP
        >>> r.fast.toxicity, r.judge.toxicity if r.judge else None           # doctest: +SKIP
    """

    def __init__(self, fast: TextScorer, judge: TextScorer,
                 band: tuple[float, float] | None = (0.3, 0.7)) -> None:
        if band is not None:
            if len(band) != 2 or not 0.0 <= band[0] <= band[1] <= 1.0:
                raise InvalidInputError(
                    f"band must be (low, high) with 0 <= low <= high <= 1, got {band!r}")
            band = (float(band[0]), float(band[1]))
        for name, scorer in (("fast", fast), ("judge", judge)):
            if not callable(getattr(scorer, "score_text", None)):
                raise InvalidInputError(
                    f"{name} must have score_text (a Classifier or a Cascade), got "
                    f"{type(scorer).__name__}")
        self.fast = fast
        self.judge = judge
        self.band = band
        self.name = f"cascade({_name(fast)} -> {_name(judge)})"

    @property
    def labels(self) -> list[str]:
        """``["toxic"]``: a cascade reports one score."""
        return [LABEL]

    text_labels = labels
    toxic_labels = labels

    def needs_judge(self, result: TextResult) -> bool:
        """Whether the judge is asked about a text, given the fast model's result."""
        if result.flagged:
            return True
        return self.band is not None and self.band[0] <= result.toxicity <= self.band[1]

    @overload
    def score_text(self, text: str, *, batch_size: int | None = ...,
                   progress: bool | None = ...) -> CascadeResult: ...

    @overload
    def score_text(self, text: list[str], *, batch_size: int | None = ...,
                   progress: bool | None = ...) -> list[CascadeResult]: ...

    def score_text(self, text: str | list[str], *, batch_size: int | None = None,
                   progress: bool | None = None) -> CascadeResult | list[CascadeResult]:
        """Score with the fast model; ask the judge about the flagged and unsure texts.

        Returns :class:`CascadeResult` (one str) or a list of them, in input order: the
        verdict (``toxicity``, ``scores["toxic"]``, ``flagged`` under that model's own
        thresholds, ``policy``) is the judge's where it was asked, else the fast model's;
        ``.fast`` and ``.judge`` keep both opinions.
        """
        texts, single = check_texts(text)
        if not texts:
            return ResultList()
        fast = list(self.fast.score_text(texts, batch_size=batch_size, progress=progress))
        asked = [i for i, r in enumerate(fast) if self.needs_judge(r)]
        judged: dict[int, TextResult] = {}
        if asked:
            second = self.judge.score_text([texts[i] for i in asked], batch_size=batch_size,
                                           progress=progress)
            judged = dict(zip(asked, second, strict=True))
        results = [self._combine(t, f, judged.get(i))
                   for i, (t, f) in enumerate(zip(texts, fast, strict=True))]
        return results[0] if single else ResultList(results)

    def _combine(self, text: str, fast: TextResult, judge: TextResult | None) -> CascadeResult:
        deciding = judge if judge is not None else fast
        flagged = deciding.flagged  # under the deciding model's own thresholds
        return CascadeResult(
            text=text, scores={LABEL: float(deciding.toxicity)},
            flags=[LABEL] if flagged else [], flagged=flagged, toxicity=deciding.toxicity,
            truncated=fast.truncated or bool(judge and judge.truncated),
            num_tokens=fast.num_tokens, policy=deciding.policy,
            model=ModelInfo(name=self.name, backend=fast.model.backend,
                            device=fast.model.device),
            explanation=judge.explanation if judge is not None else None,
            fast=fast, judge=judge,
        )

    def __repr__(self) -> str:
        return f"Cascade({_name(self.fast)!r}, {_name(self.judge)!r}, band={self.band})"


def _name(scorer: object) -> str:
    return str(getattr(scorer, "name", type(scorer).__name__))


def judged_fraction(results: Sequence[CascadeResult]) -> float:
    """The share of texts the judge was asked about."""
    return sum(r.asked_judge for r in results) / len(results) if results else 0.0
