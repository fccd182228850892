"""Evaluate a classifier on labelled data: average precision, operating points, calibration.

``evaluate(clf, data)`` scores every item of a labelled data set and returns an
:class:`EvalReport`. All metrics come from scikit-learn (the ``eval`` extra:
``pip install "voicesafety[eval]"``).

Data
----
``data`` is a path to a CSV (``.csv``), TSV (``.tsv``) or JSON-lines (``.jsonl``/``.ndjson``)
file, or a list of ``(input, labels)`` pairs (or of dicts with the keys below).

Columns (CSV/TSV header, or JSONL keys):

- ``text``: the item is a text.
- ``audio`` (or ``path``): the item is an audio file; relative paths are taken relative to the
  data file's folder (then to the working directory).
- ``input``: either; decided per item (see below).
- ``labels`` (or ``label``): comma-separated label names (JSONL may also give a list);
  ``none``, an empty value or a negative label name (``NoViolation``, ``neutral``, ``clean``...)
  means clean.

Audio or text
-------------
Per item: a ``text``/``audio`` column decides. Otherwise (``input`` column, or a pair), a
``pathlib.Path``, bytes, a numpy array or a torch tensor is audio; a string is audio when the
classifier only does audio, text when it only does text, and for a classifier that does both
(the embedded default) audio when it names an existing file, text otherwise.
``modality="audio"`` or ``"text"`` forces one modality for every item.

Metrics
-------
Over the model's toxic labels (negative labels such as ``NoViolation`` are never scored):

- per-label average precision (``sklearn.metrics.average_precision_score``);
- binarized average precision, as Roblox reports for v1: the maximum score over toxic labels
  (``toxicity``) against "any toxic label", one shared threshold;
- precision, recall, F1 and false-positive rate of the flags under the classifier's current
  :class:`~voicesafety.ThresholdPolicy`, per label and for "flagged vs any toxic label";
- the operating point at ``target_fpr`` (default 1%, as Roblox chose v2's thresholds): per
  label the lowest threshold whose false-positive rate on this data is ≤ the target.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .calibration import OperatingPoint, sklearn_metrics, threshold_at_fpr
from .classifier import Classifier
from .display import plot_report, report_html, report_text
from .errors import InvalidInputError, VoiceSafetyError
from .policy import ThresholdPolicy
from .registry import is_negative
from .results import AudioResult, ErrorResult, TextResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .audio import AudioInput

__all__ = ["EvalReport", "LabelMetrics", "BinaryMetrics", "OperatingPoint", "evaluate",
           "load_dataset", "threshold_at_fpr"]

#: File extensions of audio that an ``input`` string may name.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64",
     ".m4a", ".webm"}
)
INPUT_COLUMNS = ("input", "text", "audio", "path")
LABEL_COLUMNS = ("labels", "label")


# --------------------------------------------------------------------------- data


@dataclass
class Item:
    """One labelled item: its input, how to score it, and its raw label names."""

    input: object  # a text, or an audio input (path, bytes, array, tensor...)
    modality: str | None  # "audio" | "text" | None (decide later)
    labels: list[str]
    where: str  # "row 3 of data.csv", "item #2": for error messages


def _split_labels(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, (list, tuple, set)):
        parts = [str(v) for v in value]
    else:
        raise InvalidInputError(
            f"labels must be a comma-separated string or a list of names, got {value!r}"
        )
    return [p.strip() for p in parts if p.strip()]


def _from_record(record: Mapping[str, object], where: str, base: Path | None) -> Item:
    keys = {str(k).strip().lower(): v for k, v in record.items()}
    label_key = next((k for k in LABEL_COLUMNS if k in keys), None)
    if label_key is None:
        raise InvalidInputError(
            f"{where}: no 'labels' column/key (comma-separated label names; 'none' or empty "
            "for clean)"
        )
    labels = _split_labels(keys[label_key])
    audio = keys.get("audio") or keys.get("path")
    if audio not in (None, ""):
        return Item(_resolve_path(str(audio), base, where, must_exist=True), "audio", labels,
                    where)
    if keys.get("text") not in (None, "") or ("text" in keys and "input" not in keys):
        return Item(str(keys.get("text") or ""), "text", labels, where)
    if "input" in keys:
        value = keys["input"]
        if isinstance(value, str) and base is not None:
            resolved = _resolve_path(value, base, where, must_exist=False)
            if isinstance(resolved, Path):
                return Item(resolved, None, labels, where)
        return Item(value, None, labels, where)
    raise InvalidInputError(
        f"{where}: no input column/key; use one of {', '.join(INPUT_COLUMNS)}"
    )


def _resolve_path(value: str, base: Path | None, where: str, *, must_exist: bool) -> Path | str:
    """An existing audio path (relative to ``base``, then the working directory), else value."""
    candidates = [Path(value).expanduser()]
    if base is not None and not candidates[0].is_absolute():
        candidates.insert(0, base / value)
    for path in candidates:
        if path.is_file():
            return path
    if must_exist:
        raise InvalidInputError(
            f"{where}: audio file not found: {value!r} (relative paths are taken relative to "
            f"the data file's folder {base}, then to the working directory)"
        )
    return value


def load_dataset(data: str | Path | Sequence[object]) -> list[Item]:
    """Read labelled items from a CSV/TSV/JSONL path or a list of ``(input, labels)`` pairs."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise InvalidInputError(f"data file not found: {path}")
        suffix = path.suffix.lower()
        base = path.resolve().parent
        items: list[Item] = []
        if suffix in (".jsonl", ".ndjson"):
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    where = f"line {n} of {path.name}"
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InvalidInputError(f"{where}: invalid JSON: {exc}") from exc
                    if not isinstance(record, dict):
                        raise InvalidInputError(f"{where}: expected a JSON object")
                    items.append(_from_record(record, where, base))
        elif suffix in (".csv", ".tsv"):
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
                for n, row in enumerate(reader, start=2):
                    items.append(_from_record(row, f"row {n} of {path.name}", base))
        else:
            raise InvalidInputError(
                f"unknown data format {suffix!r} for {path}: use .csv, .tsv or .jsonl"
            )
        return items
    if isinstance(data, Mapping) or not isinstance(data, Sequence):
        raise InvalidInputError(
            "data must be a path to a CSV/TSV/JSONL file or a list of (input, labels) pairs, "
            f"got {type(data).__name__}"
        )
    items = []
    for i, entry in enumerate(data):
        where = f"item #{i}"
        if isinstance(entry, Mapping):
            items.append(_from_record(entry, where, None))
        elif isinstance(entry, (tuple, list)) and len(entry) == 2:
            items.append(Item(entry[0], None, _split_labels(entry[1]), where))
        else:
            raise InvalidInputError(
                f"{where}: expected an (input, labels) pair or a dict, got {entry!r}"
            )
    return items


