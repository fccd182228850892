"""``voicesafety stream``: score raw PCM read from stdin as a live stream, one JSON line per
event.

    ffmpeg -loglevel quiet -i call.ogg -f s16le -ac 1 -ar 48000 - \\
        | voicesafety stream --rate 48000
    sox call.ogg -t raw -e signed -b 16 -r 16000 -c 1 - | voicesafety stream --rate 16000
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, BinaryIO

from .classifier import Classifier
from .results import StreamEvent
from .vad import VadOptions

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

#: ``--format`` → the stream's sample type (little-endian, as ffmpeg's/sox's raw output).
FORMATS = {"s16le": "int16", "s32le": "int32", "f32le": "float32"}


def add_stream(sub: Subparsers, model_args: object) -> None:
    """Declare ``voicesafety stream``; ``model_args`` adds the shared --model/--backend/...."""
    p = sub.add_parser(
        "stream", help="score raw PCM from stdin as a live stream (JSON lines per event)",
        description="Read raw PCM from stdin (e.g. piped from ffmpeg or sox), find speech with "
                    "Silero VAD and print one JSON line per scored window as it completes.")
    p.add_argument("--rate", type=int, required=True, help="sample rate of the PCM in Hz")
    p.add_argument("--channels", type=int, default=1, help="interleaved channels (default 1)")
    p.add_argument("--format", choices=sorted(FORMATS), default="s16le",
                   help="sample format (default s16le: 16-bit little-endian)")
    p.add_argument("--chunk-ms", type=float, default=20.0,
                   help="milliseconds read from stdin per push (default 20)")
    p.add_argument("--window", type=float, default=None, help="window in seconds (default 15)")
    p.add_argument("--hop", type=float, default=None,
                   help="hop of rolling windows in long speech (default = window)")
    p.add_argument("--name", default=None, help="a name carried by every event")
    defaults = VadOptions()
    p.add_argument("--threshold", type=float, default=defaults.threshold,
                   help=f"VAD speech threshold (default {defaults.threshold})")
    p.add_argument("--min-speech", type=float, default=defaults.min_speech,
                   help=f"shortest speech kept, seconds (default {defaults.min_speech})")
    p.add_argument("--min-silence", type=float, default=defaults.min_silence,
                   help=f"silence that ends speech, seconds (default {defaults.min_silence})")
    p.add_argument("--speech-pad", type=float, default=defaults.speech_pad,
                   help=f"padding around speech, seconds (default {defaults.speech_pad})")
    model_args(p)  # type: ignore[operator]
    p.set_defaults(func=run_stream)


def run_stream(args: argparse.Namespace, stdin: BinaryIO | None = None) -> int:
    """Read stdin to its end, printing events as JSON lines; 0 on success."""
    clf = Classifier.from_pretrained(args.model, backend=args.backend, device=args.device,
                                     policy=args.policy, precision=args.precision)
    vad = dict(threshold=args.threshold, min_speech=args.min_speech,
               min_silence=args.min_silence, speech_pad=args.speech_pad)
    dtype = FORMATS[args.format]
    stream = clf.stream(sample_rate=args.rate, channels=args.channels, window=args.window,
                        hop=args.hop, vad=vad, dtype=dtype, name=args.name)
    width = {"int16": 2, "int32": 4, "float32": 4}[dtype] * args.channels
    size = max(width, int(args.rate * args.chunk_ms / 1000) * width)
    source = stdin if stdin is not None else sys.stdin.buffer
    while True:
        data = source.read(size)
        if not data:
            break
        _print(stream.push(data))
    _print(stream.flush())
    return 0


def _print(events: list[StreamEvent]) -> None:
    for event in events:
        print(json.dumps(event.to_dict()), flush=True)
