"""Evaluation metrics (scikit-learn) and threshold calibration for the mini models."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from voicesafety.models.arch import LABELS


def calibrate_thresholds(
    y: np.ndarray, p: np.ndarray, lo: float = 0.1, hi: float = 0.9
) -> dict[str, float]:
    """Per-label threshold maximising F1 on a validation set, clipped to ``[lo, hi]``."""
    out: dict[str, float] = {}
    for j, lab in enumerate(LABELS):
        if y[:, j].sum() == 0:
            out[lab] = 0.5
            continue
        prec, rec, thr = precision_recall_curve(y[:, j], p[:, j])
        f1 = 2 * prec[:-1] * rec[:-1] / np.maximum(prec[:-1] + rec[:-1], 1e-9)
        best = float(thr[int(np.argmax(f1))])
        out[lab] = round(float(min(max(best, lo), hi)), 4)
    return out


def _pr(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    tp = float(np.sum(pred & (y == 1)))
    prec = tp / max(float(pred.sum()), 1.0)
    rec = tp / max(float((y == 1).sum()), 1.0)
    return prec, rec


def evaluate(y: np.ndarray, p: np.ndarray, thresholds: dict[str, float]) -> dict:
    """Per-label AP, binarized AP and precision/recall at the ``any`` threshold policy.

    Args:
        y: ``[N, L]`` 0/1 labels.
        p: ``[N, L]`` sigmoid scores.
        thresholds: per-label thresholds of the policy.

    Returns:
        A JSON-serialisable dict of metrics.
    """
    thr = np.array([thresholds[lab] for lab in LABELS])
    flags = p >= thr[None, :]
    res: dict = {"n": int(len(y)), "per_label": {}}
    for j, lab in enumerate(LABELS):
        pos = int(y[:, j].sum())
        ap = float(average_precision_score(y[:, j], p[:, j])) if 0 < pos < len(y) else math.nan
        prec, rec = _pr(y[:, j], flags[:, j])
        res["per_label"][lab] = {"ap": ap, "precision": prec, "recall": rec, "positives": pos}
    any_y = (y.sum(axis=1) > 0).astype(int)
    res["binarized_ap"] = float(average_precision_score(any_y, p.max(axis=1)))
    res["binarized_precision"], res["binarized_recall"] = _pr(any_y, flags.any(axis=1))
    res["macro_ap"] = float(np.nanmean([v["ap"] for v in res["per_label"].values()]))
    res["toxic_fraction"] = float(any_y.mean())
    return res


def markdown_table(results: dict[str, dict]) -> str:
    """Render ``{split_name: evaluate(...)}`` as a markdown table."""
    head = ["split", "n", "bin. AP", "bin. P", "bin. R", "macro AP"] + [
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
