"""Every kind of audio input, and every kind of bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import torch

import voicesafety as vs
from voicesafety.audio import AudioSource, mono_float32


@pytest.fixture(scope="module")
def clf(v2_dir):
    return vs.Classifier.from_pretrained(v2_dir, backend="torch", device="cpu")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return (0.25 * np.random.default_rng(7).standard_normal(16_000 * 2)).astype(np.float32)


def scores(result) -> np.ndarray:
    return np.array(list(result.scores.values()))


def test_every_input_kind_gives_the_same_scores(clf, clip, tmp_path):
    wav = tmp_path / "c.wav"
    sf.write(wav, clip, 16_000, subtype="FLOAT")
    raw = wav.read_bytes()
    inputs = [
        clip, clip.astype(np.float64), torch.from_numpy(clip), str(wav), wav, raw,
        bytearray(raw), io.BytesIO(raw), clip[:, None], np.repeat(clip[:, None], 2, axis=1),
    ]
    base = scores(clf.score(clip))
    results = clf.score(inputs)
    assert len(results) == len(inputs)
    for item, result in zip(inputs, results):
        np.testing.assert_allclose(scores(result), base, atol=1e-5, err_msg=str(type(item)))


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_16"), ("FLAC", "PCM_16"),
                                              ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_compressed_formats_decode(clf, clip, tmp_path, fmt, subtype):
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} here cannot write {fmt}")
    path = tmp_path / f"c.{fmt.lower()}"
    sf.write(path, clip, 16_000, format=fmt, subtype=subtype)
    result = clf.score(path)
    assert result.duration == pytest.approx(2.0, abs=0.1)
    # lossy codecs change the signal a little; the scores stay close on the same clip
    np.testing.assert_allclose(scores(result), scores(clf.score(clip)), atol=0.05)


def test_pcm_integers_are_scaled(clip):
    clip = np.clip(clip, -0.99, 0.99)
    int16 = np.round(clip * 32767).astype(np.int16)
    np.testing.assert_allclose(mono_float32(int16), clip, atol=1e-4)
    int32 = np.round(clip.astype(np.float64) * 2**31).clip(-(2**31), 2**31 - 1).astype(np.int32)
    np.testing.assert_allclose(mono_float32(int32), clip, atol=1e-6)
    uint8 = np.round(clip * 128 + 128).clip(0, 255).astype(np.uint8)
    np.testing.assert_allclose(mono_float32(uint8), clip, atol=1e-2)


def test_sample_rate_is_applied_to_arrays(clf, clip):
    import soxr

    at_48k = soxr.resample(clip, 16_000, 48_000, quality="HQ")
    direct = clf.score(at_48k, sample_rate=48_000)
    assert direct.duration == pytest.approx(2.0, abs=1e-3)
    np.testing.assert_allclose(scores(direct), scores(clf.score(clip)), atol=0.02)


def test_tensor_layouts_and_dtypes(clf, clip):
    half = clf.score(torch.from_numpy(clip).half())
    np.testing.assert_allclose(scores(half), scores(clf.score(clip)), atol=5e-3)
    if torch.cuda.is_available():  # tensors on any device
        np.testing.assert_allclose(scores(clf.score(torch.from_numpy(clip).cuda())),
                                   scores(clf.score(clip)), atol=1e-5)


def test_silence_scores_normally(clf):
    result = clf.score(np.zeros(16_000, np.float32))
    assert all(0.0 <= v <= 1.0 for v in result.scores.values())


def test_a_clip_shorter_than_the_model_minimum_is_too_short_not_scored(clf):
    result = clf.score(np.full(40, 0.1, np.float32), sample_rate=16_000)  # 2.5 ms < 400 samples
    assert result.duration == pytest.approx(40 / 16_000)
    assert result.too_short and result.windows == [] and not result.flagged
    assert result.toxicity == 0.0 and set(result.scores) == set(clf.labels)
    enough = clf.score(np.full(400, 0.1, np.float32), sample_rate=16_000)  # WavLM's minimum
    assert not enough.too_short and len(enough.windows) == 1


def test_long_audio_windows_and_durations(clf, rng):
    audio = (0.1 * rng.standard_normal(16_000 * 40)).astype(np.float32)
    result = clf.score(audio)
    assert [(w.start, w.end) for w in result.windows] == [(0, 15), (15, 30), (30, 40)]
    assert result.duration == pytest.approx(40.0)
    for label, value in result.scores.items():
        assert value == pytest.approx(max(w.scores[label] for w in result.windows))


def test_window_and_hop_are_configurable(clf, rng):
    audio = (0.1 * rng.standard_normal(16_000 * 10)).astype(np.float32)
    result = clf.score(audio, window=4, hop=2)
    # As in the reference: windows go on until one runs past the end (here the one at 8 s),
    # even though the window at 6 s already ended exactly at 10 s.
    assert [w.start for w in result.windows] == [0, 2, 4, 6, 8]
    assert result.windows[-1].end == 10.0
    with pytest.raises(vs.InvalidInputError, match="hop"):
        clf.score(audio, window=2, hop=4)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (np.zeros(0, np.float32), vs.InvalidInputError, "empty"),
        (np.array([0.1, np.nan] * 400, np.float32), vs.InvalidInputError, "NaN"),
        (np.array([0.1, np.inf] * 400, np.float32), vs.InvalidInputError, "nan_to_num"),
        (np.zeros((2, 3, 400), np.float32), vs.InvalidInputError, "list of clips"),
        (np.zeros((1, 16_000), np.float32), vs.InvalidInputError, "x.T"),
        (np.zeros(400, np.complex64), vs.InputTypeError, "complex"),
        (np.zeros(400, bool), vs.InputTypeError, "real numbers"),
        (np.float32(0.5), vs.InvalidInputError, "scalar"),
        (12345, vs.InputTypeError, "cannot score int"),
        (None, vs.InputTypeError, "NoneType"),
        ({"audio": 1}, vs.InputTypeError, "dict"),
        ("no/such/file.wav", vs.AudioDecodeError, "no such audio file"),
        ("you are trash", vs.AudioDecodeError, "score_text"),
        (b"", vs.AudioDecodeError, "empty"),
        (b"definitely not audio" * 20, vs.AudioDecodeError, "could not decode"),
    ],
)
def test_bad_input_raises_a_voicesafety_error_naming_the_fix(clf, bad, error, message):
    with pytest.raises(error, match=message) as info:
        clf.score(bad)
    assert isinstance(info.value, vs.VoiceSafetyError)


def test_bad_files(clf, tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.flac").write_bytes(b"fLaC" + b"\x00" * 100)
    sf.write(tmp_path / "zero.wav", np.zeros((0, 1), np.float32), 16_000)
    with pytest.raises(vs.AudioDecodeError, match="empty"):
        clf.score(tmp_path / "empty.wav")
    with pytest.raises(vs.AudioDecodeError, match="could not decode"):
        clf.score(tmp_path / "corrupt.flac")
    with pytest.raises(vs.InvalidInputError, match="no audio"):
        clf.score(tmp_path / "zero.wav")
    with pytest.raises(vs.AudioDecodeError, match="folder"):
        clf.score(tmp_path)


@pytest.mark.parametrize("rate", [0, -16000, 16000.5, "16000", True])
def test_bad_sample_rate(clf, clip, rate):
    with pytest.raises(vs.InvalidInputError, match="sample_rate"):
        clf.score(clip, sample_rate=rate)


def test_bad_options(clf, clip):
    with pytest.raises(vs.InvalidInputError, match="batch_size"):
        clf.score(clip, batch_size=0)
    with pytest.raises(vs.InvalidInputError, match="errors"):
        clf.score(clip, errors="ignore")


def test_a_bad_item_in_a_list_names_its_index(clf, clip):
    with pytest.raises(vs.InvalidInputError, match="input #2") as info:
        clf.score([clip, clip, np.zeros(0, np.float32), clip])
    assert info.value.index == 2


def test_errors_return_keeps_every_item_in_place(clf, clip):
    results = clf.score([clip, "missing.wav", clip, np.zeros(0, np.float32)], errors="return")
    assert [r.ok for r in results] == [True, False, True, False]
    assert results[1].index == 1 and results[1].error == "AudioDecodeError"
    assert results[3].error == "InvalidInputError"
    np.testing.assert_allclose(scores(results[0]), scores(results[2]))


def test_empty_list(clf):
    assert clf.score([]) == []


def test_audio_source_reports_rate(tmp_path, clip):
    path = tmp_path / "x.wav"
    sf.write(path, clip, 22_050)
    source = AudioSource(path, 16_000)
    assert source.input_rate == 22_050
    total = sum(len(b) for b in source.blocks())
    assert total == int(np.ceil(len(clip) * 16_000 / 22_050))
