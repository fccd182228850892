"""Notebook display (HTML) and matplotlib plots of results and evaluation reports.

What is drawn is described by the protocols below (a scored text, an audio result, an
evaluation report...), not by the result classes: results and reports call these functions
from their ``_repr_html_``/``plot`` methods, so this module sits below them and must not
import them.

matplotlib is optional (the ``plot`` extra) and only imported inside the plotting functions;
without it they raise :class:`MissingDependencyError` saying what to install.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Protocol, Union, runtime_checkable

import numpy as np

from .calibration import OperatingPoint
from .errors import require
from .policy import ThresholdPolicy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Windows drawn in an audio timeline before the rest is summarised.
MAX_TIMELINE_WINDOWS = 240


# --------------------------------------------------------------------------- what is drawn


class _Info(Protocol):
    @property
    def trained(self) -> bool: ...


class _Scored(Protocol):
    @property
    def scores(self) -> Mapping[str, float]: ...
    @property
    def flags(self) -> Sequence[str]: ...
    @property
    def flagged(self) -> bool: ...
    @property
    def toxicity(self) -> float: ...
    @property
    def policy(self) -> ThresholdPolicy: ...
    @property
    def model(self) -> _Info: ...


@runtime_checkable
class ScoredText(_Scored, Protocol):
    """A text's scores (:class:`~voicesafety.TextResult`)."""

    @property
    def text(self) -> str: ...


