"""Real speech reserved for independent evaluation: never train, tune or select on it."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

FSDD_DIR = Path(__file__).resolve().parent / "data" / "speech" / "fsdd"


def load_fsdd() -> list[tuple[np.ndarray, str, str]]:
    """All 3,000 Free Spoken Digit Dataset recordings as ``(audio, speaker, digit)``.

    ``audio`` is float32 mono at 16 kHz in [-1, 1] (stored at the original 8 kHz, resampled
    here with soxr); ``speaker`` is the FSDD speaker name, ``digit`` is ``"0"`` to ``"9"``.
    Raises ``FileNotFoundError`` when ``benchmarks/data/speech/fsdd`` is missing.
    """
    table, archive = FSDD_DIR / "clips.csv", FSDD_DIR / "recordings.zip"
    for path in (table, archive):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the FSDD evaluation copy is not here")
    out: list[tuple[np.ndarray, str, str]] = []
    with open(table, encoding="utf-8", newline="") as fh, zipfile.ZipFile(archive) as zf:
        for row in csv.DictReader(fh):
            audio, sr = sf.read(io.BytesIO(zf.read(row["file"])), dtype="float32")
            if audio.ndim > 1:
                audio = audio.mean(axis=1)
            audio = soxr.resample(audio, sr, 16000) if sr != 16000 else audio
            out.append((np.clip(audio, -1.0, 1.0).astype(np.float32), row["speaker"], row["digit"]))
    return out
