"""Thresholds for a trained student: F1-optimal per label, optionally capped on benign data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..calibration import sklearn_metrics


def f1_thresholds(
    y: np.ndarray, p: np.ndarray, labels: Sequence[str], lo: float = 0.1, hi: float = 0.9
) -> dict[str, float]:
    """Per-label threshold maximising F1 on a validation set, clipped to ``[lo, hi]``.

    ``y`` may hold NaN (label unknown for that row): those rows are left out of that label.
    A label without a positive row keeps 0.5.
    """
    metrics = sklearn_metrics()
    out: dict[str, float] = {}
    for j, lab in enumerate(labels):
        known = ~np.isnan(y[:, j])
        yj = y[known, j] >= 0.5
        if yj.sum() == 0:
            out[lab] = 0.5
            continue
        prec, rec, thr = metrics.precision_recall_curve(yj, p[known, j])
        f1 = 2 * prec[:-1] * rec[:-1] / np.maximum(prec[:-1] + rec[:-1], 1e-9)
        best = float(thr[int(np.argmax(f1))])
        out[lab] = round(float(min(max(best, lo), hi)), 4)
    return out


def cap_benign_flag_rate(
    thresholds: dict[str, float], benign: list[np.ndarray], rate: float,
    labels: Sequence[str] | None = None,
) -> dict[str, float]:
    """Raise per-label thresholds until at most ``rate`` of every group of benign scores is
    flagged under the ``any`` rule.

    Each label's threshold becomes ``max(t, q_l(1 - a))``, the larger of its own threshold and
    the ``1 - a`` quantile of that label's scores on all benign rows pooled; the largest
    ``a`` in ``[0, rate]`` that keeps every group's flag rate at most ``rate`` is found by
    bisection (flag rates only fall as ``a`` shrinks). Thresholds already strict enough are
    kept as they are.

    Args:
        thresholds: per-label thresholds (e.g. F1-optimal on a validation set).
        benign: ``[N_i, L]`` scores of benign rows, one array per group (data source).
        rate: the largest share of any group that may be flagged.
        labels: the label of each column (default: the keys of ``thresholds``, in order).

    Returns:
        The new thresholds (rounded up to 4 decimals, at most 0.9999).
    """
    names = list(thresholds) if labels is None else list(labels)
    pooled = np.concatenate(benign) if benign else np.zeros((0, len(names)))
    if not len(pooled):
        return dict(thresholds)
    base = np.array([thresholds[lab] for lab in names])

    def thr_at(a: float) -> np.ndarray:
        q = np.quantile(pooled, 1 - a, axis=0, method="higher") if a > 0 else pooled.max(0)
        t = np.maximum(base, np.nextafter(q, 2.0) if a == 0 else q)
        return np.minimum(np.ceil(t * 1e4) / 1e4, 0.9999)

    def worst(t: np.ndarray) -> float:
        return max(float((g >= t[None, :]).any(axis=1).mean()) for g in benign if len(g))

    if worst(base) <= rate:
        return dict(thresholds)
    lo, hi = 0.0, rate
    for _ in range(40):
        mid = (lo + hi) / 2
        if worst(thr_at(mid)) <= rate:
            lo = mid
        else:
            hi = mid
    t = thr_at(lo)
    return {lab: float(t[j]) for j, lab in enumerate(names)}
