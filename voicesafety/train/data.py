"""Reading training tables: CSV, TSV, JSON lines, Parquet (and plain text, one per line)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError, require

TABLE_FORMATS = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}


def read_table(path: str | Path) -> tuple[list[str], list[dict[str, object]]]:
    """``(columns, rows)`` of a CSV/TSV/JSONL/Parquet file, the first three also gzipped
    (``.csv.gz``); Parquet needs ``pyarrow`` (``pip install "voicesafety[train]"``)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"data file not found: {path}")
    suffix = _suffix(path)
    rows: list[dict[str, object]] = []
    columns: list[str] = []
    if suffix in (".csv", ".tsv"):
        with _open(path) as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            columns = list(reader.fieldnames or [])
            rows = [dict(r) for r in reader]
    elif suffix in (".jsonl", ".ndjson"):
        with _open(path) as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInputError(
                        f"line {n} of {path.name}: invalid JSON ({exc}); each line must be "
                        "one JSON object") from exc  # fmt: skip
                if not isinstance(record, dict):
                    raise InvalidInputError(
                        f"line {n} of {path.name}: expected a JSON object, got "
                        f"{type(record).__name__}")  # fmt: skip
                rows.append(record)
                columns += [k for k in record if k not in columns]
    elif suffix == ".parquet":
        require("pyarrow", "train", "reading Parquet training data")
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        columns = list(table.column_names)
        rows = table.to_pylist()
    else:
        raise InvalidInputError(
            f"unknown data format {suffix!r} for {path}: use one of {', '.join(TABLE_FORMATS)} "
            "(CSV, TSV and JSONL may be gzipped: .csv.gz)"
        )
    if not rows:
        raise InvalidInputError(f"{path} holds no rows: it needs a header and at least one row")
    return columns, rows


