"""Parity: how far a converted model's scores are from the torch reference's, and the bounds
a conversion must meet to be written (:data:`BOUNDS`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..arrays import to_numpy
from ..backends import Backend
from ..errors import BackendError
from ..registry import Activation
from ..scoring import activate
from ..spec import ModelSpec
from .probes import Batch

#: (max |score difference| allowed, share of probe items whose flags must be identical)
BOUNDS: dict[str, tuple[float, float]] = {
    "torchscript": (1e-4, 1.0),
    "onnx": (1e-4, 1.0),
    "onnx-int8": (0.05, 0.99),
}


@dataclass
class ParityReport:
    """How a converted model compares with the torch reference on the probe set."""

    backend: str
    modality: str
    items: int
    max_abs_diff: float
    flag_agreement: float
    max_abs_diff_bound: float
    flag_agreement_bound: float
    per_label: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether both bounds hold."""
        return (self.max_abs_diff <= self.max_abs_diff_bound
                and self.flag_agreement >= self.flag_agreement_bound)

    def to_dict(self) -> dict[str, object]:
        """JSON-compatible form (stored in the manifest)."""
        return {
            "backend": self.backend, "modality": self.modality, "items": self.items,
            "max_abs_diff": self.max_abs_diff, "flag_agreement": self.flag_agreement,
            "max_abs_diff_bound": self.max_abs_diff_bound,
            "flag_agreement_bound": self.flag_agreement_bound, "passed": self.passed,
            "per_label": self.per_label,
        }

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.modality:5s} {self.backend:11s} probe items={self.items:3d}  "
            f"max|Δscore|={self.max_abs_diff:.2e} (bound {self.max_abs_diff_bound:g})  "
            f"flag agreement={self.flag_agreement:.2%} (bound {self.flag_agreement_bound:.0%})"
            f"  {verdict}"
        )


class ExportParityError(BackendError):
    """A converted model differs from the torch reference by more than the bounds allow."""

    def __init__(self, message: str, report: ParityReport) -> None:
        super().__init__(message)
        self.report = report


def scores_on(backend: Backend, batches: Sequence[Batch], activation: Activation) -> np.ndarray:
    """Scores ``[items, labels]`` of a backend on probe batches."""
    return np.concatenate([activate(to_numpy(backend.run(b)), activation) for b in batches])


def parity(ref: np.ndarray, candidate: Backend, spec: ModelSpec, batches: Sequence[Batch],
           backend: str | None = None) -> ParityReport:
    """Compare ``candidate`` on ``batches`` with the reference's scores ``ref`` on the same
    batches (:func:`scores_on` of the torch reference)."""
    name = backend or candidate.name
    got = scores_on(candidate, batches, spec.activation)
    diff = np.abs(ref - got)
    toxic = list(spec.toxic_labels)
    same = 0
    for r, g in zip(ref, got, strict=False):
        a = spec.policy.flags(dict(zip(spec.labels, map(float, r), strict=False)), toxic)
        b = spec.policy.flags(dict(zip(spec.labels, map(float, g), strict=False)), toxic)
        same += sorted(a) == sorted(b)
    bound, agree = BOUNDS[name]
    return ParityReport(
        backend=name, modality=spec.modality, items=len(ref),
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
        flag_agreement=same / max(1, len(ref)), max_abs_diff_bound=bound,
        flag_agreement_bound=agree,
        per_label={label: float(diff[:, i].max()) for i, label in enumerate(spec.labels)},
    )
