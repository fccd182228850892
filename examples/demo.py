"""README command 1: score the bundled example clips and a few texts with the embedded model.

Run with `make demo` (sets everything up first) or `python examples/demo.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import voicesafety as vs

HERE = Path(__file__).resolve().parent
TEXTS = [
    "gg everyone, that was a great round",
    "i'm going to kill the final boss tonight",
    "you are a worthless piece of trash, uninstall",
    "send me pics, how old are you? wanna date",
    "f*ck this game, what the fuuuck",
]


def main() -> int:
    """Score example audio and texts and print readable tables."""
    clf = vs.Classifier.from_pretrained()  # the embedded default: offline, no download
    print(f"model: {clf.name} ({', '.join(clf.modalities)}) on {clf.backend}/{clf.device}\n")

    clips = sorted(p for p in (HERE / "audio").glob("*") if p.suffix in {".ogg", ".flac", ".wav"})
    if clips:
        audio_results = clf.score(clips)
        names = [p.name for p in clips]
    else:  # no bundled clips: one second of a quiet tone, to show the pipeline
        tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(16_000) / 16_000).astype(np.float32)
        audio_results, names = [clf.score(tone, sample_rate=16_000)], ["<220 Hz tone>"]
    print("Audio")
    print(vs.format_table(audio_results, names=names), "\n")

    print("Text")  # the table says so when the model is untrained
    print(vs.format_table(clf.score_text(TEXTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
