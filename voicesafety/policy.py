"""Threshold policies: how scores become flags."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import PolicyError


class ThresholdPolicy(BaseModel):
    """Per-label thresholds that turn scores into flags.

    A label is flagged when its score is ≥ its threshold (``thresholds[label]``, else
    ``default``). A clip or text is flagged when any toxic label is flagged (``rule="any"``).
    Negative labels (``NoViolation``, ``neutral``...) are never flagged, whatever the policy.

    Example:
        >>> policy = ThresholdPolicy(thresholds={"Profanity": 0.7}, default=0.5)
        >>> policy.flags({"Profanity": 0.8, "Sexual": 0.2}, toxic_labels=["Profanity", "Sexual"])
        ['Profanity']
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    thresholds: dict[str, float] = Field(default_factory=dict)
    default: float = 0.5
    rule: Literal["any"] = "any"

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"thresholds must lie in [0, 1]; got {bad}")
        return value

    @field_validator("default")
    @classmethod
    def _default_in_range(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"default threshold must lie in [0, 1]; got {value}")
        return value

    def threshold(self, label: str) -> float:
        """The threshold that applies to ``label``."""
        return self.thresholds.get(label, self.default)

    def flags(self, scores: Mapping[str, float], toxic_labels: Iterable[str]) -> list[str]:
        """Toxic labels whose score reaches their threshold, in the model's label order."""
        return [
            label
            for label in toxic_labels
            if label in scores and scores[label] >= self.threshold(label)
        ]

    def check_labels(self, labels: Iterable[str]) -> ThresholdPolicy:
        """Raise :class:`PolicyError` if the policy names labels the model does not have."""
        known = set(labels)
        unknown = sorted(set(self.thresholds) - known)
        if unknown:
            raise PolicyError(
                f"policy has thresholds for labels the model does not know: {unknown}. "
                f"The model's labels are {sorted(known)}; rename or drop those entries."
            )
        return self

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise to JSON; also write it to ``path`` when given."""
        text = self.model_dump_json(indent=2)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> ThresholdPolicy:
        """Load a policy from a JSON string or from the path of a JSON file."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            path = Path(source)
            if not path.is_file():
                raise PolicyError(f"threshold policy file not found: {path}")
            text = path.read_text(encoding="utf-8")
        try:
            return cls.model_validate(json.loads(text))
        except (json.JSONDecodeError, ValueError) as exc:
            raise PolicyError(f"invalid threshold policy: {exc}") from exc

    @classmethod
    def coerce(cls, policy: ThresholdPolicy | str | Path | Mapping | None) -> ThresholdPolicy | None:
        """Accept a policy, a path to its JSON, a JSON string, a dict, or None."""
        if policy is None or isinstance(policy, ThresholdPolicy):
            return policy
        if isinstance(policy, Mapping):
            try:
                return cls.model_validate(dict(policy))
            except ValueError as exc:
                raise PolicyError(f"invalid threshold policy: {exc}") from exc
        if isinstance(policy, (str, Path)):
            return cls.from_json(policy)
        raise PolicyError(
            f"policy must be a ThresholdPolicy, a dict, or a path to its JSON; got {type(policy)}"
        )
