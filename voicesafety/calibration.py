"""Thresholds from labelled scores: the operating point at a target false-positive rate.

Used by :meth:`ThresholdPolicy.calibrate <voicesafety.ThresholdPolicy.calibrate>` and by
evaluation reports. The metrics come from scikit-learn (the ``eval`` extra), imported on use.
"""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from .errors import InvalidInputError, require


def sklearn_metrics() -> ModuleType:
    """``sklearn.metrics``, or :class:`MissingDependencyError` naming the ``eval`` extra."""
    require("sklearn", "eval", "evaluation")
    import sklearn.metrics

    return sklearn.metrics


class OperatingPoint(BaseModel):
    """A threshold and what it achieves on the data: FPR, recall (TPR) and precision."""

    model_config = ConfigDict(frozen=True)

    threshold: float
    target_fpr: float
    fpr: float | None
    recall: float | None
    precision: float | None


def threshold_at_fpr(
    y_true: ArrayLike, scores: ArrayLike, target_fpr: float
) -> OperatingPoint | None:
    """The lowest threshold whose false-positive rate on ``(y_true, scores)`` is ≤ the target.

    An item counts as predicted positive when ``score >= threshold``. Among thresholds meeting
    the target the lowest (hence highest recall) is chosen, from
    ``sklearn.metrics.roc_curve``. When even the highest score is too frequent among
    negatives, the threshold is placed just above the highest score (capped at 1.0). Returns
    None when there are no negatives (a false-positive rate is then undefined).
    """
    metrics = sklearn_metrics()
    if not 0.0 <= target_fpr <= 1.0:
        raise InvalidInputError(f"target_fpr must lie in [0, 1], got {target_fpr}")
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InvalidInputError(f"y_true and scores differ in shape: {y.shape} vs {s.shape}")
    if not (~y).any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning when there are no positives
        fpr, _tpr, thresholds = metrics.roc_curve(y, s, drop_intermediate=False)
    index = int(np.flatnonzero(fpr <= target_fpr)[-1])  # fpr[0] == 0, so never empty
    threshold = float(thresholds[index])
    if not np.isfinite(threshold) or threshold > 1.0:
        threshold = float(min(np.nextafter(s.max(), np.inf), 1.0))
    threshold = max(threshold, 0.0)
    predicted = s >= threshold
    tn, fp, fn, tp = metrics.confusion_matrix(y, predicted, labels=[False, True]).ravel()
    return OperatingPoint(
        threshold=threshold,
        target_fpr=target_fpr,
        fpr=float(fp / (fp + tn)),
        recall=float(tp / (tp + fn)) if tp + fn else None,
        precision=float(metrics.precision_score(y, predicted, zero_division=0))
        if predicted.any() else None,
    )
