"""``voicesafety stream`` (raw PCM on stdin → JSON lines) and ``voicesafety score --vad``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import voicesafety as vs

pytest.importorskip("silero_vad", reason="the vad extra (silero-vad) is not installed")

ROOT = Path(__file__).resolve().parents[1]
CLIPS = sorted((ROOT / "examples" / "audio").glob("*.ogg"))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _talk() -> np.ndarray:
    parts = []
    for clip in CLIPS[:3]:
        x, _ = sf.read(clip, dtype="float32")
        parts += [np.zeros(12_000, np.float32), x]
    return np.concatenate([*parts, np.zeros(12_000, np.float32)])


def test_stream_command_prints_the_events_of_score_vad(tmp_path) -> None:
    audio = _talk()
    pcm = (np.clip(audio, -1, 32767 / 32768) * 32768).astype("<i2")
    done = subprocess.run(
        [sys.executable, "-m", "voicesafety.cli", "stream", "--rate", "16000", "--backend",
         "onnx", "--name", "p7"],
        input=pcm.tobytes(), capture_output=True, env=_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    clf = vs.Classifier.from_pretrained(backend="onnx", device="cpu")
    result = clf.score(pcm.astype(np.float32) / 32768, sample_rate=16_000, vad=True)
    assert len(events) == len(result.windows) >= 3
    for e, w in zip(events, result.windows):
        assert (e["start"], e["end"]) == (w.start, w.end)
        assert max(abs(e["scores"][k] - w.scores[k]) for k in w.scores) <= 1e-6
        assert e["stream"] == "p7" and e["latency"] >= 0 and isinstance(e["flagged"], bool)


def test_score_vad_flag(tmp_path) -> None:
    path = tmp_path / "talk.wav"
    sf.write(path, _talk(), 16_000)
    done = subprocess.run(
        [sys.executable, "-m", "voicesafety.cli", "score", str(path), "--vad", "--json",
         "--backend", "onnx"], capture_output=True, env=_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    row = json.loads(done.stdout)
    assert row["speech"] and 0 < row["speech_seconds"] < row["duration"]
    plain = subprocess.run(
        [sys.executable, "-m", "voicesafety.cli", "score", str(path), "--json", "--backend",
         "onnx"], capture_output=True, env=_env(), timeout=300, check=False)
    assert json.loads(plain.stdout)["speech"] is None


def test_stream_command_rejects_a_bad_rate() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voicesafety.cli", "stream", "--rate", "5"], input=b"",
        capture_output=True, env=_env(), timeout=300, check=False)
    assert done.returncode == 2 and b"sample_rate" in done.stderr
