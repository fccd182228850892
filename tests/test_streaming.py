"""Live streams (``clf.stream``): streaming equals batch, any chunking, bounded memory, many
concurrent streams on one classifier, asyncio (issue 15).

Real speech (examples/audio/*.ogg) with silence between utterances, written as a 48 kHz
stereo int16 WAV: pushed in 20 ms chunks it must give the windows and scores of
``score(file, vad=True)`` on every backend.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

import voicesafety as vs

pytest.importorskip("silero_vad", reason="the vad extra (silero-vad) is not installed")

ROOT = Path(__file__).resolve().parents[1]
CLIPS = sorted((ROOT / "examples" / "audio").glob("*.ogg"))
BACKENDS = ("torch", "torchscript", "onnx", "onnx-int8")
TOL = 1e-6  # batch independence bound (tests/test_batch_independence.py); int8 is exact
RATE = 48_000


def _conversation(seconds_of_silence: list[float], seed: int = 0) -> np.ndarray:
    """Stereo 48 kHz: silence, an utterance, silence, ... (the two channels differ)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, gap in enumerate(seconds_of_silence):
        parts.append(np.zeros(int(gap * 16_000), np.float32))
        if i < len(seconds_of_silence) - 1:
            x, _ = sf.read(CLIPS[int(rng.integers(len(CLIPS)))], dtype="float32")
            parts.append(x)
    mono = soxr.resample(np.concatenate(parts), 16_000, RATE).astype(np.float32)
    return np.stack([mono, 0.5 * mono], axis=1)


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    """A 48 kHz stereo int16 file with an utterance long enough for rolling windows."""
    path = tmp_path_factory.mktemp("stream") / "chat.wav"
    audio = _conversation([0.8, 1.5, 0.3, 2.0, 0.9])
    sf.write(path, audio, RATE, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory) -> dict[str, vs.Classifier]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICESAFETY_CACHE", str(tmp_path_factory.mktemp("vs-cache")))
        return {b: vs.Classifier.from_pretrained(backend=b, device="cpu") for b in BACKENDS}


def _push_all(stream, pcm: np.ndarray, chunk: int) -> list[vs.StreamEvent]:
    events = []
    for i in range(0, len(pcm), chunk):
        events += stream.push(pcm[i:i + chunk])
    return events + stream.flush()


