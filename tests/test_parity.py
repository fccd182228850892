"""Parity with Roblox's reference inference, and the windowing rules behind it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference import feature_extract_simple, reference_scores

import voicesafety as vs
from voicesafety.audio import windows


@pytest.mark.parametrize(
    ("seconds", "rate", "channels"),
    [(3.0, 16_000, 1), (15.0, 16_000, 1), (15.001, 16_000, 1), (31.5, 44_100, 2),
     (20.0, 22_050, 1), (0.7, 8_000, 2), (46.0, 48_000, 1)],
)
def test_scores_match_reference_inference(v1_dir, tmp_path, rng, seconds, rate, channels):
    n = int(seconds * rate)
    audio = (0.3 * rng.standard_normal((n, channels))).astype(np.float32)
    path = tmp_path / f"clip_{rate}.wav"
    sf.write(path, audio, rate, subtype="FLOAT")

    expected = reference_scores(str(v1_dir), str(path))
    result = vs.Classifier.from_pretrained(v1_dir, backend="torch", device="cpu").score(path)

    got = np.array([[w.scores[label] for label in result.scores] for w in result.windows])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(list(result.scores.values()), expected.max(axis=0), atol=1e-5)


def test_array_input_matches_file_input(v2_dir, tmp_path, rng):
    clip = (0.2 * rng.standard_normal(22_050 * 17)).astype(np.float32)
    path = tmp_path / "a.flac"
    sf.write(path, clip, 22_050, subtype="PCM_24")
    decoded, _ = sf.read(path, dtype="float32")
    clf = vs.Classifier.from_pretrained(v2_dir)
    from_file = clf.score(path)
    from_array = clf.score(decoded, sample_rate=22_050)
    for a, b in zip(from_file.windows, from_array.windows):
        np.testing.assert_allclose(list(a.scores.values()), list(b.scores.values()), atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5000),
    window=st.integers(5, 600),
    hop_frac=st.floats(0.2, 1.0),
    block=st.integers(1, 900),
)
# window * rate = 250.99999999999997: the reference calls 251 samples "not longer than 2.51 s".
@example(n=251, window=251, hop_frac=1.0, block=1)
def test_streamed_windows_equal_reference_windows(n, window, hop_frac, block):
    """Streaming windowing, whatever the block size, gives the reference's windows."""
    rate = 100
    hop = max(1, int(window * hop_frac)) / rate
    signal = np.arange(1, n + 1, dtype=np.float32)
    blocks = (signal[i : i + block] for i in range(0, n, block))
    got = [w.samples for w in windows(blocks, rate, window / rate, hop)]
    expected = feature_extract_simple(signal, sr=rate, win_len=window / rate, win_stride=hop)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
