"""Voice activity gating: ``score(audio, vad=True)`` scores speech only (issue 15).

Real speech (examples/audio/*.ogg) joined with silence, the embedded model, Silero VAD's own
ONNX weights. The regions are checked against Silero's own ``get_speech_timestamps`` (run by
the silero-vad package itself), window times against where the speech was put, and window
scores against scoring the speech-only cut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import voicesafety as vs
from voicesafety.vad import FRAME, SpeechWindower, VadModel, VadOptions

pytest.importorskip("silero_vad", reason="the vad extra (silero-vad) is not installed")

ROOT = Path(__file__).resolve().parents[1]
CLIPS = sorted((ROOT / "examples" / "audio").glob("*.ogg"))
SR = 16_000


def speech(i: int) -> np.ndarray:
    x, rate = sf.read(CLIPS[i % len(CLIPS)], dtype="float32")
    assert rate == SR
    return x


def chat(gaps: list[float], order: list[int]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Silence gaps[0], speech order[0], silence gaps[1], ...; and where each utterance lies."""
    parts, spans, at = [], [], 0
    for gap, i in zip(gaps, order):
        parts.append(np.zeros(int(gap * SR), np.float32))
        at += len(parts[-1])
        parts.append(speech(i))
        spans.append((at, at + len(parts[-1])))
        at += len(parts[-1])
    parts.append(np.zeros(int(gaps[-1] * SR), np.float32))
    return np.concatenate(parts), spans


@pytest.fixture(scope="module")
def clf() -> vs.Classifier:
    return vs.Classifier.from_pretrained(backend="onnx", device="cpu")


def test_regions_match_silero_reference() -> None:
    """Our incremental state machine gives Silero's own timestamps (its package, its code)."""
    torch = pytest.importorskip("torch")
    from silero_vad import get_speech_timestamps, load_silero_vad

    audio, _ = chat([0.7, 1.3, 0.4, 2.0], [0, 1, 2])
    expected = get_speech_timestamps(torch.from_numpy(audio), load_silero_vad(onnx=True))
    assert expected, "the reference found no speech in real speech"
    for frames_per_call in (1, 7, 512):
        w = SpeechWindower(VadOptions(), window=60.0, hop=60.0, frames_per_call=frames_per_call)
        w.feed(audio)
        w.finish()
        got = [(round(r.start * SR), round(r.end * SR)) for r in w.regions]
        assert got == [(e["start"], e["end"]) for e in expected], frames_per_call


def test_sequence_model_equals_frame_by_frame() -> None:
    """The block (sequence) export gives the stock model's probabilities, bit for bit."""
    model = VadModel()
    if not model.sequence:
        pytest.skip("this silero-vad ships no sequence export")
    import onnxruntime as ort

    stock = ort.InferenceSession(str(model.path.with_name("silero_vad.onnx")),
                                 providers=["CPUExecutionProvider"])
    audio = speech(1)[: 40 * FRAME]
    frames = audio.reshape(40, FRAME)
    block = np.concatenate([np.vstack([np.zeros(64, np.float32), frames[:-1, -64:]]), frames], 1)
    seq, _ = model.probabilities(block, model.initial_state())
    state, one = np.zeros((2, 1, 128), np.float32), []
    for row in block:
        p, state = stock.run(None, {"input": row[None], "state": state,
                                    "sr": np.array(SR, np.int64)})
        one.append(p[0, 0])
    np.testing.assert_array_equal(seq, np.array(one, np.float32))


def test_vad_scores_only_speech_in_original_time(clf) -> None:
    audio, spans = chat([1.0, 2.5, 3.0, 1.5], [3, 0, 2])
    result = clf.score(audio, sample_rate=SR, vad=True)
    assert result.speech is not None and len(result.speech) >= len(spans)
    assert result.duration == pytest.approx(len(audio) / SR)
    # Every window lies inside a speech region, and every utterance is covered by windows.
    for w in result.windows:
        assert any(r.start <= w.start and w.end <= r.end for r in result.speech)
    for lo, hi in spans:
        covered = [w for w in result.windows if w.end > lo / SR and w.start < hi / SR]
        assert covered, (lo, hi)
        # (the recordings begin and end with up to ~0.5 s of quiet)
        assert min(w.start for w in covered) <= lo / SR + 0.6
        assert max(w.end for w in covered) >= hi / SR - 0.6
    # Silence is never scored: the speech scored is far less than the clip.
    assert result.speech_seconds == pytest.approx(sum(r.end - r.start for r in result.speech))
    assert result.speech_seconds < 0.7 * result.duration
    assert sum(w.end - w.start for w in result.windows) == pytest.approx(result.speech_seconds)
    # The clip's scores are the max over its windows.
    for label, value in result.scores.items():
        assert value == pytest.approx(max(w.scores[label] for w in result.windows))