def _decide(item: Item, clf: Classifier, modality: str) -> str:
    if modality != "auto":
        return modality
    if item.modality is not None:
        return item.modality
    value = item.input
    if not isinstance(value, str):
        return "audio"
    mods = clf.modalities
    if len(mods) == 1:
        return mods[0]
    path = Path(value)
    is_file = len(value) < 4096 and "\n" not in value and path.is_file()
    if not is_file and path.suffix.lower() in AUDIO_EXTENSIONS and " " not in value.strip():
        raise InvalidInputError(
            f"{item.where}: {value!r} looks like an audio file but does not exist; pass "
            "modality='text' to score such strings as text"
        )
    return "audio" if is_file else "text"


# --------------------------------------------------------------------------- metrics


class LabelMetrics(BaseModel):
    """Metrics of one label: AP over scores, and precision/recall/F1/FPR of the policy's flags."""

    model_config = ConfigDict(frozen=True)

    label: str
    support: int  #: items carrying the label
    average_precision: float | None  #: None when no item carries the label
    threshold: float  #: the policy's threshold
    precision: float
    recall: float
    f1: float
    fpr: float | None  #: None when every item carries the label


class BinaryMetrics(BaseModel):
    """"Flagged" (any toxic label over its threshold) against "carries any toxic label"."""

    model_config = ConfigDict(frozen=True)

    support: int
    precision: float
    recall: float
    f1: float
    fpr: float | None