class _Window(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def scores(self) -> Mapping[str, float]: ...


@runtime_checkable
class ScoredAudio(_Scored, Protocol):
    """An audio clip's scores per window (:class:`~voicesafety.AudioResult`)."""

    @property
    def source(self) -> str: ...
    @property
    def duration(self) -> float: ...
    @property
    def windows(self) -> Sequence[_Window]: ...


@runtime_checkable
class Failure(Protocol):
    """An input that failed (:class:`~voicesafety.ErrorResult`)."""

    @property
    def source(self) -> str: ...
    @property
    def error(self) -> str: ...
    @property
    def message(self) -> str: ...


Row = Union[ScoredText, ScoredAudio, Failure]  # noqa: UP007 - a runtime alias, py3.10


class _Rates(Protocol):
    @property
    def precision(self) -> float: ...
    @property
    def recall(self) -> float: ...
    @property
    def f1(self) -> float: ...
    @property
    def fpr(self) -> float | None: ...


class _LabelRates(_Rates, Protocol):
    @property
    def support(self) -> int: ...
    @property
    def average_precision(self) -> float | None: ...
    @property
    def threshold(self) -> float: ...


class Report(Protocol):
    """An evaluation report (:class:`~voicesafety.EvalReport`)."""

    @property
    def model(self) -> str: ...
    @property
    def modality(self) -> str: ...
    @property
    def n_items(self) -> int: ...
    @property
    def n_toxic(self) -> int: ...
    @property
    def target_fpr(self) -> float: ...
    @property
    def binarized_ap(self) -> float | None: ...
    @property
    def mean_average_precision(self) -> float | None: ...
    @property
    def flagged(self) -> _Rates: ...
    @property
    def binarized_operating_point(self) -> OperatingPoint | None: ...
    @property
    def per_label(self) -> Mapping[str, _LabelRates]: ...
    @property
    def operating_points(self) -> Mapping[str, OperatingPoint]: ...

    def pr_curve(self, label: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ...


# --------------------------------------------------------------------------- matplotlib


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    require("matplotlib", "plot", "plotting")
    import matplotlib.pyplot as plt

    _fig, new = plt.subplots(figsize=figsize)
    return new


# --------------------------------------------------------------------------- HTML

_STYLE = (
    "border-collapse:collapse;font-family:system-ui,sans-serif;font-size:12px;"
    "margin:2px 0"
)
_CELL = "padding:2px 6px;border:1px solid #ddd;text-align:left"


def score_colour(score: float) -> str:
    """CSS background for a score: white at 0, red at 1."""
    s = min(max(float(score), 0.0), 1.0)
    return f"rgba(220,38,38,{s:.2f})"


def _score_cell(score: float, flagged: bool = False, title: str = "") -> str:
    weight = "font-weight:bold;" if flagged else ""
    colour = "#fff" if score > 0.6 else "#000"
    tip = f' title="{escape(title)}"' if title else ""
    return (
        f'<td style="{_CELL};{weight}background:{score_colour(score)};color:{colour}"{tip}>'
        f"{score:.2f}</td>"
    )


def _th(text: str) -> str:
    return f'<th style="{_CELL};background:#f5f5f5">{escape(text)}</th>'


def _td(text: str) -> str:
    return f'<td style="{_CELL}">{escape(text)}</td>'


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _flag_text(result: _Scored) -> str:
    return ", ".join(result.flags) if result.flags else "–"


def _untrained(result: _Scored) -> str:
    if not result.model.trained:
        return (
            '<div style="color:#b45309;font-size:11px">model is untrained (random weights): '
            "scores are meaningless</div>"
        )
    return ""


# --------------------------------------------------------------------------- plain text

#: What a table or summary says under results of an untrained (random) model.
UNTRAINED_NOTE = ("NOTE: this model is UNTRAINED (random weights): its scores are meaningless. "
                  "It only shows the pipeline working.")


def _top(scores: Mapping[str, float], top: int) -> str:
    best = sorted(scores.items(), key=lambda kv: -kv[1])[:top]
    return "  ".join(f"{label}={value:.2f}" for label, value in best)


def _cut(text: str, width: int, *, keep_end: bool = False) -> str:
    text = " ".join(text.split())  # one line: newlines and tabs would break the table
    if len(text) <= width:
        return text
    # paths keep their end (the file name), texts their beginning
    return "…" + text[-(width - 1):] if keep_end else text[: width - 1] + "…"


def text_table(results: Sequence[Row], names: Sequence[str] | None = None, top: int = 3,
               width: int = 48) -> str:
    """A plain-text table, one row per result: input, length (audio), toxicity, flags and the
    ``top`` scores, rounded to 2 decimals; errors show their message. Notes follow the
    table (too-short clips, truncated texts, an untrained model)."""
    if names is not None and len(names) != len(results):
        raise ValueError(f"names has {len(names)} entries for {len(results)} results")
    audio = any(isinstance(r, ScoredAudio) for r in results)
    text = any(isinstance(r, ScoredText) for r in results)
    kind = "input" if audio == text else "clip" if audio else "text"
    header = [kind, *(["length"] if audio else []), "toxicity", "flags", "top scores"]
    rows: list[list[str]] = []
    short = cut = 0
    untrained = False
    for i, r in enumerate(results):
        if isinstance(r, Failure) and not isinstance(r, (ScoredText, ScoredAudio)):
            name = names[i] if names is not None else r.source
            rows.append([_cut(name, width, keep_end=True), *(["-"] if audio else []), "ERROR",
                         r.error,
                         _cut(r.message, 80)])
            continue
        scored: _Scored = r
        if isinstance(r, ScoredAudio):
            name = _cut(names[i] if names is not None else r.source, width, keep_end=True)
            length = [f"{r.duration:.1f}s"]
            short += bool(getattr(r, "too_short", False))
        else:
            name = _cut(names[i] if names is not None else r.text, width)
            length = ["-"] if audio else []
            cut += bool(getattr(r, "truncated", False))
        untrained = untrained or not scored.model.trained
        rows.append([name, *length, f"{scored.toxicity:.2f}",
                     ",".join(scored.flags) or "-", _top(scored.scores, top)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    if short:
        lines.append(f"note: {short} clip(s) too short for the model: not scored, not flagged")
    if cut:
        lines.append(f"note: {cut} text(s) truncated at the model's token limit")
    if untrained:
        lines.append(UNTRAINED_NOTE)
    return "\n".join(lines)


def text_summary(result: Row, top: int = 6, max_windows: int = 8) -> str:
    """A few lines on one result: what it is, flags, rounded scores, windows (audio)."""
    if isinstance(result, Failure) and not isinstance(result, (ScoredText, ScoredAudio)):
        return f"ErrorResult {result.source}: {result.error}: {result.message}"
    scored: _Scored = result
    verdict = f"FLAGGED {', '.join(scored.flags)}" if scored.flagged else "not flagged"
    if isinstance(result, ScoredAudio):
        n = len(result.windows)
        head = (f"AudioResult {result.source} ({result.duration:.2f} s, {n} "
                f"window{'s' if n != 1 else ''}): {verdict}, toxicity {scored.toxicity:.2f}")
        if getattr(result, "too_short", False):
            head += " (too short for the model: not scored)"
        speech = getattr(result, "speech_seconds", None)
        if speech is not None:
            head += f" (VAD: {speech:.2f} s of speech scored)"
    else:
        head = f"TextResult {_cut(result.text, 60)!r}: {verdict}, toxicity {scored.toxicity:.2f}"
        if getattr(result, "truncated", False):
            head += " (truncated)"
    lines = [head, f"  scores: {_top(scored.scores, top)}"]
    if isinstance(result, ScoredAudio) and len(result.windows) > 1:
        for w in result.windows[:max_windows]:
            label, value = max(w.scores.items(), key=lambda kv: kv[1])
            lines.append(f"  {w.start:6.1f}–{w.end:.1f} s  top {label}={value:.2f}")
        if len(result.windows) > max_windows:
            lines.append(f"  … {len(result.windows) - max_windows} more windows")
    if not scored.model.trained:
        lines.append("  " + UNTRAINED_NOTE)
    return "\n".join(lines)


def text_result_html(result: ScoredText) -> str:
    """One text's scores as a one-row table, flagged labels in bold."""
    labels = list(result.scores)
    head = "".join(_th(h) for h in ["text", "toxicity", "flags", *labels])
    cells = [_td(_short(result.text)), _score_cell(result.toxicity, result.flagged),
             _td(_flag_text(result))]
    cells += [_score_cell(result.scores[lab], lab in result.flags) for lab in labels]
    return (
        f'<table style="{_STYLE}"><tr>{head}</tr><tr>{"".join(cells)}</tr></table>'
        + _untrained(result)
    )


def timeline_html(result: ScoredAudio) -> str:
    """A label × window grid, each cell coloured by that window's score."""
    labels = list(result.scores)
    windows = list(result.windows)[:MAX_TIMELINE_WINDOWS]
    cells = "width:14px;height:14px;padding:0;border:1px solid #fff"
    rows = []
    for lab in labels:
        threshold = result.policy.threshold(lab)
        row = [f'<td style="{_CELL};white-space:nowrap">{escape(lab)}</td>']
        for w in windows:
            s = float(w.scores.get(lab, 0.0))
            tip = f"{w.start:.1f}–{w.end:.1f} s: {lab} {s:.2f}"
            edge = "outline:1px solid #000;" if s >= threshold and lab in result.flags else ""
            row.append(
                f'<td style="{cells};{edge}background:{score_colour(s)}" '
                f'title="{escape(tip)}"></td>'
            )
        rows.append(f"<tr>{''.join(row)}</tr>")
    more = len(result.windows) - len(windows)
    note = f"<div>… {more} more windows</div>" if more > 0 else ""
    span = f"{windows[0].start:.1f}–{windows[-1].end:.1f} s" if windows else "no windows"
    caption = f'<caption style="text-align:left">timeline ({escape(span)})</caption>'
    return f'<table style="{_STYLE}">{caption}{"".join(rows)}</table>{note}'


def audio_result_html(result: ScoredAudio) -> str:
    """Summary row (source, length, toxicity, flags, scores) and a per-window timeline."""
    labels = list(result.scores)
    head = "".join(_th(h) for h in ["source", "length", "toxicity", "flags", *labels])
    cells = [_td(_short(result.source, 60)), _td(f"{result.duration:.1f} s"),
             _score_cell(result.toxicity, result.flagged), _td(_flag_text(result))]
    cells += [_score_cell(result.scores[lab], lab in result.flags) for lab in labels]
    summary = f'<table style="{_STYLE}"><tr>{head}</tr><tr>{"".join(cells)}</tr></table>'
    return f"<div>{summary}{timeline_html(result)}{_untrained(result)}</div>"


def _label_union(results: Sequence[Row]) -> list[str]:
    labels: list[str] = []
    for r in results:
        if not isinstance(r, Failure):
            labels += [lab for lab in r.scores if lab not in labels]
    return labels


def _name(result: Row) -> str:
    if isinstance(result, ScoredText):
        return result.text
    return result.source


def result_list_html(results: Sequence[Row]) -> str:
    """One row per result (texts, audio clips and errors), in order."""
    if not results:
        return "<div>no results</div>"
    labels = _label_union(results)
    head = "".join(_th(h) for h in ["#", "input", "toxicity", "flags", *labels])
    rows = []
    first: _Scored | None = None
    for i, r in enumerate(results):
        if isinstance(r, Failure):
            rows.append(
                f"<tr>{_td(str(i))}{_td(_short(r.source, 60))}"
                f'<td style="{_CELL};color:#b91c1c" colspan="{len(labels) + 2}">'
                f"{escape(r.error)}: {escape(_short(r.message, 120))}</td></tr>"
            )
            continue
        first = first or r
        name = r.text if isinstance(r, ScoredText) else f"{r.source} ({r.duration:.1f} s)"
        cells = [_td(str(i)), _td(_short(name, 60)), _score_cell(r.toxicity, r.flagged),
                 _td(_flag_text(r))]
        cells += [
            _score_cell(r.scores[lab], lab in r.flags) if lab in r.scores else _td("")
            for lab in labels
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table style="{_STYLE}"><tr>{head}</tr>{"".join(rows)}</table>'
        + (_untrained(first) if first is not None else "")
    )


def report_html(report: Report) -> str:
    """Headline numbers and a per-label table of an evaluation report."""
    b = report.flagged
    op = report.binarized_operating_point
    pct = f"{100 * report.target_fpr:g}%"
    head = (
        f"<div><b>{escape(report.model)}</b> on {report.n_items} items "
        f"({report.n_toxic} toxic, {escape(report.modality)}): binarized AP "
        f"<b>{_fmt(report.binarized_ap)}</b>, mean AP {_fmt(report.mean_average_precision)}; "
        f"flagged vs any toxic at the current policy: precision {_fmt(b.precision)}, "
        f"recall {_fmt(b.recall)}, F1 {_fmt(b.f1)}, FPR {_fmt(b.fpr)}"
        + (f"; shared threshold at {pct} FPR: {_fmt(op.threshold)} "
           f"(recall {_fmt(op.recall)})" if op else "")
        + "</div>"
    )
    cols = ["label", "support", "AP", "threshold", "precision", "recall", "F1", "FPR",
            f"thr @ {pct} FPR", f"recall @ {pct} FPR"]
    rows = []
    for label, m in report.per_label.items():
        point = report.operating_points.get(label)
        ap = (_score_cell(m.average_precision) if m.average_precision is not None
              else _td("–"))
        values = [_fmt(m.threshold, 2), _fmt(m.precision), _fmt(m.recall), _fmt(m.f1),
                  _fmt(m.fpr), _fmt(point.threshold if point else None),
                  _fmt(point.recall if point else None)]
        rows.append(
            f"<tr>{_td(label)}{_td(str(m.support))}{ap}{''.join(_td(v) for v in values)}</tr>"
        )
    table = (
        f'<table style="{_STYLE}"><tr>{"".join(_th(c) for c in cols)}</tr>'
        f'{"".join(rows)}</table>'
    )
    return f"<div>{head}{table}</div>"


def report_text(report: Report) -> str:
    """Plain-text version of :func:`report_html`."""
    pct = f"{100 * report.target_fpr:g}%"
    b = report.flagged
    lines = [
        f"{report.model} on {report.n_items} items ({report.n_toxic} toxic, {report.modality})",
        f"binarized AP {_fmt(report.binarized_ap)}   mean AP "
        f"{_fmt(report.mean_average_precision)}",
        f"flagged vs any toxic (current policy): precision {_fmt(b.precision)}  recall "
        f"{_fmt(b.recall)}  F1 {_fmt(b.f1)}  FPR {_fmt(b.fpr)}",
    ]
    op = report.binarized_operating_point
    if op is not None:
        lines.append(f"shared threshold at {pct} FPR: {_fmt(op.threshold)}  "
                     f"recall {_fmt(op.recall)}  precision {_fmt(op.precision)}")
    header = ["label", "support", "AP", "thr", "prec", "recall", "F1", "FPR",
              f"thr@{pct}", f"recall@{pct}"]
    rows = [header]
    for label, m in report.per_label.items():
        point = report.operating_points.get(label)
        rows.append([label, str(m.support), _fmt(m.average_precision), _fmt(m.threshold, 2),
                     _fmt(m.precision), _fmt(m.recall), _fmt(m.f1), _fmt(m.fpr),
                     _fmt(point.threshold if point else None),
                     _fmt(point.recall if point else None)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines.append("")
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- plots


def plot_audio(result: ScoredAudio, ax: Axes | None = None,
               labels: Sequence[str] | None = None) -> Axes:
    """Per-window scores over time, one line per label, thresholds dashed."""
    ax = _axes(ax, (8, 3))
    names = list(labels) if labels is not None else list(result.scores)
    windows = list(result.windows)
    for lab in names:
        xs, ys = [], []
        for w in windows:
            xs += [w.start, w.end]
            ys += [w.scores.get(lab, 0.0)] * 2
        (line,) = ax.plot(xs, ys, label=lab, linewidth=1.5)
        threshold = result.policy.threshold(lab)
        ax.axhline(threshold, color=line.get_color(), linestyle=":", linewidth=0.8)
    ax.set_xlim(0, max(result.duration, windows[-1].end if windows else 0.0) or 1.0)
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("score")
    ax.set_title(f"{result.source}: toxicity {result.toxicity:.2f}"
                 + (f" — flagged: {', '.join(result.flags)}" if result.flags else ""))
    ax.legend(loc="upper right", fontsize=7, ncols=2)
    return ax


def plot_text(result: ScoredText, ax: Axes | None = None) -> Axes:
    """Horizontal bars of one text's scores, with each label's threshold marked."""
    ax = _axes(ax, (6, 0.4 * len(result.scores) + 1))
    labels = list(result.scores)
    values = [result.scores[lab] for lab in labels]
    colours = ["#dc2626" if lab in result.flags else "#9ca3af" for lab in labels]
    ax.barh(labels, values, color=colours)
    for i, lab in enumerate(labels):
        t = result.policy.threshold(lab)
        ax.plot([t, t], [i - 0.4, i + 0.4], color="#000", linewidth=1)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("score")
    ax.set_title(_short(result.text, 60))
    return ax


def plot_results(results: Sequence[Row], ax: Axes | None = None) -> Axes:
    """Heat map of items × labels (errors left blank)."""
    labels = _label_union(results)
    grid = np.full((len(results), len(labels)), np.nan)
    names = []
    for i, r in enumerate(results):
        names.append(_short(_name(r) or str(i), 30))
        if not isinstance(r, Failure):
            grid[i] = [r.scores.get(lab, np.nan) for lab in labels]
    ax = _axes(ax, (1 + 0.9 * max(len(labels), 1), 1 + 0.3 * max(len(results), 1)))
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="Reds", aspect="auto")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(results)), names, fontsize=8)
    ax.figure.colorbar(image, ax=ax, label="score")
    return ax


def plot_report(report: Report, ax: Axes | None = None,
                labels: Sequence[str] | None = None) -> Axes:
    """Precision-recall curves per label and binarized, operating points at the target FPR."""
    ax = _axes(ax, (6, 5))
    names = list(labels) if labels is not None else [
        lab for lab, m in report.per_label.items() if m.support > 0
    ]
    pct = f"{100 * report.target_fpr:g}%"
    for lab in names:
        precision, recall, _ = report.pr_curve(lab)
        ap = report.per_label[lab].average_precision
        (line,) = ax.step(recall, precision, where="post", linewidth=1.2,
                          label=f"{lab} (AP {_fmt(ap, 2)})")
        point = report.operating_points.get(lab)
        if point is not None and point.recall is not None and point.precision is not None:
            ax.plot([point.recall], [point.precision], "o", color=line.get_color(), ms=4)
    if report.n_toxic:
        precision, recall, _ = report.pr_curve(None)
        ax.step(recall, precision, where="post", color="#000", linewidth=2,
                label=f"binarized (AP {_fmt(report.binarized_ap, 2)})")
        op = report.binarized_operating_point
        if op is not None and op.recall is not None and op.precision is not None:
            ax.plot([op.recall], [op.precision], "o", color="#000", ms=5,
                    label=f"operating points at {pct} FPR")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"{report.model}: {report.n_items} items")
    ax.legend(loc="lower left", fontsize=7)
    return ax
