"""Fit or distil your own fast scorer: ``train_text``, ``distil_text``, ``train_audio``.

Each reads the data, holds out a seeded split (half for early stopping and calibration, half
for the report), trains a student with the loops the embedded models are built with
(:mod:`.loop`, :mod:`.audio_loop`), calibrates its policy, writes a folder that
``Classifier.from_pretrained`` loads on every backend, and writes ``report.json`` /
``report.md`` into it (also returned as :class:`TrainResult`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..calibration import sklearn_metrics
from ..cascade import TextScorer
from ..classifier import Classifier
from ..errors import InvalidInputError
from .audio_loop import (
    AudioSettings,
    audio_logits,
    compute_features,
    fit_audio,
    masked_bce,
    predict_audio_features,
)
from .calibrate import f1_thresholds
from .data import (
    any_column_of,
    any_label_mask,
    any_targets,
    known_max,
    label_matrix,
    read_table,
    read_texts,
    split_rows,
    text_column_of,
    warn_labels_without_positives,
)
from .folder import policy_dict, save_audio_model, save_text_model
from .loop import TextSettings, fit_text, heldout_loss, predict_text
from .tokenizer import train_tokenizer

if TYPE_CHECKING:
    import torch

DRY_RUN_ROWS = 256
"""``dry_run``: at most this many rows, one epoch, a tiny model (checks data and pipeline)."""
TINY_TEXT = {"dim": 32, "layers": 1, "heads": 2, "max_length": 64, "lexicon": True}
TINY_AUDIO = {"n_mels": 32, "channels": 32, "attn_layers": 1, "heads": 2}
REPORT_FILES = ("report.json", "report.md")


@dataclass
class TrainResult:
    """A finished run: the model folder and its report (also saved in the folder)."""

    folder: Path
    report: dict[str, Any] = field(default_factory=dict)

    def load(self, backend: str = "torch") -> Classifier:
        """The trained model as a :class:`Classifier`."""
        return Classifier.from_pretrained(self.folder, backend=backend)

    def __str__(self) -> str:
        return report_markdown(self.report)


# ------------------------------------------------------------------------------- metrics


def _ap(y: np.ndarray, p: np.ndarray) -> float | None:
    known = ~np.isnan(y)
    yk = y[known] >= 0.5
    if yk.all() or not yk.any():
        return None
    return float(sklearn_metrics().average_precision_score(yk, p[known]))


def heldout_metrics(
    y: np.ndarray, p: np.ndarray, labels: Sequence[str], toxic: np.ndarray | None = None
) -> dict[str, Any]:
    """Per-label AP (targets >= 0.5 are positives), binarized AP (the max score against "any
    label", or against ``toxic`` where given), and the mean max score of positive and negative
    rows (class separation). A row with every label unknown (NaN) and no ``toxic`` value is
    neither positive nor negative: it is left out of those figures (``unknown`` counts it)."""
    anyy = known_max(y) if toxic is None else np.asarray(toxic, np.float32)
    top = p.max(axis=1)
    pos, neg = anyy >= 0.5, anyy < 0.5
    return {
        "n": len(y),
        "positives": int(pos.sum()),
        "unknown": int(np.isnan(anyy).sum()),
        "per_label_ap": {lab: _ap(y[:, j], p[:, j]) for j, lab in enumerate(labels)},
        "binarized_ap": _ap(anyy, top),
        "base_rate": float(pos.sum() / (pos | neg).sum()) if (pos | neg).any() else None,
        "mean_score_positive": float(top[pos].mean()) if pos.any() else None,
        "mean_score_negative": float(top[neg].mean()) if neg.any() else None,
    }


def agreement(student: np.ndarray, teacher: np.ndarray, thresholds: np.ndarray,
              student_thresholds: np.ndarray | None = None) -> dict[str, float]:
    """Student vs teacher on the same rows (``[N, L]`` scores of the same labels): mean
    |Δ toxicity| and Spearman of toxicity (the max over labels), and flag agreement under the
    teacher's thresholds (and under the student's own, when given)."""
    from scipy.stats import spearmanr  # scikit-learn's own dependency

    ts, tt = student.max(axis=1), teacher.max(axis=1)
    t_flag = (teacher >= thresholds).any(axis=1)
    out = {
        "mean_abs_delta": float(np.abs(ts - tt).mean()),
        "spearman": float(spearmanr(ts, tt).statistic) if len(ts) > 2 else float("nan"),
        "flag_agreement_teacher_policy": float(
            ((student >= thresholds).any(axis=1) == t_flag).mean()),
        "teacher_flag_rate": float(t_flag.mean()),
    }
    if student_thresholds is not None:
        out["flag_agreement_student_policy"] = float(
            ((student >= student_thresholds).any(axis=1) == t_flag).mean())
    return out


def _median_rate(run: Callable[[], object], n: int, repeats: int = 3) -> float:
    run()  # warm-up (first-call costs: graph setup, allocations)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return n / float(np.median(times))


def text_speed(clf: Classifier | TextScorer, texts: Sequence[str]) -> float:
    """Texts per second of ``clf.score_text`` on ``texts`` (median of 3 runs after a
    warm-up)."""
    batch = list(texts)
    if not isinstance(clf, Classifier):
        return _median_rate(lambda: clf.score_text(batch, progress=False), len(batch))
    return _median_rate(lambda: clf.score_text(batch, as_tensor=True, progress=False),
                        len(batch))  # fmt: skip


def verdict_thresholds(results: Sequence[Any], labels: Sequence[str],
                       y: np.ndarray) -> np.ndarray:
    """Per label, the threshold at which a teacher's own scores ``y`` best reproduce its own
    flags in ``results`` (for a teacher without one policy, such as a cascade whose verdict
    comes from the fast model or the judge, each under its own thresholds)."""
    out = []
    for j, lab in enumerate(labels):
        flagged = np.array([lab in r.flags for r in results])
        grid = np.unique(np.concatenate([y[:, j], [0.5]]))
        agree = [np.mean((y[:, j] >= t) == flagged) for t in grid]
        out.append(float(grid[int(np.argmax(agree))]))
    return np.array(out)


def _folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.iterdir() if f.name not in REPORT_FILES) / 1e6


# ------------------------------------------------------------------------------- report


def report_markdown(report: dict[str, Any]) -> str:
    """A readable rendering of a run's report."""
    def fmt(v: object) -> str:
        return "n/a" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = [f"# voicesafety {report.get('kind', 'training')} report", ""]
    data = report.get("data", {})
    lines.append("data: " + ", ".join(f"{k} {fmt(v)}" for k, v in data.items()))
    tr = report.get("training", {})
    lines.append(f"training: {tr.get('epochs_run')} epoch(s), kept epoch {tr.get('best_epoch')}"
                 f"{' (stopped early)' if tr.get('stopped_early') else ''}, "
                 f"{fmt(tr.get('wall_s'))} s")  # fmt: skip
    h = report.get("heldout", {})
    lines += ["", f"## held-out test split ({h.get('n')} rows, {h.get('positives')} positive)",
              "", "| label | AP |", "|---|---|"]  # fmt: skip
    for lab, ap in h.get("per_label_ap", {}).items():
        lines.append(f"| {lab} | {fmt(ap)} |")
    lines.append(f"| **binarized** (any label) | {fmt(h.get('binarized_ap'))} |")
    lines.append("")
    lines.append(f"base rate {fmt(h.get('base_rate'))}; mean max score: positives "
                 f"{fmt(h.get('mean_score_positive'))}, negatives "
                 f"{fmt(h.get('mean_score_negative'))}")  # fmt: skip
    if "teacher_agreement" in report:
        a = report["teacher_agreement"]
        lines += ["", "## agreement with the teacher (test split)", ""]
        lines += [f"- {k.replace('_', ' ')}: {fmt(v)}" for k, v in a.items()]
    source = report.get("policy_source", "F1-optimal per label on the dev split")
    lines += ["", f"## policy ({source})", ""]
    lines += [f"- {k}: {fmt(v)}" for k, v in report.get("policy", {}).items()]
    lines += ["", "## size and speed (measured in this run)", ""]
    lines += [f"- {k.replace('_', ' ')}: {fmt(v)}" for k, v in report.get("size_speed", {}).items()]
    return "\n".join(lines) + "\n"