def _same(events: list[vs.StreamEvent], result: vs.AudioResult) -> None:
    assert [(e.start, e.end) for e in events] == [(w.start, w.end) for w in result.windows]
    for e, w in zip(events, result.windows):
        assert max(abs(e.scores[k] - w.scores[k]) for k in w.scores) <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_stream_equals_batch_on_every_backend(classifiers, wav, backend) -> None:
    clf = classifiers[backend]
    opts = dict(window=4.0, hop=2.0)  # short windows: the long utterance rolls
    result = clf.score(str(wav), vad=True, **opts)
    assert len(result.windows) >= 3
    pcm, rate = sf.read(wav, dtype="int16")
    stream = clf.stream(sample_rate=rate, channels=2, **opts)
    events = _push_all(stream, pcm, rate // 50)  # 20 ms chunks, frames × channels
    _same(events, result)
    assert [e.flagged for e in events] == [
        any(w.scores[k] >= clf.policy.thresholds.get(k, 2.0) for k in clf.toxic_labels)
        for w in result.windows]
    assert all(e.latency >= 0 for e in events)
    assert stream.speech == result.speech


def test_stream_equals_batch_on_a_tiny_wavlm(v2_dir, wav) -> None:
    clf = vs.Classifier.from_pretrained(v2_dir, backend="torch", device="cpu")
    result = clf.score(str(wav), vad=True, window=4.0, hop=2.0)
    pcm, rate = sf.read(wav, dtype="float32")
    _same(_push_all(clf.stream(sample_rate=rate, channels=2, window=4.0, hop=2.0), pcm, 960),
          result)


def test_any_chunking_and_format_gives_the_same_events(classifiers, wav) -> None:
    """Raw interleaved int16 bytes in random sizes (splitting samples and frames) and 1-D
    interleaved float arrays give the same events."""
    clf = classifiers["onnx"]
    pcm, rate = sf.read(wav, dtype="int16")
    base = _push_all(clf.stream(sample_rate=rate, channels=2), pcm, rate // 50)
    raw = pcm.tobytes()
    rng = np.random.default_rng(3)
    stream, events, at = clf.stream(sample_rate=rate, channels=2, dtype="int16"), [], 0
    while at < len(raw):
        n = int(rng.integers(1, 20_000))
        events += stream.push(raw[at:at + n])
        at += n
    events += stream.flush()
    assert [(e.start, e.end, e.scores) for e in events] == [(e.start, e.end, e.scores)
                                                           for e in base]
    flat = (pcm.astype(np.float32) / 32768).reshape(-1)
    other = _push_all(clf.stream(sample_rate=rate, channels=2, vad_frames=8), flat, 777)
    assert [(e.start, e.end) for e in other] == [(e.start, e.end) for e in base]
    for a, b in zip(other, base):
        assert max(abs(a.scores[k] - b.scores[k]) for k in a.scores) <= TOL


def test_memory_per_stream_is_bounded(classifiers) -> None:
    """Ten minutes of talk: the stream never holds much more than one window of audio (its
    buffer: the window, the silence that closes an utterance, a second of slack before a
    trim, and up to 1.5× that as growth room)."""
    clf = classifiers["onnx"]
    x, _ = sf.read(CLIPS[0], dtype="float32")
    talk = np.concatenate([x, np.zeros(8000, np.float32)] * 4)  # speech with short pauses
    stream = clf.stream(sample_rate=16_000, window=3.0, hop=3.0)
    most, n = 0, 0
    while stream.seconds < 600:
        for i in range(0, len(talk), 3200):
            n += len(stream.push(talk[i:i + 3200]))
            most = max(most, stream.retained_samples)
    n += len(stream.flush())
    assert n > 100
    assert most <= 1.5 * (3.0 + 2.0) * 16_000, most


def test_many_streams_in_threads_share_one_classifier(classifiers, wav) -> None:
    clf = classifiers["onnx"]
    pcm, rate = sf.read(wav, dtype="float32")
    expected = _push_all(clf.stream(sample_rate=rate, channels=2), pcm, 960)
    got: dict[int, list[vs.StreamEvent]] = {}

    def run(i: int) -> None:
        got[i] = _push_all(clf.stream(sample_rate=rate, channels=2, name=f"p{i}"), pcm,
                           480 + 160 * i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(6):
        assert [(e.start, e.end, e.scores) for e in got[i]] == [
            (e.start, e.end, e.scores) for e in expected]
        assert {e.stream for e in got[i]} == {f"p{i}"}


def test_asyncio_streams(classifiers, wav) -> None:
    clf = classifiers["onnx"]
    pcm, rate = sf.read(wav, dtype="float32")
    expected = _push_all(clf.stream(sample_rate=rate, channels=2), pcm, 960)

    async def player() -> list[vs.StreamEvent]:
        stream = clf.stream(sample_rate=rate, channels=2)
        events = []
        for i in range(0, len(pcm), 960):
            events += await stream.apush(pcm[i:i + 960])
        return events + await stream.aflush()

    async def main() -> list[list[vs.StreamEvent]]:
        return await asyncio.gather(*(player() for _ in range(3)))

    for events in asyncio.run(main()):
        assert [(e.start, e.end, e.scores) for e in events] == [
            (e.start, e.end, e.scores) for e in expected]


def test_stream_of_silence_and_errors(classifiers) -> None:
    clf = classifiers["onnx"]
    stream = clf.stream(sample_rate=8000)
    assert stream.push(np.zeros(8000 * 5, np.int16)) == []
    assert stream.flush() == []
    with pytest.raises(vs.InvalidInputError, match="flushed"):
        stream.push(np.zeros(10, np.float32))
    live = clf.stream(sample_rate=16_000, channels=2)
    with pytest.raises(vs.InvalidInputError, match="channel"):
        live.push(np.zeros((10, 3), np.float32))
    with pytest.raises(vs.InvalidInputError, match="NaN"):
        live.push(np.array([np.nan, 0.0], np.float32))
    with pytest.raises(vs.InputTypeError):
        live.push([0.0, 0.1])  # type: ignore[arg-type]
    for bad in (dict(sample_rate=10), dict(sample_rate=16_000, channels=0),
                dict(sample_rate=16_000, vad=False), dict(sample_rate=16_000, dtype="int8"),
                dict(sample_rate=16_000, window=100.0)):
        with pytest.raises(vs.InvalidInputError):
            clf.stream(**bad)
