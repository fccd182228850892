"""``voicesafety label AUDIO... --out DATASET``: machine-label voice audio into a training set
(VAD → Whisper → text classifier → Parquet; :mod:`voicesafety.labelling`, docs/labelling.md).

Registered in :mod:`voicesafety.cli`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def add_label(sub: Subparsers) -> None:
    """Declare ``voicesafety label``."""
    p = sub.add_parser(
        "label", help="machine-label audio: VAD segments, Whisper transcripts, text-model "
                      "scores, written as a Parquet dataset (docs/labelling.md)",
        description="Split each file at silences (Silero VAD), transcribe every speech segment "
                    "with Whisper (faster-whisper), score the transcripts with a voicesafety "
                    "text model and write the rows to DATASET (segments.parquet, "
                    "train.parquet, clips/, manifest.json). Re-running skips files done.")
    p.add_argument("files", nargs="+", help="audio files and/or folders (searched recursively)")
    p.add_argument("--out", "-o", required=True, help="dataset folder (created or added to)")
    p.add_argument("--asr", required=True,
                   help="Whisper model for faster-whisper: an id (tiny, base.en, small, ...; "
                        "downloaded from the hub) or a CTranslate2 Whisper folder")
    p.add_argument("--language", default=None,
                   help="spoken language for multilingual Whisper models, e.g. en (default: "
                        "detected per segment)")
    p.add_argument("--asr-device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--compute-type", default="default",
                   help="CTranslate2 compute type: default, int8, float16, ...")
    p.add_argument("--beam-size", type=int, default=1, help="1 is greedy (default)")
    p.add_argument("--asr-batch", type=int, default=8,
                   help="segments per Whisper call (default 8)")
    p.add_argument("--text-model", default=None,
                   help="voicesafety text model (default: the embedded voicesafety/mini)")
    p.add_argument("--backend", default="auto", help="the text model's backend (default auto)")
    p.add_argument("--vad-threshold", type=float, default=0.5,
                   help="Silero speech probability threshold (default 0.5)")
    p.add_argument("--min-silence", type=float, default=0.1,
                   help="seconds of silence that end a segment (default 0.1)")
    p.add_argument("--max-segment", type=float, default=30.0,
                   help="longest segment in seconds, at most 30 (default 30)")
    p.add_argument("--no-clips", action="store_true",
                   help="do not write segment clips (train.parquet then has no rows)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (default) or ray: an actor pool on Ray Data (pip install "
                        "'voicesafety[ray]'; the --out folder must be shared with the workers)")
    p.add_argument("--actors", type=int, default=None,
                   help="Ray actors (default: the cluster's CPUs minus one)")
    p.add_argument("--offline", action="store_true",
                   help="never download the Whisper model (it must be a folder or cached)")
    p.set_defaults(func=_run_label)


def _run_label(args: argparse.Namespace) -> int:
    from .labelling import FasterWhisper, label_files
    from .vad import VadOptions

    asr = FasterWhisper(args.asr, device=args.asr_device, compute_type=args.compute_type,
                        language=args.language, beam_size=args.beam_size,
                        batch_size=args.asr_batch, local_files_only=args.offline)
    result = label_files(
        args.files, args.out, asr=asr, text_model=args.text_model, backend=args.backend,
        vad=VadOptions(threshold=args.vad_threshold, min_silence=args.min_silence),
        max_segment=args.max_segment, export_clips=not args.no_clips, engine=args.engine,
        actors=args.actors,
        progress=True if sys.stderr.isatty() else None)
    print(f"labelled {result.files_labelled} file(s) into {result.segments} segment(s) "
          f"({result.seconds:.1f} s of audio); skipped {result.files_skipped} already done; "
          f"{result.files_failed} error row(s)")
    for path, message in result.errors.items():
        print(f"  error: {path}: {message}", file=sys.stderr)
    print(f"dataset: {result.dataset} (segments.parquet, train.parquet, manifest.json); "
          f"train a student: voicesafety train audio {result.dataset / 'train.parquet'} "
          "--out STUDENT")
    return 0