def _suffix(path: Path) -> str:
    suffixes = [x.lower() for x in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz" and suffixes[-2] != ".parquet":
        return suffixes[-2]
    return path.suffix.lower()


def _open(path: Path) -> io.TextIOBase:
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_texts(path: str | Path, text_column: str = "text") -> list[str]:
    """Unlabelled texts: a ``.txt`` file (one text per line, blank lines skipped) or the
    ``text_column`` of a table."""
    path = Path(path)
    if _suffix(path) == ".txt":
        if not path.is_file():
            raise InvalidInputError(f"texts file not found: {path}")
        with _open(path) as fh:
            texts = [t.strip() for t in fh.read().splitlines() if t.strip()]
        if not texts:
            raise InvalidInputError(f"{path} holds no texts (one text per line)")
        return texts
    columns, rows = read_table(path)
    return text_column_of(path, columns, rows, text_column)


def _row_name(path: Path, i: int) -> str:
    return f"row {i + 1} of {path.name}"


def text_column_of(
    path: Path, columns: Sequence[str], rows: Sequence[dict[str, object]], column: str
) -> list[str]:
    """The texts of ``column``; every one a non-blank string."""
    if column not in columns:
        raise InvalidInputError(
            f"{path.name} has no column {column!r} (columns: {', '.join(map(str, columns))}); "
            "name the text column with --text-column (text_column=...)"
        )
    texts = []
    for i, row in enumerate(rows):
        value = row.get(column)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(
                f"{_row_name(path, i)}: column {column!r} holds {value!r}, not a text; "
                "remove the row or fill it in"
            )
        texts.append(value)
    return texts


def _score(value: object, where: str, column: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan  # unknown for this row: masked out of the loss
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE or low in _FALSE:
            return float(low in _TRUE)
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        score = math.nan
        ok = False
    else:
        ok = not math.isnan(score)
    if not ok or not 0.0 <= score <= 1.0:
        raise InvalidInputError(
            f"{where}: column {column!r} holds {value!r}, not a label or score in [0, 1]; "
            "fix the value, or pick the label columns with --label-columns (label_columns=...)"
        )
    return score


def label_matrix(
    path: Path, columns: Sequence[str], rows: Sequence[dict[str, object]],
    label_columns: Sequence[str] | None, exclude: Sequence[str], allow_empty: bool = False,
) -> tuple[list[str], np.ndarray]:
    """``(labels, y [N, L])``: the label columns (default: every column not in ``exclude``)
    as floats in [0, 1], NaN for an empty cell (unknown). A row with every cell empty is an
    error unless ``allow_empty`` (the caller then checks it has a target elsewhere)."""
    labels = list(label_columns) if label_columns else [c for c in columns if c not in exclude]
    if not labels:
        raise InvalidInputError(
            f"{path.name} has no label column (columns: {', '.join(map(str, columns))}): add "
            "a 0/1 or 0-1 score column, or name it with --label-columns"
        )
    missing = [c for c in labels if c not in columns]
    if missing:
        raise InvalidInputError(
            f"{path.name} has no column {', '.join(map(repr, missing))} (columns: "
            f"{', '.join(map(str, columns))}); fix --label-columns (label_columns=...)"
        )
    y = np.array(
        [[_score(r.get(c), _row_name(path, i), c) for c in labels] for i, r in enumerate(rows)],
        np.float32,
    ).reshape(len(rows), len(labels))
    empty = np.flatnonzero(np.isnan(y).all(axis=1))
    if len(empty) and not allow_empty:
        raise InvalidInputError(
            f"{_row_name(path, int(empty[0]))} has no value in any label column "
            f"({', '.join(labels)}); fill it in or remove the row"
        )
    return labels, y


def any_column_of(
    path: Path, columns: Sequence[str], rows: Sequence[dict[str, object]], column: str
) -> np.ndarray:
    """The values ``[N]`` of a toxic / not toxic column (see :func:`any_targets`), NaN where
    empty."""
    if column not in columns:
        raise InvalidInputError(
            f"{path.name} has no column {column!r} (columns: {', '.join(map(str, columns))}); "
            "fix --any-column (any_column=...)"
        )
    return np.array([_score(r.get(column), _row_name(path, i), column)
                     for i, r in enumerate(rows)], np.float32)  # fmt: skip


def known_max(y: np.ndarray) -> np.ndarray:
    """``[N]`` float32: the max of each row's known labels in ``y`` ``[N, L]`` (NaN =
    unknown), NaN where the row has none."""
    known = ~np.isnan(y)
    top = np.where(known.any(axis=1), np.max(np.where(known, y, -np.inf), axis=1), np.nan)
    return top.astype(np.float32)


def unexplained_rows(y: np.ndarray, toxic: np.ndarray) -> np.ndarray:
    """``[N]`` bool: the rows flagged toxic (``toxic >= 0.5``) that no known label explains
    (no value >= 0.5 in ``y``; NaN = unknown)."""
    return (np.asarray(toxic) >= 0.5) & ~(np.nan_to_num(y, nan=0.0) >= 0.5).any(axis=1)


def any_targets(
    path: Path, flag: np.ndarray | None, y: np.ndarray, labels: Sequence[str], column: str = ""
) -> np.ndarray:
    """The "any toxic" target ``[N]`` of each row: its value in the toxic / not toxic column
    ``flag`` (:func:`any_column_of`, named ``column``) where it has one, else the max of its
    known labels.

    Such a column serves rows whose category is unknown, e.g. a binary corpus joined to a
    per-label one (the label cells of its rows left empty). Without it (``flag`` None) the
    target is the max of the known labels.

    Raises:
        InvalidInputError: a row has no target at all, or contradicts itself (not toxic with
            a label >= 0.5, or toxic with every label known and < 0.5).
    """
    known = ~np.isnan(y)
    top = known_max(y)
    if flag is None:
        return top
    for i in range(len(y)):
        where, has = _row_name(path, i), not math.isnan(flag[i])
        if not has and not known[i].any():
            raise InvalidInputError(
                f"{where} has no value in {column!r} nor in any label column "
                f"({', '.join(labels)}); fill one in or remove the row"
            )
        if has and flag[i] < 0.5 and known[i].any() and top[i] >= 0.5:
            j = int(np.nanargmax(np.where(known[i], y[i], np.nan)))
            raise InvalidInputError(
                f"{where}: {column!r} says not toxic ({flag[i]:g}) but {labels[j]!r} is "
                f"{y[i, j]:g}; fix one of the two"
            )
        if has and flag[i] >= 0.5 and known[i].all() and top[i] < 0.5:
            raise InvalidInputError(
                f"{where}: {column!r} says toxic ({flag[i]:g}) but every label is < 0.5; "
                "set the label that applies, or empty the cells of the labels not known"
            )
    return np.where(np.isnan(flag), top, flag).astype(np.float32)


def any_label_mask(
    y: np.ndarray, toxic: np.ndarray, labels: Sequence[str], allowed: Sequence[str] | None,
    rows: np.ndarray | None = None,
) -> np.ndarray | None:
    """``[N, L]`` bool: the labels the "any toxic" loss of each row may push up.

    Rows that are toxic (``toxic >= 0.5``) with no known positive label, among ``rows``
    (default all), may use only ``allowed``; every other row uses every label. ``None`` when
    ``allowed`` is ``None`` (every label everywhere).

    Why: without it such a row pushes up whichever label the model already scores highest,
    and one label can become a catch-all for toxic text of unknown category (the embedded
    text model filed insults under Sexual that way; docs/models.md).
    """
    if allowed is None:
        return None
    unknown = [lab for lab in allowed if lab not in labels]
    if unknown or not allowed:
        raise InvalidInputError(
            f"any_labels names {', '.join(map(repr, unknown)) or 'no label'}; pick from the "
            f"label columns: {', '.join(labels)}"
        )
    unexplained = unexplained_rows(y, toxic)
    if rows is not None:
        unexplained &= np.asarray(rows, bool)
    mask = np.ones(np.shape(y), bool)
    mask[unexplained] = np.isin(list(labels), list(allowed))
    return mask


def labels_without_positives(y: np.ndarray, labels: Sequence[str]) -> list[str]:
    """The labels with no known positive in ``y`` ``[N, L]`` (no value >= 0.5; NaN = unknown)."""
    return [lab for j, lab in enumerate(labels) if not (np.nan_to_num(y[:, j]) >= 0.5).any()]


_ADD_OR_DROP = "add positive rows, or drop the column (--label-columns / label_columns=...)"


def warn_labels_without_positives(
    y: np.ndarray, labels: Sequence[str], fix: str | None = None, stacklevel: int = 3
) -> list[str]:
    """Warn (:class:`UserWarning`) about :func:`labels_without_positives` and return them.

    Why: such a label is only ever pushed down, or, with several labels, pushed up by the loss
    on the max logit against "any label", which can make it a catch-all for toxicity the data
    files elsewhere. The embedded text model did exactly that before its recipe marked the
    label absent (docs/models.md: insults scored DatingAndRomantic 0.99).

    Args:
        y: ``[N, L]`` targets of the training split (NaN = unknown).
        labels: the label of each column.
        fix: what the user can do, for the message (default: add positive rows or drop the
            column).
        stacklevel: passed to :func:`warnings.warn` (3: the caller of the function calling
            this one, i.e. the user's call of a trainer).
    """
    missing = labels_without_positives(y, labels)
    if missing:
        many = len(missing) > 1
        catch_all = (
            " With several labels the loss on the max logit may also make "
            f"{'them catch-alls' if many else 'it a catch-all'} for toxic rows labelled "
            "elsewhere." if len(labels) > 1 else ""
        )
        warnings.warn(
            f"label{'s' if many else ''} {', '.join(missing)} {'have' if many else 'has'} no "
            "positive row (no value >= 0.5) in the training split: the model cannot learn what "
            f"{'they mean' if many else 'it means'}.{catch_all} Fix: {fix or _ADD_OR_DROP}.",
            UserWarning, stacklevel=stacklevel,
        )  # fmt: skip
    return missing


def split_rows(n: int, seed: int, heldout: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A seeded ``(train, dev, test)`` split of ``n`` rows: ``heldout`` of them held out, half
    for early stopping and calibration (dev), half for the report (test)."""
    if not 0.0 < heldout < 1.0:
        raise InvalidInputError(f"heldout must lie in (0, 1), got {heldout}")
    n_half = max(1, round(n * heldout / 2))
    if n - 2 * n_half < 2:
        raise InvalidInputError(
            f"{n} rows are too few to hold {2 * n_half} out and still train: give more rows "
            "(a few hundred at least for a useful model)"
        )
    order = np.random.default_rng(seed).permutation(n)
    return order[2 * n_half :], order[:n_half], order[n_half : 2 * n_half]
