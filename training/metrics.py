"""Evaluation metrics (scikit-learn) and threshold calibration for the mini models."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score

from voicesafety.models.arch import LABELS
from voicesafety.train.calibrate import cap_benign_flag_rate, f1_thresholds

__all__ = ["cap_benign_flag_rate", "calibrate_thresholds", "evaluate", "markdown_table", "pr_table"]


def calibrate_thresholds(
    y: np.ndarray, p: np.ndarray, lo: float = 0.1, hi: float = 0.9
) -> dict[str, float]:
    """Per-label threshold maximising F1 on a validation set, clipped to ``[lo, hi]``
    (:func:`voicesafety.train.calibrate.f1_thresholds` over the six labels)."""
    return f1_thresholds(y, p, LABELS, lo, hi)


def _pr(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    tp = float(np.sum(pred & (y == 1)))
    prec = tp / max(float(pred.sum()), 1.0)
    rec = tp / max(float((y == 1).sum()), 1.0)
    return prec, rec


def evaluate(
    y: np.ndarray, p: np.ndarray, thresholds: dict[str, float], toxic: np.ndarray | None = None
) -> dict:
    """Per-label AP, binarized AP and precision/recall at the ``any`` threshold policy.

    Args:
        y: ``[N, L]`` 0/1 labels; NaN where a source does not know a label (per-label metrics
            then use the rows that know it).
        p: ``[N, L]`` sigmoid scores.
        thresholds: per-label thresholds of the policy.
        toxic: ``[N]`` "any toxic" flags (default: any known label is 1).

    Returns:
        A JSON-serialisable dict of metrics (``fpr``: share of benign rows flagged).
    """
    thr = np.array([thresholds[lab] for lab in LABELS])
    flags = p >= thr[None, :]
    res: dict = {"n": int(len(y)), "per_label": {}}
    for j, lab in enumerate(LABELS):
        known = ~np.isnan(y[:, j].astype(float))
        yj = y[known, j].astype(int)
        pos = int(yj.sum())
        ap = (
            float(average_precision_score(yj, p[known, j])) if 0 < pos < len(yj) else math.nan
        )
        prec, rec = _pr(yj, flags[known, j])
        res["per_label"][lab] = {"ap": ap, "precision": prec, "recall": rec, "positives": pos}
    any_y = (
        (np.nansum(y, axis=1) > 0).astype(int) if toxic is None else np.asarray(toxic).astype(int)
    )
    res["binarized_ap"] = (
        float(average_precision_score(any_y, p.max(axis=1)))
        if 0 < any_y.sum() < len(any_y) else math.nan
    )  # fmt: skip
    res["binarized_precision"], res["binarized_recall"] = _pr(any_y, flags.any(axis=1))
    neg = any_y == 0
    res["fpr"] = float(flags.any(axis=1)[neg].mean()) if neg.any() else math.nan
    aps = [v["ap"] for v in res["per_label"].values() if not math.isnan(v["ap"])]
    res["macro_ap"] = float(np.mean(aps)) if aps else math.nan
    res["toxic_fraction"] = float(any_y.mean())
    return res


def markdown_table(results: dict[str, dict]) -> str:
    """Render ``{split_name: evaluate(...)}`` as a markdown table."""
    head = ["split", "n", "bin. AP", "bin. P", "bin. R", "FPR", "macro AP"] + [
        f"AP {lab}" for lab in LABELS
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        row = [
            name,
            str(r["n"]),
            f"{r['binarized_ap']:.3f}",
            f"{r['binarized_precision']:.3f}",
            f"{r['binarized_recall']:.3f}",
            f"{r['fpr']:.3f}",
            f"{r['macro_ap']:.3f}",
        ] + [f"{r['per_label'][lab]['ap']:.3f}" for lab in LABELS]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def pr_table(results: dict[str, dict]) -> str:
    """Per-label precision / recall at the shipped policy, as a markdown table."""
    head = ["split"] + [f"P/R {lab}" for lab in LABELS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        cells = [
            f"{r['per_label'][lab]['precision']:.2f}/{r['per_label'][lab]['recall']:.2f}"
            for lab in LABELS
        ]
        lines.append("| " + " | ".join([name] + cells) + " |")
    return "\n".join(lines)
