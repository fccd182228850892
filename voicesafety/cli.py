"""The ``voicesafety`` command.

Each subcommand is a pair of functions: ``_add_NAME(subparsers)`` declares its arguments and
sets ``func`` to ``_run_NAME(args) -> int``. Register new ones in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ._version import __version__
from .audio import AudioInput
from .classifier import Classifier
from .cli_label import add_label
from .cli_stream import add_stream
from .cli_train import add_distil, add_train
from .errors import InvalidInputError, VoiceSafetyError
from .evaluation import evaluate
from .export import ExportParityError, export
from .results import format_table

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", default=None,
                        help="model name, hub id or path (default: the embedded voicesafety/mini)")
    parser.add_argument("--backend", default="auto",
                        help="torch | torchscript | onnx | onnx-int8 | auto (default)")
    parser.add_argument("--device", default="auto", help="cpu | cuda | cuda:N | auto (default)")
    parser.add_argument("--precision", default="float32",
                        help="float32 (default) | float16 | bfloat16 (CUDA with torch only)")
    parser.add_argument("--threshold-policy", dest="policy", default=None,
                        help="path to a ThresholdPolicy JSON file (default: the model's own)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")


def _load(args: argparse.Namespace) -> Classifier:
    return Classifier.from_pretrained(args.model, backend=args.backend, device=args.device,
                                      policy=args.policy, precision=args.precision)


def untrained_note(clf: Classifier) -> str | None:
    """A warning line when the model's weights are untrained (random)."""
    parts = [clf.audio if m == "audio" else clf.text for m in clf.modalities]
    if any(not part.spec.trained for part in parts):
        return ("NOTE: this model is UNTRAINED (random weights): its scores are meaningless. "
                "It only shows the pipeline working.")
    return None


# --------------------------------------------------------------------------- score


def _add_score(sub: Subparsers) -> None:
    p = sub.add_parser("score", help="score audio files (or every audio file in folders)")
    p.add_argument("files", nargs="+",
                   help="audio files (wav, flac, ogg, mp3, ...) and/or folders (searched "
                        "recursively)")
    _model_args(p)
    p.add_argument("--batch-size", type=int, default=None,
                   help="windows per forward pass (default: 1 on CPU, 8 on CUDA)")
    p.add_argument("--window", type=float, default=None, help="window in seconds (default 15)")
    p.add_argument("--hop", type=float, default=None, help="hop in seconds (default = window)")
    p.add_argument("--vad", action="store_true",
                   help="score speech only (Silero VAD; the vad extra): see docs/streaming.md")
    p.add_argument("--engine", choices=("local", "ray"), default=None,
                   help="batch-score into a table: local, or on Ray Data (pip install "
                        "'voicesafety[ray]'); needs --out")
    p.add_argument("--out", default=None,
                   help="write one row per file to this Parquet file (voicesafety.batch)")
    p.set_defaults(func=_run_score)


def _progress(show: bool) -> bool | None:
    """A bar for long work only when stderr is a terminal (never in a pipe or a log file)."""
    return True if show and sys.stderr.isatty() else None


def _run_score(args: argparse.Namespace) -> int:
    from .batch import audio_files

    files = audio_files(args.files)
    if not files:
        raise InvalidInputError(f"no audio files in {' '.join(args.files)}")
    if args.engine is not None or args.out is not None:
        return _run_batch(args, files)
    clf = _load(args)
    inputs: list[AudioInput] = list(files)
    results = clf.score(inputs, batch_size=args.batch_size, window=args.window, hop=args.hop,
                        errors="return", progress=_progress(len(files) > 1),
                        vad=args.vad)
    failed = sum(not r.ok for r in results)
    if args.json:
        for r in results:
            print(r.model_dump_json())
    else:
        print(format_table(results))
    return 1 if failed else 0


def _run_batch(args: argparse.Namespace, files: list[str]) -> int:
    """``score --out FILE.parquet [--engine local|ray]``: one row per file (voicesafety.batch)."""
    from .batch import score_files

    if args.out is None:
        raise InvalidInputError("--engine writes a table: give --out FILE.parquet")
    if args.policy is not None:
        raise InvalidInputError("--threshold-policy is not supported with --out yet: "
                                "score without --out, or apply the policy to the table")
    import pyarrow.parquet as pq

    options = {k: v for k, v in (("window", args.window), ("hop", args.hop),
                                 ("batch_size", args.batch_size)) if v is not None}
    if args.vad:
        options["vad"] = True
    table = score_files(files, args.model, engine=args.engine or "local",
                        backend=args.backend, device=args.device, precision=args.precision,
                        progress=_progress(len(files) > 1), **options)
    pq.write_table(table, args.out)
    rows = table.to_pylist()
    failed = sum(r["error"] is not None for r in rows)
    flagged = sum(bool(r["flagged"]) for r in rows)
    print(f"{len(rows)} files scored -> {args.out}: {flagged} flagged, {failed} errors")
    return 1 if failed else 0


# --------------------------------------------------------------------------- text