def _write_report(folder: Path, report: dict[str, Any]) -> None:
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (folder / "report.md").write_text(report_markdown(report))


# ------------------------------------------------------------------------------- text


def _text_settings(settings: TextSettings | None, dry_run: bool, seed: int) -> TextSettings:
    s = settings or TextSettings(seed=seed)
    if dry_run:
        s = replace(s, epochs=1, arch=dict(TINY_TEXT), vocab_size=min(s.vocab_size, 500))
    return s


def _fit_text_student(
    texts: list[str], y: np.ndarray, labels: list[str], out: Path, s: TextSettings,
    heldout: float, kind: str, data_info: dict[str, Any],
    toxic: np.ndarray | None = None, any_labels: Sequence[str] | None = None,
) -> tuple[TrainResult, dict[str, np.ndarray], Classifier]:
    """Split, fit, calibrate on dev, save and report. ``toxic`` is each row's "any toxic"
    target (default: the max of its known labels); ``any_labels`` limits which labels that
    loss may push up on toxic rows with no known positive label (:func:`any_label_mask`)."""
    t0 = time.time()
    n = len(texts)
    train, dev, test = split_rows(n, s.seed, heldout)
    if len(labels) == 1 and toxic is None:  # the "any" loss would repeat the label's own loss
        s = replace(s, any_weight=0.0)
    if toxic is None:
        toxic = known_max(y)
    mask = any_label_mask(y, toxic, labels, any_labels)
    distil_fix = ("give texts the teacher scores >= 0.5 for it (the student keeps the "
                  "teacher's labels)")
    no_positive = warn_labels_without_positives(  # stacklevel 4: the user's train / distil call
        y[train], labels, fix=distil_fix if kind == "distil text" else None, stacklevel=4
    )
    max_len = int(s.arch["max_length"])

    def pick(idx: np.ndarray) -> list[str]:
        return [texts[i] for i in idx]

    dev_texts = pick(dev)
    tok = train_tokenizer(pick(train), vocab_size=s.vocab_size)
    fit = fit_text(
        pick(train), y[train], toxic[train], s, tokenizer=tok,
        any_labels=None if mask is None else mask[train],
        criterion=lambda m: heldout_loss(m, tok, dev_texts, y[dev], toxic[dev], max_len,
                                         s.any_weight, None if mask is None else mask[dev]),
    )  # fmt: skip
    p_dev = predict_text(fit.model, fit.tokenizer, dev_texts, max_len)
    thresholds = f1_thresholds(y[dev], p_dev, labels)
    out = Path(out)
    save_text_model(out, fit.model, fit.tokenizer, labels, s.arch, thresholds,
                    version=__version__)  # fmt: skip
    p_test = predict_text(fit.model, fit.tokenizer, pick(test), max_len)
    student = Classifier.from_pretrained(out, backend="torch")
    report: dict[str, Any] = {
        "kind": kind,
        "data": {**data_info, "rows": n, "train": len(train), "dev": len(dev),
                 "test": len(test), "labels": ", ".join(labels), "seed": s.seed,
                 "labels_without_positives": ", ".join(no_positive) or "none"},
        "training": {"epochs_run": len(fit.history), "best_epoch": fit.best_epoch,
                     "stopped_early": fit.stopped_early, "history": fit.history,
                     "settings": {k: v for k, v in vars(s).items()},
                     "wall_s": time.time() - t0},
        "heldout": heldout_metrics(y[test], p_test, labels, toxic[test]),
        "policy": thresholds,
        "policy_source": "F1-optimal per label on the dev split",
        "size_speed": {
            "student_mb": _folder_mb(out),
            "student_parameters": sum(p.numel() for p in fit.model.parameters()),
            "student_texts_per_s": text_speed(student, pick(test)[:512]),
        },
    }  # fmt: skip
    arrays = {"train": train, "dev": dev, "test": test, "p_test": p_test, "p_dev": p_dev}
    return TrainResult(out, report), arrays, student


