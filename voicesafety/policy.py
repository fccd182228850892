"""Threshold policies: how scores become flags (per-label thresholds, JSON, calibration)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .calibration import threshold_at_fpr
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

    def __init__(self, **data: object) -> None:
        # A user's mistake (a threshold of 1.5, a label passed as a keyword) is a PolicyError
        # that says what to write, not pydantic's ValidationError.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise PolicyError(_explain(exc, data)) from None

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(
                f"thresholds are probabilities and must lie in [0, 1]; got {bad}. Scores are "
                "in [0, 1], so e.g. 0.9 flags a label at 90% confidence"
            )
        return value

    @field_validator("default")
    @classmethod
    def _default_in_range(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"default threshold must lie in [0, 1]; got {value}")
        return value

    def updated(self, update: ThresholdPolicy) -> ThresholdPolicy:
        """This policy with ``update``'s thresholds laid over it.

        Labels ``update`` does not name keep their threshold here; ``default`` and ``rule``
        change only when ``update`` sets them explicitly.

        Example:
            >>> base = ThresholdPolicy(thresholds={"Profanity": 0.99, "Sexual": 0.9})
            >>> base.updated(ThresholdPolicy(thresholds={"Sexual": 0.5})).thresholds
            {'Profanity': 0.99, 'Sexual': 0.5}
        """
        data: dict[str, object] = {
            "thresholds": {**self.thresholds, **update.thresholds},
            "default": update.default if "default" in update.model_fields_set else self.default,
            "rule": update.rule if "rule" in update.model_fields_set else self.rule,
        }
        return ThresholdPolicy(**data)

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
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"invalid threshold policy: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise PolicyError(
                f"invalid threshold policy: expected a JSON object, got {type(data).__name__}"
            )
        return cls(**{str(k): v for k, v in data.items()})

    @classmethod
    def calibrate(
        cls,
        scores: ArrayLike,
        y_true: ArrayLike,
        labels: Iterable[str],
        target_fpr: float = 0.01,
        *,
        default: float = 0.5,
    ) -> ThresholdPolicy:
        """Per-label thresholds that keep the false-positive rate ≤ ``target_fpr`` on this data.

        Roblox chose the v2 thresholds this way, at 1% FPR. For each label the lowest
        threshold (hence the highest recall) meeting the target is picked, with scikit-learn's
        ``roc_curve`` (``pip install "voicesafety[eval]"``). Labels that no clean item has
        keep ``default``.

        Args:
            scores: array-like ``[n_items, n_labels]`` of scores in [0, 1].
            y_true: array-like ``[n_items, n_labels]`` of 0/1 (or bool): whether each item
                carries each label.
            labels: the label name of each column.
            target_fpr: the false-positive rate to stay at or under, per label.
            default: threshold for labels not calibrated.

        Example:
            >>> ThresholdPolicy.calibrate([[0.9], [0.2], [0.4]], [[1], [0], [0]], ["Profanity"],
            ...                           target_fpr=0.0).thresholds["Profanity"]
            0.9
        """
        names = list(labels)
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(y_true)
        if s.ndim == 1 and len(names) == 1:
            s, y = s.reshape(-1, 1), y.reshape(-1, 1)
        if s.ndim != 2 or s.shape != y.shape or s.shape[1] != len(names):
            raise PolicyError(
                f"scores {s.shape} and y_true {y.shape} must both be [n_items, {len(names)}] "
                f"(one column per label of {names})"
            )
        thresholds = {}
        for j, label in enumerate(names):
            point = threshold_at_fpr(y[:, j], s[:, j], target_fpr)
            if point is not None:
                thresholds[label] = point.threshold
        return cls(thresholds=thresholds, default=default)

    @classmethod
    def coerce(
        cls, policy: ThresholdPolicy | str | Path | Mapping[str, object] | None
    ) -> ThresholdPolicy | None:
        """Accept a policy, a path to its JSON, a JSON string, a dict, or None.

        A dict is either the policy's fields (``{"thresholds": {...}, "default": 0.5}``, as
        its JSON holds) or a plain map of thresholds (``{"Profanity": 0.9}``).
        """
        if policy is None or isinstance(policy, ThresholdPolicy):
            return policy
        if isinstance(policy, Mapping):
            data = dict(policy)
            if data and not set(data) <= set(cls.model_fields):
                data = {"thresholds": data}  # a plain {label: threshold} map
            return cls(**data)  # a mistake raises PolicyError, with what to write
        if isinstance(policy, (str, Path)):
            return cls.from_json(policy)
        raise PolicyError(
            f"policy must be a ThresholdPolicy, a dict, or a path to its JSON; got {type(policy)}"
        )


def _explain(exc: ValidationError, data: Mapping[str, object]) -> str:
    """A :class:`PolicyError` message for pydantic's errors: what is wrong and what to write."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(
                f"unknown field {where!r}: ThresholdPolicy takes thresholds={{label: t}}, "
                f"default= and rule=; for a label write "
                f"ThresholdPolicy(thresholds={{{where!r}: {data.get(where)!r}}})"
            )
        else:
            # our validators' own messages say what range is allowed
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
    return "invalid threshold policy: " + "; ".join(problems)