def test_window_equals_speech_only_cut(clf) -> None:
    """One utterance: each vad=True window's scores equal scoring that speech cut out alone
    (an utterance with a pause inside gives one window per stretch of speech)."""
    audio, _ = chat([1.2, 0.8], [2])
    result = clf.score(audio, sample_rate=SR, vad=True)
    assert result.windows
    cuts = [audio[round(w.start * SR): round(w.end * SR)] for w in result.windows]
    alone = clf.score(cuts, sample_rate=SR)
    for w, a in zip(result.windows, alone):
        assert max(abs(a.scores[k] - w.scores[k]) for k in a.scores) <= 1e-6
    for label, value in result.scores.items():
        assert value == pytest.approx(max(a.scores[label] for a in alone), abs=1e-6)


def test_no_speech_is_a_defined_result(clf) -> None:
    rng = np.random.default_rng(0)
    for audio in (np.zeros(3 * SR, np.float32), (rng.standard_normal(SR) * 1e-4).astype("f4")):
        result = clf.score(audio, sample_rate=SR, vad=True)
        assert result.windows == [] and result.speech == [] and result.speech_seconds == 0
        assert not result.flagged and result.flags == [] and result.toxicity == 0.0
        assert set(result.scores) == set(clf.labels)
        assert result.to_dict()["speech"] == []


def test_long_speech_gives_rolling_windows(clf) -> None:
    """Speech longer than the window: windows of `window` s every `hop` s, the last ending
    with the speech; none padded, none in silence."""
    long = np.concatenate([speech(i) for i in range(4)] * 2)  # ~30 s of back-to-back speech
    audio = np.concatenate([np.zeros(SR, np.float32), long, np.zeros(SR, np.float32)])
    # min_silence 1 s keeps the recordings' own pauses inside one region
    result = clf.score(audio, sample_rate=SR, vad={"min_silence": 1.0}, window=5.0, hop=2.5)
    for region in result.speech:
        inside = [w for w in result.windows if region.start <= w.start and w.end <= region.end]
        length = region.end - region.start
        if length <= 5.0:
            assert [(w.start, w.end) for w in inside] == [(region.start, region.end)]
            continue
        assert all(w.end - w.start == pytest.approx(5.0) for w in inside)
        starts = [w.start for w in inside]
        assert starts[0] == pytest.approx(region.start)
        assert inside[-1].end == pytest.approx(region.end)
        steps = [b - a for a, b in zip(starts[:-2], starts[1:-1])]
        assert steps == pytest.approx([2.5] * len(steps))
    assert max(r.end - r.start for r in result.speech) > 5.0, "no long region was exercised"


def test_vad_false_is_unchanged(clf) -> None:
    audio, _ = chat([0.5, 0.5], [0])
    plain = clf.score(audio, sample_rate=SR)
    assert plain.speech is None and plain.speech_seconds is None
    assert "speech" in plain.to_dict()


def test_vad_options_are_typed_and_checked(clf) -> None:
    assert VadOptions() == VadOptions(threshold=0.5, min_speech=0.25, min_silence=0.1,
                                      speech_pad=0.03)
    audio, _ = chat([0.5, 0.5], [0])
    strict = clf.score(audio, sample_rate=SR, vad={"threshold": 0.99})
    loose = clf.score(audio, sample_rate=SR, vad=VadOptions(threshold=0.3))
    assert strict.speech_seconds <= loose.speech_seconds
    for bad in ({"threshold": 1.5}, {"min_silence": 0.01, "speech_pad": 0.03}, {"nope": 1}, "yes"):
        with pytest.raises(vs.InvalidInputError):
            clf.score(audio, sample_rate=SR, vad=bad)


def test_vad_in_a_list_with_files_and_errors(clf, tmp_path) -> None:
    audio, _ = chat([0.6, 0.6], [1])
    path = tmp_path / "a.wav"
    sf.write(path, audio, SR)
    results = clf.score([str(path), audio, str(tmp_path / "missing.wav")], sample_rate=SR,
                        vad=True, errors="return")
    assert results[0].ok and results[1].ok and not results[2].ok
    assert [w.start for w in results[0].windows] == [w.start for w in results[1].windows]


def test_vad_options_are_our_errors() -> None:
    for bad in (dict(threshold=0.0), dict(threshold=float("nan")), dict(min_speech=-1),
                dict(neg_threshold=0.9), dict(speech_pad=0.2)):
        with pytest.raises(vs.InvalidInputError):
            VadOptions(**bad)


def test_missing_silero_vad_says_how_to_install() -> None:
    """Without the package (blocked in a fresh interpreter), vad=True names the extra."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['silero_vad'] = None\n"
            "import numpy as np, voicesafety as vs\n"
            "clf = vs.Classifier.from_pretrained(backend='onnx')\n"
            "try:\n"
            "    clf.score(np.zeros(16000, np.float32), sample_rate=16000, vad=True)\n"
            "except vs.MissingDependencyError as e:\n"
            "    print('MISSING', e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    assert "MISSING" in done.stdout, done.stderr
    assert "voicesafety[vad]" in done.stdout