class EvalReport(BaseModel):
    """What :func:`evaluate` found. Metrics are over the model's toxic labels.

    ``scores`` and ``y_true`` (one row per item, one column per label of ``labels``) are kept
    so that :meth:`policy_at_fpr` and :meth:`plot` can work without scoring again.
    """

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model: str
    modality: str  #: "audio", "text" or "audio+text"
    n_items: int
    n_toxic: int  #: items carrying at least one toxic label
    labels: list[str]
    target_fpr: float
    policy: ThresholdPolicy
    per_label: dict[str, LabelMetrics]
    mean_average_precision: float | None  #: mean AP over labels with support
    binarized_ap: float | None
    flagged: BinaryMetrics
    operating_points: dict[str, OperatingPoint]
    binarized_operating_point: OperatingPoint | None
    sources: list[str] = Field(default_factory=list, repr=False)
    scores: list[list[float]] = Field(default_factory=list, repr=False)
    y_true: list[list[int]] = Field(default_factory=list, repr=False)

    @property
    def average_precision(self) -> dict[str, float | None]:
        """Per-label average precision (None for labels no item carries)."""
        return {label: m.average_precision for label, m in self.per_label.items()}

    def policy_at_fpr(self, target_fpr: float | None = None) -> ThresholdPolicy:
        """A policy whose per-label thresholds give ≤ ``target_fpr`` false positives here.

        Defaults to the report's ``target_fpr``. Labels without any clean item keep the current
        policy's threshold. Apply it with ``clf.with_policy(policy)``.
        """
        target = self.target_fpr if target_fpr is None else target_fpr
        calibrated = ThresholdPolicy.calibrate(
            np.asarray(self.scores, dtype=np.float64).reshape(-1, len(self.labels)),
            np.asarray(self.y_true).reshape(-1, len(self.labels)), self.labels,
            target_fpr=target, default=self.policy.default,
        )
        kept = {k: v for k, v in self.policy.thresholds.items() if k not in calibrated.thresholds}
        return ThresholdPolicy(thresholds={**kept, **calibrated.thresholds},
                               default=self.policy.default)

    def pr_curve(self, label: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(precision, recall, thresholds)`` from ``sklearn.metrics.precision_recall_curve``.

        ``label=None`` gives the binarized curve (max toxic score against any toxic label).
        """
        metrics = sklearn_metrics()
        s = np.asarray(self.scores, dtype=np.float64).reshape(-1, len(self.labels))
        y = np.asarray(self.y_true).reshape(-1, len(self.labels)).astype(bool)
        if label is None:
            y_col, s_col = y.any(axis=1), s.max(axis=1, initial=0.0)
        else:
            if label not in self.labels:
                raise InvalidInputError(f"unknown label {label!r}; labels are {self.labels}")
            j = self.labels.index(label)
            y_col, s_col = y[:, j], s[:, j]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return metrics.precision_recall_curve(y_col, s_col)

    def to_dict(self, include_data: bool = False) -> dict[str, object]:
        """Plain-Python version (JSON-compatible); per-item data only with ``include_data``."""
        exclude = None if include_data else {"sources", "scores", "y_true"}
        return self.model_dump(mode="json", exclude=exclude)

    def summary(self) -> str:
        """A plain-text table of the metrics."""
        return report_text(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return report_html(self)

    def plot(self, ax: Axes | None = None, labels: Sequence[str] | None = None) -> Axes:
        """Precision-recall curves (per label and binarized) with operating points marked.

        Needs matplotlib (``pip install "voicesafety[plot]"``). Returns the matplotlib Axes.
        """
        return plot_report(self, ax=ax, labels=labels)


def _map_labels(
    raw: list[str], known: Sequence[str], negatives: Sequence[str],
    label_map: Mapping[str, str | None], where: str, unknown: dict[str, str],
) -> set[str]:
    lower = {k.lower(): k for k in known}
    out: set[str] = set()
    for name in raw:
        if name in label_map:
            mapped = label_map[name]
            if mapped is None:
                continue
            name = mapped
        if name in known:
            out.add(name)
        elif name.lower() in lower:
            out.add(lower[name.lower()])
        elif name in negatives or is_negative(name):
            continue
        else:
            unknown.setdefault(name, where)
    return out


def evaluate(
    clf: Classifier,
    data: str | Path | Sequence[object],
    *,
    modality: Literal["auto", "audio", "text"] = "auto",
    label_map: Mapping[str, str | None] | None = None,
    target_fpr: float = 0.01,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> EvalReport:
    """Score a labelled data set with ``clf`` and measure how well it does.

    Args:
        clf: a :class:`~voicesafety.Classifier`.
        data: a ``.csv``/``.tsv``/``.jsonl`` path or a list of ``(input, labels)`` pairs; see
            the module documentation for columns and how audio vs text is decided.
        modality: ``"auto"`` (per item), or ``"audio"``/``"text"`` for every item.
        label_map: renames the data's label names to the model's (``{"toxic": "Harassment"}``);
            map a name to None to ignore it. Names that are neither the model's labels, nor
            negative (``none``, ``clean``, ``NoViolation``...), nor mapped raise an error.
        target_fpr: false-positive rate of the reported operating points (default 1%).
        batch_size: passed to ``score``/``score_text`` (their defaults when None).
        progress: show a progress bar (tqdm); None: only for long work.

    Returns:
        An :class:`EvalReport`.

    Raises:
        InvalidInputError: unreadable data, unknown label names, or no items.
        ModalityError: an item needs a modality the classifier lacks.
    """
    sklearn_metrics()  # fail early, before scoring, if scikit-learn is missing
    if modality not in ("auto", "audio", "text"):
        raise InvalidInputError(f"modality must be 'auto', 'audio' or 'text', got {modality!r}")
    if not 0.0 <= target_fpr <= 1.0:
        raise InvalidInputError(f"target_fpr must lie in [0, 1], got {target_fpr}")
    items = load_dataset(data)
    if not items:
        raise InvalidInputError("no items to evaluate: the data set is empty")
    kinds = [_decide(item, clf, modality) for item in items]
    used = sorted(set(kinds))
    # clf.audio / clf.text raise ModalityError for a modality the classifier lacks
    heads = {m: clf.audio if m == "audio" else clf.text for m in used}
    label_sets = {m: tuple(h.spec.toxic_labels) for m, h in heads.items()}
    if len(set(label_sets.values())) > 1:
        raise InvalidInputError(
            "the audio and text models have different labels "
            f"({label_sets}); evaluate one modality at a time with modality='audio'/'text'"
        )
    labels = list(label_sets[used[0]])
    if not labels:
        raise InvalidInputError(f"{clf.name} has no toxic labels to evaluate")
    negatives = [n for h in heads.values() for n in h.spec.negative_labels]
    known = [lab for h in heads.values() for lab in h.spec.labels if lab not in negatives]

    unknown: dict[str, str] = {}
    truth = [
        _map_labels(item.labels, known, negatives, label_map or {}, item.where, unknown)
        for item in items
    ]
    if unknown:
        listed = ", ".join(f"{name!r} ({where})" for name, where in unknown.items())
        example = next(iter(unknown))
        raise InvalidInputError(
            f"label names the model does not know: {listed}. The model's toxic labels are "
            f"{labels}; 'none' or empty means clean. Map yours with label_map=, e.g. "
            f"evaluate(clf, data, label_map={{{example!r}: {labels[0]!r}}}) "
            f"(or {{{example!r}: None}} to ignore it)."
        )

    results: list[AudioResult | TextResult | ErrorResult | None] = [None] * len(items)
    for mod in used:
        idx = [i for i, k in enumerate(kinds) if k == mod]
        inputs = [items[i].input for i in idx]
        scored: list[AudioResult | ErrorResult] | list[TextResult]
        try:
            if mod == "audio":
                # whatever the data holds: score() checks each input and names a bad one
                audio = cast("list[AudioInput]", inputs)
                scored = clf.score(audio, batch_size=batch_size, progress=progress)
            else:
                scored = clf.score_text([str(x) for x in inputs], batch_size=batch_size,
                                        progress=progress)
        except VoiceSafetyError as exc:
            index = getattr(exc, "index", None)
            if index is None:
                raise
            raise type(exc)(f"{items[idx[index]].where}: {exc.__cause__ or exc}") from exc
        for i, r in zip(idx, scored, strict=True):
            results[i] = r
    done = [r for r in results if isinstance(r, (AudioResult, TextResult))]
    assert len(done) == len(items)  # errors="raise": a failed item raised above

    scores = np.array([[r.scores[lab] for lab in labels] for r in done], dtype=np.float64)
    y = np.array([[lab in t for lab in labels] for t in truth], dtype=bool)
    policy = heads[used[0]].spec.policy
    flags = np.array([[lab in r.flags for lab in labels] for r in done], dtype=bool)
    return _report(
        clf.name, "+".join(used), labels, scores, y, flags,
        np.array([r.flagged for r in done], dtype=bool), policy, target_fpr,
        [r.source if isinstance(r, AudioResult) else r.text for r in done],
    )


def _rates(
    metrics: ModuleType, y: np.ndarray, pred: np.ndarray
) -> tuple[float, float, float, float | None]:
    p, r, f, _ = metrics.precision_recall_fscore_support(
        y, pred, average="binary", zero_division=0
    )
    tn, fp, _fn, _tp = metrics.confusion_matrix(y, pred, labels=[False, True]).ravel()
    return float(p), float(r), float(f), (float(fp / (fp + tn)) if fp + tn else None)


def _ap(metrics: ModuleType, y: np.ndarray, s: np.ndarray) -> float | None:
    if not y.any():
        return None
    return float(metrics.average_precision_score(y, s))


def _report(
    model: str, modality: str, labels: list[str], scores: np.ndarray, y: np.ndarray,
    flags: np.ndarray, flagged: np.ndarray, policy: ThresholdPolicy, target_fpr: float,
    sources: list[str],
) -> EvalReport:
    metrics = sklearn_metrics()
    per_label: dict[str, LabelMetrics] = {}
    points: dict[str, OperatingPoint] = {}
    for j, label in enumerate(labels):
        p, r, f, fpr = _rates(metrics, y[:, j], flags[:, j])
        per_label[label] = LabelMetrics(
            label=label, support=int(y[:, j].sum()), average_precision=_ap(metrics, y[:, j],
                                                                           scores[:, j]),
            threshold=policy.threshold(label), precision=p, recall=r, f1=f, fpr=fpr,
        )
        point = threshold_at_fpr(y[:, j], scores[:, j], target_fpr)
        if point is not None:
            points[label] = point
    any_toxic: np.ndarray = np.asarray(y.any(axis=1))
    toxicity = scores.max(axis=1, initial=0.0)
    p, r, f, fpr = _rates(metrics, any_toxic, flagged)
    aps = [m.average_precision for m in per_label.values() if m.average_precision is not None]
    return EvalReport(
        model=model, modality=modality, n_items=len(y), n_toxic=int(any_toxic.sum()),
        labels=labels, target_fpr=target_fpr, policy=policy, per_label=per_label,
        mean_average_precision=float(np.mean(aps)) if aps else None,
        binarized_ap=_ap(metrics, any_toxic, toxicity),
        flagged=BinaryMetrics(support=int(any_toxic.sum()), precision=p, recall=r, f1=f,
                              fpr=fpr),
        operating_points=points,
        binarized_operating_point=threshold_at_fpr(any_toxic, toxicity, target_fpr),
        sources=[str(s) for s in sources], scores=scores.tolist(),
        y_true=y.astype(int).tolist(),
    )
