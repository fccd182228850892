"""The real speech under training/data/speech: loads, splits are speaker-disjoint, audio is sane.

Also the FSDD copy reserved for evaluation (benchmarks/data/speech/fsdd): it loads, and it is
nowhere under training/.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from training.real_speech import (
    COLUMNS,
    DATA_DIR,
    SPEECH_SOURCES,
    SPLITS,
    SR,
    RealClip,
    load_real_speech,
    speaker_split,
)

ROOT = Path(__file__).resolve().parents[1]
FSDD_DIR = ROOT / "benchmarks" / "data" / "speech" / "fsdd"
MAX_BYTES = 22 * 1000 * 1000
FSDD_MAX_BYTES = 8 * 1000 * 1000
#: (min, max) seconds of a clip, per source.
DURATIONS = {"speech_commands": (0.2, 1.01), "speechocean762": (0.5, 25.0),
             "picovoice_s2i": (0.5, 25.0)}  # fmt: skip


def _rows(source: str) -> list[dict[str, str]]:
    with open(DATA_DIR / source / "clips.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def dev_clips() -> list[RealClip]:
    return load_real_speech(splits={"dev"})


def test_every_source_has_its_files():
    for name in SPEECH_SOURCES:
        folder = DATA_DIR / name
        assert (folder / "clips.csv").is_file()
        splits = {r["split"] for r in _rows(name)}
        for split in splits:
            assert (folder / f"{split}.zip").is_file()
        with open(folder / "clips.csv", encoding="utf-8", newline="") as fh:
            assert tuple(next(csv.reader(fh))) == COLUMNS


def test_splits_are_speaker_disjoint_and_follow_the_hash():
    owner: dict[str, str] = {}
    for name, info in SPEECH_SOURCES.items():
        for r in _rows(name):
            assert r["split"] in SPLITS
            assert r["split"] == speaker_split(name, r["speaker"])
            if info.fixed_split is not None:
                assert r["split"] == info.fixed_split
            spk = f"{name}:{r['speaker']}"
            assert owner.setdefault(spk, r["split"]) == r["split"], spk


def test_split_shares_are_roughly_70_10_20():
    for name, info in SPEECH_SOURCES.items():
        if info.fixed_split is not None:
            continue
        speakers: dict[str, set[str]] = defaultdict(set)
        for r in _rows(name):
            speakers[r["split"]].add(r["speaker"])
        total = sum(len(s) for s in speakers.values())
        assert total >= 100, name
        assert 0.6 <= len(speakers["train"]) / total <= 0.8, name
        assert 0.05 <= len(speakers["dev"]) / total <= 0.15, name
        assert 0.12 <= len(speakers["test"]) / total <= 0.28, name


def test_counts_and_durations_in_the_tables():
    speakers, clips = set(), 0
    for name in SPEECH_SOURCES:
        lo, hi = DURATIONS[name]
        for r in _rows(name):
            assert lo <= float(r["duration"]) <= hi, (name, r)
            speakers.add(f"{name}:{r['speaker']}")
            clips += 1
    assert clips >= 1500
    assert len(speakers) >= 150


def test_dev_clips_decode_to_16k_float32_in_range(dev_clips):
    assert dev_clips and {c.split for c in dev_clips} == {"dev"}
    expected = {(n, r["file_or_key"]) for n in SPEECH_SOURCES for r in _rows(n)
                if r["split"] == "dev"}  # fmt: skip
    assert len(dev_clips) == len(expected)
    for c in dev_clips:
        assert isinstance(c.audio, np.ndarray) and c.audio.dtype == np.float32
        assert c.audio.ndim == 1 and np.isfinite(c.audio).all()
        assert np.abs(c.audio).max() <= 1.0
        assert np.sqrt(np.mean(c.audio.astype(np.float64) ** 2)) > 1e-4  # not silence
        lo, hi = DURATIONS[c.source]
        assert lo <= len(c.audio) / SR <= hi
        assert c.speaker.startswith(f"{c.source}:")
        assert c.transcript is None or c.transcript.strip()


@pytest.mark.slow
def test_all_clips_load_with_matching_metadata():
    clips = load_real_speech()
    by_source: dict[str, list[RealClip]] = defaultdict(list)
    for c in clips:
        by_source[c.source].append(c)
    assert set(by_source) == set(SPEECH_SOURCES)
    for name, cs in by_source.items():
        rows = _rows(name)
        assert len(cs) == len(rows)
        got = sorted((c.speaker, c.split, c.transcript or "", round(len(c.audio) / SR, 2))
                     for c in cs)  # fmt: skip
        want = sorted((f"{name}:{r['speaker']}", r["split"], r["transcript"],
                       round(float(r["duration"]), 2)) for r in rows)  # fmt: skip
        assert got == want, name
        for c in cs:
            assert c.audio.dtype == np.float32 and np.isfinite(c.audio).all()
            assert np.abs(c.audio).max() <= 1.0
    train = {c.speaker for c in clips if c.split == "train"}
    dev = {c.speaker for c in clips if c.split == "dev"}
    test = {c.speaker for c in clips if c.split == "test"}
    assert not (train & dev) and not (train & test) and not (dev & test)


def test_filters_and_errors(dev_clips, tmp_path):
    one = load_real_speech(splits={"dev"}, sources=["speechocean762"])
    assert one and all(c.source == "speechocean762" and c.split == "dev" for c in one)
    assert len(one) == sum(c.source == "speechocean762" for c in dev_clips)
    assert load_real_speech(splits={"dev"}, sources=["picovoice_s2i"]) == []
    with pytest.raises(ValueError, match="split"):
        load_real_speech(splits={"validation"})
    with pytest.raises(ValueError, match="source"):
        load_real_speech(sources=["fsdd"])
    with pytest.raises(FileNotFoundError, match="missing"):
        load_real_speech(root=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="clips.csv"):
        load_real_speech(root=tmp_path)


def test_size_on_disk():
    total = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    assert total <= MAX_BYTES, total
    fsdd = sum(p.stat().st_size for p in FSDD_DIR.rglob("*") if p.is_file())
    assert fsdd <= FSDD_MAX_BYTES, fsdd


def test_readmes_state_url_commit_and_licence():
    index = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name, info in SPEECH_SOURCES.items():
        assert f"`{name}`" in index
        text = (DATA_DIR / name / "README.md").read_text(encoding="utf-8")
        assert info.url in text and info.commit in text
        assert "Licence" in text
        assert info.licence.split(" ")[0] in text
    fsdd = (FSDD_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in fsdd and "never train, tune or select on it" in fsdd


def test_fsdd_is_reserved_for_evaluation():
    # Nothing under training/data holds or names the FSDD recordings.
    assert not any("fsdd" in str(p).lower() for p in (ROOT / "training" / "data").rglob("*"))
    for name in SPEECH_SOURCES:
        assert "fsdd" not in name.lower() and "free-spoken-digit" not in SPEECH_SOURCES[name].url
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from real_eval_data import load_fsdd
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    clips = load_fsdd()
    assert len(clips) == 3000
    assert {s for _, s, _ in clips} == {"george", "jackson", "lucas", "nicolas", "theo",
                                        "yweweler"}  # fmt: skip
    assert {d for _, _, d in clips} == {str(i) for i in range(10)}
    for audio, _, _ in clips[::50]:
        assert audio.dtype == np.float32 and audio.ndim == 1
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
        assert 0.1 <= len(audio) / 16000 <= 3.0