def train_text(
    data: str | Path,
    out: str | Path,
    *,
    text_column: str = "text",
    label_columns: Sequence[str] | None = None,
    any_column: str | None = None,
    any_labels: Sequence[str] | None = None,
    settings: TextSettings | None = None,
    heldout: float = 0.2,
    seed: int = 0,
    dry_run: bool = False,
) -> TrainResult:
    """Fit a fast text scorer on labelled data.

    Args:
        data: CSV, TSV, JSONL or Parquet with a text column and label columns: one score
            (0/1, or continuous in [0, 1] like a ``tox_level``) or several labels
            (multilabel); an empty cell is "unknown" (left out of the loss).
        out: the model folder to write (``Classifier.from_pretrained(out)`` loads it).
        text_column: the column of texts.
        label_columns: the label columns (default: every column but ``text_column`` and
            ``any_column``).
        any_column: a column of toxic / not toxic (0/1 or [0, 1]; empty = unknown) for rows
            whose category is not known, e.g. a binary corpus joined to a per-label one with
            the label cells of its rows left empty. It trains the max over the labels, not a
            label of its own; the model still has only the label columns. Default: the max of
            each row's known labels.
        any_labels: the labels that loss may push up on a toxic row with no known positive
            label (default: all). Without a limit one label can become the catch-all for
            such rows; name the labels that toxic text of unknown category may mean.
        settings: the trainer's knobs (default :class:`TextSettings` with ``seed``).
        heldout: share of rows held out (seeded): half for early stopping and the policy,
            half for the report.
        seed: the split's and the training's seed when ``settings`` is not given.
        dry_run: check the data and run the whole path on at most 256 rows, one epoch, a tiny
            model (seconds).

    Raises:
        InvalidInputError: unreadable or malformed data; the message names the fix.
    """
    if any_labels is not None and not any_column:
        raise InvalidInputError(
            "any_labels (--any-labels) limits the rows that only say toxic, which come from an "
            "any_column (--any-column); name that column, or drop any_labels"
        )
    path = Path(data)
    columns, rows = read_table(path)
    texts = text_column_of(path, columns, rows, text_column)
    flag = any_column_of(path, columns, rows, any_column) if any_column else None
    exclude = [text_column] + ([any_column] if any_column else [])
    labels, y = label_matrix(path, columns, rows, label_columns, exclude=exclude,
                             allow_empty=flag is not None)  # fmt: skip
    toxic = any_targets(path, flag, y, labels, any_column or "")
    s = _text_settings(settings, dry_run, seed)
    if dry_run:
        texts, y, toxic = texts[:DRY_RUN_ROWS], y[:DRY_RUN_ROWS], toxic[:DRY_RUN_ROWS]
    info: dict[str, Any] = {"file": path.name, "dry_run": dry_run}
    if any_column:
        info.update(any_column=any_column,
                    rows_any_only=int(np.isnan(y).all(axis=1).sum()),
                    any_labels=", ".join(any_labels) if any_labels else "all")  # fmt: skip
    result, _, _ = _fit_text_student(texts, y, labels, Path(out), s, heldout, "train text",
                                     info, toxic=toxic, any_labels=any_labels)  # fmt: skip
    _write_report(result.folder, result.report)
    return result