def _add_text(sub: Subparsers) -> None:
    p = sub.add_parser("text", help="score texts (arguments, or one per line on stdin with -)")
    p.add_argument("texts", nargs="+", help="texts to score; '-' reads lines from stdin")
    _model_args(p)
    p.add_argument("--batch-size", type=int, default=None,
                   help="texts per forward pass (default: 8 on CPU, 64 on CUDA)")
    p.add_argument("--max-length", type=int, default=None,
                   help="truncate at this many tokens (default: the model's maximum)")
    p.add_argument("--explain", action="store_true", help="LLM judges: add the judge's reason")
    p.set_defaults(func=_run_text)


def _run_text(args: argparse.Namespace) -> int:
    texts = [line.rstrip("\n") for line in sys.stdin] if args.texts == ["-"] else args.texts
    clf = _load(args)
    results = clf.score_text(texts, batch_size=args.batch_size, max_length=args.max_length,
                             progress=_progress(len(texts) > 1000), explain=args.explain)
    if args.json:
        for r in results:
            print(r.model_dump_json())
    else:
        print(format_table(results))
    return 0


# --------------------------------------------------------------------------- eval


def _add_eval(sub: Subparsers) -> None:
    p = sub.add_parser(
        "eval", help="evaluate on labelled data (CSV/TSV/JSONL): AP, precision/recall, "
        "thresholds at a target false-positive rate")
    p.add_argument("data", help="a .csv/.tsv/.jsonl file with a text, audio or input column "
                   "and a labels column (comma-separated label names; 'none' or empty = clean)")
    _model_args(p)
    p.add_argument("--target-fpr", type=float, default=0.01,
                   help="false-positive rate of the reported operating points (default 0.01)")
    p.add_argument("--save-policy", default=None, metavar="PATH",
                   help="write the per-label thresholds at --target-fpr as ThresholdPolicy JSON")
    p.add_argument("--modality", choices=["auto", "audio", "text"], default="auto",
                   help="score every item as audio or as text (default: decided per item)")
    p.add_argument("--label-map", default=None, metavar="A=B,C=D",
                   help="rename the data's label names to the model's (C= to ignore C)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    label_map: dict[str, str | None] = {}
    for pair in filter(None, (args.label_map or "").split(",")):
        if "=" not in pair:
            raise InvalidInputError(f"--label-map entries must look like A=B, got {pair!r}")
        key, value = (x.strip() for x in pair.split("=", 1))
        label_map[key] = value or None
    clf = _load(args)
    report = evaluate(clf, args.data, modality=args.modality, label_map=label_map,
                      target_fpr=args.target_fpr, batch_size=args.batch_size,
                      progress=False if args.no_progress else _progress(True))
    if args.save_policy:
        report.policy_at_fpr(args.target_fpr).to_json(args.save_policy)
    if args.json:
        print(json.dumps(report.to_dict()))
        return 0
    print(report.summary())
    if args.save_policy:
        print(f"\nthresholds at {args.target_fpr:g} FPR written to {args.save_policy} "
              f"(use: --threshold-policy {args.save_policy})")
    note = untrained_note(clf)
    if note:
        print(note)
    return 0


# --------------------------------------------------------------------------- export


def _add_export(sub: Subparsers) -> None:
    p = sub.add_parser(
        "export", help="convert a model to TorchScript / ONNX / int8 ONNX, with a parity report")
    p.add_argument("model", help="model name, hub id or checkpoint folder (voicesafety/mini: the "
                   "embedded default; bundles export audio/ and text/)")
    p.add_argument("--to", required=True, choices=["torchscript", "onnx", "onnx-int8"],
                   help="target backend")
    p.add_argument("--out", required=True, help="output folder (loadable by from_pretrained)")
    p.add_argument("--probe", nargs="*", default=None, metavar="FILE",
                   help="probe data for the parity check: audio files, or text files with one "
                   "text per line (default: a built-in probe set)")
    p.add_argument("--json", action="store_true", help="print the parity reports as JSON")
    p.set_defaults(func=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    try:
        reports = export(args.model, args.to, args.out, probe=args.probe,
                         log=None if args.json else print)
    except ExportParityError as exc:
        print(f"voicesafety: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.to_dict() for r in reports]))
    else:
        print(f"wrote {args.out}: load it with Classifier.from_pretrained({args.out!r})")
    return 0


# --------------------------------------------------------------------------- main

COMMANDS: list[Callable[[Subparsers], None]] = [_add_score, _add_text, _add_eval, _add_export,
                                                add_train, add_distil,
                                                lambda sub: add_stream(sub, _model_args),
                                                add_label]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``voicesafety`` command."""
    parser = argparse.ArgumentParser(
        prog="voicesafety", description="Toxicity scores for voice-chat audio and text.")
    parser.add_argument("--version", action="version", version=f"voicesafety {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voicesafety`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe surfaces here rather than at interpreter exit
        return code
    except VoiceSafetyError as exc:
        print(f"voicesafety: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`voicesafety ... --json | head`): stop quietly, as Unix tools
        # do. stdout is pointed at /dev/null so that Python's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the pipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
