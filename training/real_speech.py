"""Real, recorded, openly licensed human speech for training and evaluating the audio model.

The data live in ``training/data/speech/<source>/``: one ZIP archive per split
(``train.zip``, ``dev.zip``, ``test.zip``; stored, not deflated) of Ogg Opus clips, 16 kHz
mono, and ``clips.csv`` with the columns ``file_or_key,speaker,split,transcript,duration``
(``file_or_key`` is the member name inside ``<split>.zip``; an empty transcript means
unknown). Each source folder has a README with its URL, commit, licence and counts;
``training/data/speech/README.md`` is the index.

Splits are *speaker*-disjoint: a speaker's split is a deterministic hash of
``"<source>:<speaker>"`` (:func:`speaker_split`, about 70 / 10 / 20 % of the speakers in
train / dev / test), except for a source whose speakers are unknown, which sits in one split
as a whole (:attr:`SpeechSource.fixed_split`). Every clip is benign read or prompted speech.

The Free Spoken Digit Dataset is kept under ``benchmarks/data/speech/fsdd`` for independent
evaluation only; this module never loads it.

Only numpy, soundfile and the standard library are used::

    from training.real_speech import load_real_speech

    clips = load_real_speech(splits={"train"})
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
"""Sample rate of every clip (Hz)."""

SPLITS: tuple[str, ...] = ("train", "dev", "test")
DATA_DIR = Path(__file__).resolve().parent / "data" / "speech"
COLUMNS: tuple[str, ...] = ("file_or_key", "speaker", "split", "transcript", "duration")


@dataclass(frozen=True)
class SpeechSource:
    """What a speech source is and under which terms it may be used."""

    name: str
    url: str
    commit: str
    licence: str
    description: str
    fixed_split: str | None = None
    """The split holding the whole source when its speakers are unknown, else ``None``."""


@dataclass(frozen=True, eq=False)
class RealClip:
    """One recording: float32 mono audio at :data:`SR` in [-1, 1], and where it came from.

    ``speaker`` is ``"<source>:<speaker id>"`` (unique across sources); ``transcript`` is
    ``None`` when the source does not give one.
    """

    audio: np.ndarray
    source: str
    speaker: str
    split: str
    transcript: str | None


SPEECH_SOURCES: dict[str, SpeechSource] = {
    s.name: s
    for s in (
        SpeechSource(
            "speech_commands",
            "https://github.com/thegtagamer/PICO-tinyML-benchmark",
            "c66f6b0d78fe9218f6de9d07189691cfae077bee",
            "CC-BY-4.0",
            "Google Speech Commands v0.02 test-set files (Warden 2018): one-second single "
            "words (yes, no, up, down, digits, names, ...) crowd-recorded on phones and "
            "laptops by many speakers; speaker id from the file name; at most 12 clips per "
            "speaker.",
        ),
        SpeechSource(
            "speechocean762",
            "https://github.com/jimbozhang/speechocean762",
            "613968e3b0b789fc33936fb5eba1973176ba7d11",
            "Apache-2.0 (publisher's dataset card; README: free for commercial and "
            "non-commercial use)",
            "speechocean762 (Zhang et al. 2021): short read English sentences by 250 "
            "Mandarin-L1 speakers, 122 of them children aged 6-15; 5 utterances per "
            "speaker, with transcripts.",
        ),
        SpeechSource(
            "picovoice_s2i",
            "https://github.com/Picovoice/speech-to-intent-benchmark",
            "47b1ca63afe4f08cb83e1f70fec16764879bd130",
            "Apache-2.0",
            "Picovoice speech-to-intent benchmark: crowd-sourced spoken coffee orders "
            "('can I get a large latte ...') by more than 50 speakers; no speaker ids and no "
            "transcripts, so the whole source is training data.",
            fixed_split="train",
        ),
    )
}
"""Every source shipped in ``training/data/speech``, by folder name."""


def speaker_split(source: str, speaker: str) -> str:
    """The deterministic split of a speaker: train, dev or test (about 70 / 10 / 20 %).

    ``speaker`` is the id as written in ``clips.csv`` (without the ``source:`` prefix).
    """
    fixed = SPEECH_SOURCES[source].fixed_split if source in SPEECH_SOURCES else None
    if fixed is not None:
        return fixed
    bucket = int(hashlib.sha256(f"{source}:{speaker}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 80 else "test"


def _source_dir(name: str, root: Path) -> Path:
    if not root.is_dir():
        raise FileNotFoundError(
            f"real speech data folder {root} is missing: the prepared clips "
            "(training/data/speech/<source>/{train,dev,test}.zip and clips.csv) are not in "
            "this checkout"
        )
    folder = root / name
    if not (folder / "clips.csv").is_file():
        raise FileNotFoundError(
            f"{folder / 'clips.csv'} is missing: real speech source {name!r} is not in this "
            "checkout"
        )
    return folder


def _decode(data: bytes, where: str) -> np.ndarray:
    audio, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    if sr != SR:
        raise ValueError(f"{where}: sample rate {sr}, expected {SR}")
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def _load_source(name: str, splits: set[str] | None, root: Path) -> list[RealClip]:
    folder = _source_dir(name, root)
    path = folder / "clips.csv"
    wanted: dict[str, list[tuple[str, str, str | None]]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = tuple(next(reader))
        if header != COLUMNS:
            raise ValueError(f"{path}: header {header} differs from {COLUMNS}")
        for lineno, rec in enumerate(reader, start=2):
            if len(rec) != len(COLUMNS):
                raise ValueError(f"{path}:{lineno}: {len(rec)} cells, expected {len(COLUMNS)}")
            key, speaker, split, transcript = rec[0], rec[1], rec[2], rec[3]
            if split not in SPLITS:
                raise ValueError(f"{path}:{lineno}: unknown split {split!r}")
            if splits is None or split in splits:
                wanted.setdefault(split, []).append((key, speaker, transcript or None))
    clips: list[RealClip] = []
    for split in SPLITS:
        if split not in wanted:
            continue
        archive = folder / f"{split}.zip"
        if not archive.is_file():
            raise FileNotFoundError(f"{archive} is missing (listed in {path})")
        with zipfile.ZipFile(archive) as zf:
            for key, speaker, transcript in wanted[split]:
                audio = _decode(zf.read(key), f"{archive}:{key}")
                clips.append(RealClip(audio, name, f"{name}:{speaker}", split, transcript))
    return clips


def load_real_speech(
    splits: set[str] | None = None,
    sources: list[str] | None = None,
    *,
    root: Path | None = None,
) -> list[RealClip]:
    """Clips of the given sources (default: all) in the given splits (default: all).

    Clips come source by source, then train, dev, test, in ``clips.csv`` order. ``root``
    overrides the data folder (default :data:`DATA_DIR`). Raises ``ValueError`` for an
    unknown split or source and ``FileNotFoundError`` when the data are missing.
    """
    if splits is not None:
        unknown = set(splits) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown split(s) {sorted(unknown)}; known: {SPLITS}")
    names = list(SPEECH_SOURCES) if sources is None else list(sources)
    for name in names:
        if name not in SPEECH_SOURCES:
            raise ValueError(
                f"unknown real speech source {name!r}; known: {', '.join(SPEECH_SOURCES)}"
            )
    base = DATA_DIR if root is None else Path(root)
    out: list[RealClip] = []
    for name in names:
        out.extend(_load_source(name, None if splits is None else set(splits), base))
    return out
