"""``voicesafety train text|audio`` and ``voicesafety distil text``: fit or distil a scorer.

Registered in :mod:`voicesafety.cli`; the work is :mod:`voicesafety.train`'s.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .train import TrainResult

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _columns(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [c.strip() for c in value.split(",") if c.strip()]
    return names or None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", "-o", required=True, help="model folder to write")
    p.add_argument("--epochs", type=int, default=None, help="most epochs (early stopping on "
                   "the held-out loss may stop sooner)")  # fmt: skip
    p.add_argument("--heldout", type=float, default=0.2,
                   help="share of rows held out, half for early stopping and the policy, half "
                   "for the report (default 0.2)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="split and training seed (default 0)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the data and run the whole path on at most 256 rows, one "
                   "epoch, a tiny model (seconds)")  # fmt: skip


def _text_knobs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text-column", default="text", help="column of texts (default: text)")
    p.add_argument("--size", choices=("small", "base"), default="small",
                   help="student size: small (dim 64, 1 layer, ~0.3M parameters; default) or "
                   "base (the embedded model's: dim 128, 2 layers); both with a lexicon "
                   "(per-token scores, fitted first)")  # fmt: skip


def _text_settings(args: argparse.Namespace) -> object:
    from .train import TextSettings

    s = TextSettings(seed=args.seed)
    if args.size == "small":
        s = replace(s, arch={"dim": 64, "layers": 1, "heads": 2, "max_length": 128,
                             "lexicon": True}, vocab_size=4000, lr=2e-3, epochs=8)  # fmt: skip
    if args.epochs:
        s = replace(s, epochs=args.epochs)
    return s


def _done(result: TrainResult) -> int:
    print(result)
    print(f"model written to {result.folder} (report: {result.folder / 'report.md'}); load it "
          f"with Classifier.from_pretrained({str(result.folder)!r})")  # fmt: skip
    return 0


def _run_train_text(args: argparse.Namespace) -> int:
    from .train import train_text

    return _done(train_text(
        args.data, args.out, text_column=args.text_column,
        label_columns=_columns(args.label_columns), any_column=args.any_column,
        any_labels=_columns(args.any_labels), settings=_text_settings(args),  # type: ignore[arg-type]
        heldout=args.heldout, seed=args.seed, dry_run=args.dry_run,
    ))  # fmt: skip


def _run_train_audio(args: argparse.Namespace) -> int:
    from .train import AudioSettings, train_audio

    s = AudioSettings(seed=args.seed)
    if args.epochs:
        s = replace(s, epochs=args.epochs)
    return _done(train_audio(
        args.data, args.out, audio_column=args.audio_column,
        label_columns=_columns(args.label_columns), transcript_column=args.transcript_column,
        teacher=args.teacher, teacher_weight=args.teacher_weight, settings=s,
        heldout=args.heldout, seed=args.seed, dry_run=args.dry_run,
    ))  # fmt: skip


def _run_distil_text(args: argparse.Namespace) -> int:
    from .train import distil_text

    return _done(distil_text(
        args.teacher, args.texts, args.out, text_column=args.text_column,
        settings=_text_settings(args), heldout=args.heldout, seed=args.seed,  # type: ignore[arg-type]
        dry_run=args.dry_run,
    ))  # fmt: skip


def add_train(sub: Subparsers) -> None:
    """``voicesafety train text DATA --out DIR`` and ``voicesafety train audio DATA --out
    DIR``."""
    p = sub.add_parser("train", help="fit a fast scorer on your labelled data (text or audio)")
    kinds = p.add_subparsers(dest="kind", required=True)
    t = kinds.add_parser(
        "text", help="fit a text scorer on a CSV/TSV/JSONL/Parquet of texts and labels",
        description="DATA has a text column and one score/label column (0/1 or 0-1) or "
        "several label columns; with no --label-columns, every other column is a label.",
    )  # fmt: skip
    t.add_argument("data", help="CSV, TSV, JSONL (each may be .gz) or Parquet file")
    t.add_argument("--label-columns", default=None,
                   help="comma-separated label columns (default: every column but the text "
                   "and --any-column)")  # fmt: skip
    t.add_argument("--any-column", default=None,
                   help="column of toxic / not toxic for rows whose category is unknown (leave "
                   "their label cells empty); it trains the max over the labels")  # fmt: skip
    t.add_argument("--any-labels", default=None,
                   help="comma-separated labels that --any-column's toxic rows may push up "
                   "(default: all); stops one label becoming the catch-all")  # fmt: skip
    _text_knobs(t)
    _common(t)
    t.set_defaults(func=_run_train_text)
    a = kinds.add_parser(
        "audio", help="fit an audio scorer on audio paths with labels and/or transcripts",
        description="DATA has an audio path column (relative to DATA's folder) and label "
        "columns, and/or a transcript column scored by --teacher (the Roblox recipe).",
    )  # fmt: skip
    a.add_argument("data", help="CSV, TSV, JSONL (each may be .gz) or Parquet file")
    a.add_argument("--audio-column", default="audio", help="column of audio paths")
    a.add_argument("--label-columns", default=None,
                   help="comma-separated label columns (default: every column but the audio "
                   "and transcript ones)")  # fmt: skip
    a.add_argument("--transcript-column", default="transcript",
                   help="column of what each clip says (scored by --teacher)")
    a.add_argument("--teacher", default=None,
                   help="text model scoring the transcripts (name, hub id or folder)")
    a.add_argument("--teacher-weight", type=float, default=0.5,
                   help="target = (1 - w) * label + w * teacher score where both exist")
    _common(a)
    a.set_defaults(func=_run_train_audio)


def add_distil(sub: Subparsers) -> None:
    """``voicesafety distil text --teacher MODEL TEXTS --out DIR``."""
    p = sub.add_parser("distil", help="train a fast student on a teacher's scores")
    kinds = p.add_subparsers(dest="kind", required=True)
    t = kinds.add_parser(
        "text", help="label texts with a teacher text classifier and train a student on them")
    t.add_argument("texts", help=".txt (one text per line) or a CSV/TSV/JSONL/Parquet table")
    t.add_argument("--teacher", required=True,
                   help="teacher: a name (voicesafety/mini), hub id "
                   "(s-nlp/roberta_toxicity_classifier) or local folder")  # fmt: skip
    _text_knobs(t)
    _common(t)
    t.set_defaults(func=_run_distil_text)