def scorer_scores(teacher: TextScorer, results: Sequence[Any]) -> tuple[list[str], np.ndarray]:
    """``(toxic labels, scores [N, L])`` from a text scorer's ``score_text`` results."""
    labels = list(getattr(teacher, "toxic_labels", ["toxic"]))
    return labels, np.array([[r.scores[lab] for lab in labels] for r in results],
                            dtype=np.float32)


def teacher_scores(teacher: Classifier | TextScorer,
                   texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """``(toxic labels, scores [N, L])`` of a teacher's text model (negative labels such as
    ``neutral`` left out). A teacher that is not a Classifier (a :class:`~voicesafety.Cascade`)
    is scored through its ``score_text`` results."""
    if not isinstance(teacher, Classifier):
        return scorer_scores(teacher, list(teacher.score_text(list(texts), progress=None)))
    part = teacher.text
    labels = list(part.spec.labels)
    toxic = list(part.spec.toxic_labels)
    probs = teacher.score_text(list(texts), as_tensor=True, progress=None)
    p = _numpy(probs)
    return toxic, p[:, [labels.index(lab) for lab in toxic]].astype(np.float32)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return np.asarray(t.detach().cpu().float().numpy())


def distil_text(
    teacher: str | Path | Classifier,
    texts: str | Path | Sequence[str],
    out: str | Path,
    *,
    text_column: str = "text",
    settings: TextSettings | None = None,
    heldout: float = 0.2,
    seed: int = 0,
    dry_run: bool = False,
) -> TrainResult:
    """Label unlabelled texts with a teacher and train a fast student on its scores.

    Args:
        teacher: any text classifier ``Classifier.from_pretrained`` loads (a hub id such as
            ``s-nlp/roberta_toxicity_classifier``, a local folder, ``voicesafety/mini``), or
            a loaded :class:`Classifier`, or any text scorer with ``score_text`` and
            ``toxic_labels`` such as a :class:`~voicesafety.Cascade` (fast model + LLM judge;
            its thresholds are then the ones at which its scores best reproduce its flags).
        texts: a ``.txt`` file (one text per line), a table with ``text_column``, or a list.
        out: the student's folder.
        text_column: the text column of a table.
        settings: the trainer's knobs.
        heldout: share held out (seeded): half for early stopping and the policy, half for
            the report (AP against the teacher's flags, agreement, speed).
        seed: the split's and the training's seed when ``settings`` is not given.
        dry_run: at most 256 texts, one epoch, a tiny model.
    """
    clf: Classifier | TextScorer = (
        teacher if isinstance(teacher, Classifier) or hasattr(teacher, "score_text")
        else Classifier.from_pretrained(teacher))
    if isinstance(texts, (str, Path)):
        items = read_texts(texts, text_column)
        source = Path(texts).name
    else:
        items = [str(t) for t in texts]
        source = f"{len(items)} texts"
        if not items or any(not t.strip() for t in items):
            raise InvalidInputError("texts must be a non-empty list of non-blank strings")
    if dry_run:
        items = items[:DRY_RUN_ROWS]
    t0 = time.perf_counter()
    part = clf.text if isinstance(clf, Classifier) else None
    if part is not None:
        labels, y = teacher_scores(clf, items)
        t_thr = np.array([part.spec.policy.threshold(lab) for lab in labels])
    else:  # a scorer (a cascade): scored once, scores and flags from the same results
        results = list(clf.score_text(items, progress=None))
        labels, y = scorer_scores(clf, results)
        t_thr = verdict_thresholds(results, labels, y)
    label_s = time.perf_counter() - t0
    s = _text_settings(settings, dry_run, seed)
    result, arr, student = _fit_text_student(
        items, y, labels, Path(out), s, heldout, "distil text",
        {"texts": source, "teacher": str(getattr(clf, "name", type(clf).__name__)),
         "dry_run": dry_run},
    )  # fmt: skip
    test = [items[i] for i in arr["test"]]
    # the report's AP: the teacher's flags (its scores >= its thresholds) are the truth
    flags = (y[arr["test"]] >= t_thr).astype(np.float32)
    result.report["heldout"] = heldout_metrics(flags, arr["p_test"], labels)
    result.report["heldout"]["truth"] = "the teacher's flags at its own policy"
    # the student estimates the teacher's scores, so it keeps the teacher's thresholds
    result.report["policy"] = {lab: float(t) for lab, t in zip(labels, t_thr, strict=True)}
    (result.folder / "policy.json").write_text(
        json.dumps(policy_dict(result.report["policy"]), indent=2) + "\n")
    result.report["policy_source"] = "the teacher's thresholds"
    result.report["teacher_agreement"] = agreement(arr["p_test"], y[arr["test"]], t_thr)
    sp = result.report["size_speed"]
    sp["teacher_texts_per_s"] = text_speed(clf, test[:512])
    sp["speedup"] = sp["student_texts_per_s"] / sp["teacher_texts_per_s"]
    sp["teacher_labelling_texts_per_s"] = len(items) / max(label_s, 1e-9)
    if part is not None and part.spec.path is not None and part.spec.path.is_dir():
        sp["teacher_mb"] = sum(f.stat().st_size for f in part.spec.path.rglob("*")
                               if f.is_file()) / 1e6  # fmt: skip
    _write_report(result.folder, result.report)
    return result


# ------------------------------------------------------------------------------- audio


def load_clip(path: Path, max_seconds: float = 15.0) -> np.ndarray:
    """A clip as 16 kHz mono float32 (the first ``max_seconds``), decoded as the library
    does."""
    from ..audio import AudioSource

    blocks = list(AudioSource(path, 16_000).blocks())
    wav = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return wav[: int(max_seconds * 16_000)].astype(np.float32)


def train_audio(
    data: str | Path,
    out: str | Path,
    *,
    audio_column: str = "audio",
    label_columns: Sequence[str] | None = None,
    transcript_column: str = "transcript",
    teacher: str | Path | Classifier | None = None,
    teacher_weight: float = 0.5,
    settings: AudioSettings | None = None,
    heldout: float = 0.2,
    seed: int = 0,
    dry_run: bool = False,
) -> TrainResult:
    """Fit a fast audio scorer: audio paths with labels, or with transcripts a text teacher
    scores (the Roblox recipe), or both (targets ``(1 - w) * label + w * teacher score``).

    Args:
        data: CSV/TSV/JSONL/Parquet with ``audio_column`` (paths, relative to the file's
            folder) and label columns and/or ``transcript_column``.
        out: the model folder to write.
        audio_column: the column of audio paths.
        label_columns: label columns (default: every column but the audio and transcript
            ones). With a teacher they must be among its labels.
        transcript_column: what each clip says (used with ``teacher``).
        teacher: a text classifier scoring the transcripts.
        teacher_weight: ``w`` above, where a clip has both a label and a transcript.
        settings: the trainer's knobs (default :class:`AudioSettings` with ``seed``).
        heldout: share held out (seeded): half for early stopping and the policy, half for
            the report.
        seed: the split's and the training's seed when ``settings`` is not given.
        dry_run: at most 256 clips, two epochs, a tiny model.
    """
    t0 = time.time()
    path = Path(data)
    columns, rows = read_table(path)
    if audio_column not in columns:
        raise InvalidInputError(
            f"{path.name} has no column {audio_column!r} (columns: {', '.join(columns)}); "
            "name the audio path column with --audio-column (audio_column=...)")  # fmt: skip
    if dry_run:
        rows = rows[:DRY_RUN_ROWS]
    clf = None
    if teacher is not None:
        clf = teacher if isinstance(teacher, Classifier) else Classifier.from_pretrained(teacher)
    exclude = [audio_column, transcript_column]
    has_labels = bool(label_columns) or any(c not in exclude for c in columns)
    y_lab = None
    if has_labels:
        labels, y_lab = label_matrix(path, columns, rows, label_columns, exclude)
    elif clf is None:
        raise InvalidInputError(
            f"{path.name} has no label column and no teacher was given: add label columns, "
            f"or a {transcript_column!r} column and --teacher MODEL")  # fmt: skip
    targets = y_lab
    if clf is not None:
        transcripts = text_column_of(path, columns, rows, transcript_column)
        t_labels, p_t = teacher_scores(clf, transcripts)
        if y_lab is None:
            labels, targets = t_labels, p_t
        else:
            unknown = [lab for lab in labels if lab not in t_labels]
            if unknown:
                raise InvalidInputError(
                    f"label columns {unknown} are not labels of the teacher ({t_labels}); "
                    "name the columns after the teacher's labels, or drop the teacher")
            full = np.full((len(rows), len(t_labels)), np.nan, np.float32)
            for j, lab in enumerate(labels):
                full[:, t_labels.index(lab)] = y_lab[:, j]
            w = teacher_weight
            targets = np.where(np.isnan(full), p_t, (1 - w) * np.nan_to_num(full) + w * p_t)
            labels = t_labels
    assert targets is not None
    base = path.resolve().parent
    clips = []
    for i, r in enumerate(rows):
        value = r.get(audio_column)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"row {i + 1} of {path.name}: no audio path in "
                                    f"{audio_column!r}")  # fmt: skip
        p = Path(value)
        clips.append(p if p.is_absolute() else base / p)
    s = settings or AudioSettings(seed=seed)
    if dry_run:
        s = replace(s, epochs=2, arch=dict(TINY_AUDIO))
    from tqdm import tqdm

    wavs = [load_clip(c) for c in tqdm(clips, desc="decode audio", unit="clip")]
    fe_model = _frontend(s)
    feats = compute_features(fe_model, wavs)
    train, dev, test = split_rows(len(rows), s.seed, heldout)
    y_all = np.asarray(targets, np.float32)
    no_positive = warn_labels_without_positives(
        y_all[train], labels,
        fix="add clips labelled (or, with a teacher, transcripts scored) >= 0.5 for it, or "
            "name only the labels you have with --label-columns (label_columns=...)",
    )  # fmt: skip

    def dev_loss(m: Any) -> float:
        import torch

        lg = torch.from_numpy(audio_logits(m, [feats[i] for i in dev]))
        return float(masked_bce(lg, torch.from_numpy(y_all[dev])))

    fit = fit_audio([feats[i] for i in train], y_all[train], s, criterion=dev_loss)
    p_dev = predict_audio_features(fit.model, [feats[i] for i in dev])
    thresholds = f1_thresholds(targets[dev], p_dev, labels)
    out = Path(out)
    save_audio_model(out, fit.model, labels, s.arch, thresholds, version=__version__)
    p_test = predict_audio_features(fit.model, [feats[i] for i in test])
    student = Classifier.from_pretrained(out, backend="torch")
    test_paths: list[Any] = [str(clips[i]) for i in test][:64]
    seconds = sum(len(wavs[i]) for i in test[:64]) / 16_000
    rate = _median_rate(lambda: student.score(test_paths, progress=False), len(test_paths))
    report: dict[str, Any] = {
        "kind": "train audio",
        "data": {"file": path.name, "rows": len(rows), "train": len(train), "dev": len(dev),
                 "test": len(test), "labels": ", ".join(labels), "seed": s.seed,
                 "labels_without_positives": ", ".join(no_positive) or "none",
                 "teacher": clf.name if clf else None, "dry_run": dry_run},
        "training": {"epochs_run": len(fit.history), "best_epoch": fit.best_epoch,
                     "stopped_early": fit.stopped_early, "history": fit.history,
                     "settings": dict(vars(s)), "wall_s": time.time() - t0},
        "heldout": heldout_metrics(targets[test], p_test, labels),
        "policy": thresholds,
        "size_speed": {
            "student_mb": _folder_mb(out),
            "student_parameters": sum(p.numel() for p in fit.model.parameters()),
            "student_x_real_time": rate * seconds / max(len(test_paths), 1),
        },
    }  # fmt: skip
    if clf is not None:
        ts = [str(rows[i][transcript_column]) for i in test][:512]
        report["size_speed"]["teacher_texts_per_s"] = text_speed(clf, ts)
        t_lab, p_tt = teacher_scores(clf, ts)
        t_thr = np.array([clf.text.spec.policy.threshold(lab) for lab in t_lab])
        s_thr = np.array([thresholds[lab] for lab in labels])
        report["teacher_agreement"] = agreement(p_test[: len(ts)], p_tt, t_thr, s_thr)
    result = TrainResult(out, report)
    _write_report(out, report)
    return result


def _frontend(s: AudioSettings) -> Any:
    from ..models.arch import MiniAudioModel

    return MiniAudioModel(**s.arch).eval()
