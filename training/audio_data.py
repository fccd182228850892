"""Speech synthesis with espeak-ng and waveform augmentation for the mini audio model.

Voices are ``<language>+<variant>`` pairs. Training uses only :data:`TRAIN_LANGS` x
:data:`TRAIN_VARIANTS`; the held-out voice condition uses :data:`HELDOUT_LANGS` x
:data:`HELDOUT_VARIANTS` (no overlap in either accent or variant). Noise types are split the same
way: :data:`TRAIN_NOISES` for training, :data:`HELDOUT_NOISES` (babble, music-like chords) for the
held-out noise condition. All randomness comes from a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

SR = 16000

TRAIN_LANGS = ["en-us", "en-gb", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-scotland"]
HELDOUT_LANGS = ["en-029", "en-us-nyc", "en-gb-x-gbcwmd"]
TRAIN_VARIANTS = [
    "", "m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "klatt", "klatt2", "klatt3", "Alex",
    "Andy", "Denis", "Jacky", "edward", "linda", "max", "michel", "norbert", "paul", "robert",
    "steph", "quincy", "rob", "sandro", "shelby", "travis", "zac", "john", "boris", "aunty",
    "Hugo", "Mario",
]  # fmt: skip
HELDOUT_VARIANTS = ["f4", "f5", "m6", "m7", "klatt4", "Storm", "grandma", "Lee"]
#: More espeak-ng variants, used only for the *training* clips (``sample_train_voice``) to widen
#: the voice diversity the audio model hears. Disjoint from :data:`HELDOUT_VARIANTS`; the
#: validation/test conditions keep drawing from :data:`TRAIN_VARIANTS` / :data:`HELDOUT_VARIANTS`
#: only, so the evaluation sets are unchanged.
EXTRA_TRAIN_VARIANTS = [
    "Alicia", "Andrea", "Annie", "Diogo", "Gene", "Henrique", "Marco", "Michael", "Mike",
    "Nguyen", "adam", "anika", "antonio", "belinda", "benjamin", "caleb", "david", "ed",
    "edward2", "gustave", "iven", "iven2", "kaukovalta", "m8", "marcelo", "miguel", "pablo",
    "pedro", "steph2", "victor",
]  # fmt: skip

#: espeak-ng voices of other languages written in the Latin alphabet. Reading English text with
#: their own spelling rules and phoneme tables, they speak foreign-accented English: *training*
#: clips only (``sample_train_voice(rng, foreign=True)``), to widen the accents and phone
#: realisations the audio model hears. None is an English accent, so the held-out English
#: accents stay unheard (Caribbean creoles are left out next to the held-out ``en-029``).
FOREIGN_LANGS = [
    "af", "ca", "cs", "cy", "da", "de", "eo", "es", "es-419", "et", "eu", "fi", "fr-fr", "ga",
    "hr", "hu", "id", "is", "it", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-br", "ro",
    "sk", "sl", "sq", "sv", "sw", "tr",
]  # fmt: skip

TRAIN_NOISES = ["white", "pink", "brown", "hum", "beeps"]
#: Extra noise types for the training clips only (``augment_train``): band-limited noise and
#: noise bursts (pink noise with a random slow on/off envelope). Not used by any evaluation set.
EXTRA_TRAIN_NOISES = ["band", "bursts"]
HELDOUT_NOISES = ["babble", "chords"]
CODECS = ["none", "none", "flac", "ogg", "mp3", "opus"]


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` binary is on PATH."""
    return shutil.which("espeak-ng") is not None


def synthesize(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng and return float32 mono audio at 16 kHz.

    Args:
        text: sentence to speak.
        voice: espeak-ng voice, e.g. ``"en-us+m3"``.
        speed: words per minute (``-s``).
        pitch: pitch 0-99 (``-p``).
    """
    proc = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
    )
    audio, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    audio = soxr.resample(audio, sr, SR).astype(np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return audio / peak * 0.7 if peak > 0 else audio


#: espeak-ng phoneme-mnemonic characters that mark stress or syllable boundaries, not sounds.
_STRESS = str.maketrans("", "", "',%=")


def phonemize(text: str, lang: str) -> list[str]:
    """Phoneme sequence espeak-ng speaks for ``text`` in accent ``lang`` (e.g. ``"en-gb"``).

    Mnemonics from ``espeak-ng -q -x --sep=" "`` with stress marks removed; used as the CTC
    target of the audio model's auxiliary phoneme-recognition loss (training only).
    """
    proc = subprocess.run(
        ["espeak-ng", "-q", "-x", "--sep= ", "-v", lang, text],
        capture_output=True,
        check=True,
        text=True,
    )
    return _phones(proc.stdout)


def _phones(mnemonics: str) -> list[str]:
    """Phonemes of ``espeak-ng -x --sep=" "`` output: stress marks, pauses (``_:``) and
    language switches (``(en)``, which a foreign voice inserts around English words) removed."""
    phones = [p.translate(_STRESS) for p in mnemonics.split()]
    return [p for p in phones if p and not p.startswith(("_", "("))]


def phonemize_many(texts: list[str], lang: str) -> list[list[str]]:
    """:func:`phonemize` for many texts with one espeak-ng process (one text per input line;
    punctuation becomes a space so that a text never spans two output lines). Falls back to
    one call per text if the line counts ever disagree."""
    lines = [re.sub(r"[^\w' ]+", " ", t).strip() or "ok" for t in texts]
    if not lines:
        return []
    proc = subprocess.run(
        ["espeak-ng", "-q", "-x", "--sep= ", "-v", lang],
        input="\n".join(lines) + "\n",
        capture_output=True,
        check=True,
        text=True,
    )
    out = proc.stdout.strip("\n").split("\n")
    if len(out) != len(lines):
        return [phonemize(line, lang) if t.strip() else [] for t, line in zip(texts, lines)]
    return [_phones(line) if t.strip() else [] for t, line in zip(texts, out, strict=True)]


@dataclass
class VoiceSpec:
    """A concrete voice setting."""

    voice: str
    speed: int
    pitch: int


def sample_voice(rng: np.random.Generator, heldout: bool) -> VoiceSpec:
    """Draw a voice (accent + variant), speed and pitch from the train or held-out pools."""
    langs = HELDOUT_LANGS if heldout else TRAIN_LANGS
    variants = HELDOUT_VARIANTS if heldout else TRAIN_VARIANTS
    lang = langs[rng.integers(len(langs))]
    var = variants[rng.integers(len(variants))]
    voice = f"{lang}+{var}" if var else lang
    return VoiceSpec(voice, int(rng.integers(120, 221)), int(rng.integers(20, 81)))


def sample_train_voice(rng: np.random.Generator, foreign: bool = False) -> VoiceSpec:
    """Draw a *training* voice from the wider pool: training accents (or, with ``foreign``,
    :data:`FOREIGN_LANGS`) x (training + extra training variants), speed 110-240 wpm and
    pitch 10-90 (never a held-out accent/variant)."""
    variants = TRAIN_VARIANTS + EXTRA_TRAIN_VARIANTS
    langs = FOREIGN_LANGS if foreign else TRAIN_LANGS
    lang = langs[rng.integers(len(langs))]
    var = variants[rng.integers(len(variants))]
    voice = f"{lang}+{var}" if var else lang
    return VoiceSpec(voice, int(rng.integers(110, 241)), int(rng.integers(10, 91)))


# --------------------------------------------------------------------------------- noise


def _colored(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    spec = spec / f ** (exponent / 2.0)
    return np.fft.irfft(spec, n)


def make_noise(
    kind: str, n: int, rng: np.random.Generator, babble_pool: list[np.ndarray] | None = None
) -> np.ndarray:
    """Generate ``n`` samples of a noise type (unit RMS)."""
    t = np.arange(n) / SR
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        x = _colored(n, rng, 1.0)
    elif kind == "brown":
        x = _colored(n, rng, 2.0)
    elif kind == "hum":
        f0 = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h for h in range(1, 8))
        x = x + 0.1 * rng.standard_normal(n)
    elif kind == "beeps":  # game-like beeps and clicks over soft noise
        x = 0.2 * _colored(n, rng, 1.0)
        for _ in range(int(rng.integers(2, 12))):
            start = int(rng.integers(0, max(1, n - 1)))
            length = int(rng.integers(SR // 50, SR // 4))
            seg = np.arange(min(length, n - start)) / SR
            freq = rng.uniform(300, 3000)
            x[start : start + seg.size] += np.sin(2 * np.pi * freq * seg) * np.hanning(seg.size)
    elif kind == "band":  # band-limited noise (random centre 200-4000 Hz, 0.5-2 octaves)
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1.0 / SR)
        fc, octv = rng.uniform(200.0, 4000.0), rng.uniform(0.5, 2.0)
        spec[np.abs(np.log2(np.maximum(f, 1.0) / fc)) > octv / 2] = 0
        x = np.fft.irfft(spec, n)
    elif kind == "bursts":  # pink-noise bursts with a random slow on/off envelope
        env = np.repeat(rng.random(n // (SR // 10) + 2) < 0.5, SR // 10)[:n].astype(np.float64)
        env = np.convolve(env, np.hanning(SR // 50) / (SR // 100), mode="same")
        x = _colored(n, rng, 1.0) * (0.05 + env)
    elif kind == "chords":  # music-like sustained chords
        x = np.zeros(n)
        step = int(SR * rng.uniform(0.3, 1.0))
        for s in range(0, n, step):
            seg = t[s : s + step] - t[s]
            root = 110.0 * 2 ** (rng.integers(0, 24) / 12)
            env = np.exp(-seg * rng.uniform(0.5, 3.0))
            for ratio in (1.0, 1.26, 1.5, 2.0):
                x[s : s + step] += np.sin(2 * np.pi * root * ratio * seg) * env
    elif kind == "babble":
        if not babble_pool:
            raise ValueError("babble noise needs a pool of speech clips")
        x = np.zeros(n)
        for _ in range(int(rng.integers(3, 7))):
            clip = babble_pool[int(rng.integers(len(babble_pool)))]
            reps = int(np.ceil(n / max(1, clip.size))) + 1
            tiled = np.tile(clip, reps)
            off = int(rng.integers(0, max(1, clip.size)))
            x += tiled[off : off + n]
    else:
        raise ValueError(kind)
    x = np.asarray(x, dtype=np.float64)
    rms = np.sqrt(np.mean(x**2)) + 1e-9
    return (x / rms).astype(np.float32)


def to_int16(wav: np.ndarray) -> np.ndarray:
    """Float waveform in [-1, 1] to the int16 clips are kept in (a third of the memory)."""
    return (np.clip(wav, -1, 1) * 32767).astype(np.int16)


def codec_roundtrip(x: np.ndarray, codec: str) -> np.ndarray:
    """Encode and decode through a codec with soundfile (flac, ogg vorbis, mp3, opus)."""
    if codec == "none":
        return x
    buf = io.BytesIO()
    if codec == "flac":
        sf.write(buf, x, SR, format="FLAC", subtype="PCM_16")
    elif codec == "ogg":
        sf.write(buf, x, SR, format="OGG", subtype="VORBIS")
    elif codec == "opus":
        sf.write(buf, x, SR, format="OGG", subtype="OPUS")
    elif codec == "mp3":
        sf.write(buf, x, SR, format="MP3", subtype="MPEG_LAYER_III")
    else:
        raise ValueError(codec)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    if y.ndim > 1:
        y = y.mean(axis=1)
    if y.size < x.size:
        y = np.pad(y, (0, x.size - y.size))
    return y[: x.size].astype(np.float32)


def augment(
    x: np.ndarray,
    rng: np.random.Generator,
    noise_kinds: list[str],
    babble_pool: list[np.ndarray] | None = None,
    clean_prob: float = 0.1,
) -> tuple[np.ndarray, dict]:
    """Randomly pad, resample, add noise (SNR 5-30 dB), apply gain and a codec round trip.

    Returns:
        The augmented 16 kHz waveform and a dict describing what was applied.
    """
    info: dict = {}
    pre = int(rng.integers(0, int(0.6 * SR)))
    post = int(rng.integers(0, int(0.8 * SR)))
    x = np.concatenate([np.zeros(pre, np.float32), x, np.zeros(post, np.float32)])
    info["pad"] = (pre, post)
    if rng.random() < clean_prob:
        info["clean"] = True
        return np.clip(x * 0.9, -1, 1).astype(np.float32), info
    sr_mid = int(rng.choice([8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000]))
    if sr_mid != SR:
        x = soxr.resample(soxr.resample(x, SR, sr_mid), sr_mid, SR).astype(np.float32)
    info["sr_mid"] = sr_mid
    kind = noise_kinds[int(rng.integers(len(noise_kinds)))]
    snr = float(rng.uniform(5.0, 30.0))
    sig_rms = np.sqrt(np.mean(x**2)) + 1e-9
    noise = make_noise(kind, x.size, rng, babble_pool)
    x = x + noise * sig_rms / (10 ** (snr / 20.0))
    info["noise"], info["snr"] = kind, snr
    gain_db = float(rng.uniform(-30.0, 6.0))
    x = x / (np.max(np.abs(x)) + 1e-9) * 0.9 * 10 ** (gain_db / 20.0)
    x = np.clip(x, -1.0, 1.0).astype(np.float32)
    info["gain_db"] = gain_db
    codec = CODECS[int(rng.integers(len(CODECS)))]
    try:
        x = codec_roundtrip(x, codec)
    except Exception:  # noqa: BLE001 - a codec missing from libsndfile is not fatal
        codec = "none"
    info["codec"] = codec
    return x, info


def augment_train(
    x: np.ndarray, rng: np.random.Generator, clean_prob: float = 0.08
) -> tuple[np.ndarray, dict]:
    """Augmentation of the *training* clips: :func:`augment` with the training noise types
    plus :data:`EXTRA_TRAIN_NOISES`, and a random tempo/pitch change (resampling by 0.9-1.1)
    half of the time. Never draws a held-out noise type."""
    info: dict = {}
    if rng.random() < 0.5:
        factor = float(rng.uniform(0.9, 1.1))
        x = soxr.resample(x, SR, int(SR * factor)).astype(np.float32)
        info["speed_factor"] = factor
    y, aug = augment(x, rng, TRAIN_NOISES + EXTRA_TRAIN_NOISES, None, clean_prob)
    aug.update(info)
    return y, aug


#: Kinds of speech-free clips (label: clean). ``silence`` is digital zero or faint dither;
#: ``tone`` a steady or gliding sine with harmonics; the rest are the noise types above.
NON_SPEECH_TRAIN = ["silence", "tone", *TRAIN_NOISES, *EXTRA_TRAIN_NOISES]
NON_SPEECH_TEST = ["silence", "tone", "white", "pink", "hum", "chords"]


def non_speech(rng: np.random.Generator, kinds: list[str]) -> tuple[np.ndarray, dict]:
    """A clip without speech (0.5-10 s of silence, a tone or noise) at a random level, passed
    through a random codec. The audio model must not flag these; no clip of the speech sets
    lacks speech, so they are generated separately for training and for a test row."""
    n = int(rng.uniform(0.5, 10.0) * SR)
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "silence":
        dither = rng.standard_normal(n) * 10 ** rng.uniform(-5, -3)
        x = np.zeros(n) if rng.random() < 0.5 else dither
    elif kind == "tone":
        t = np.arange(n) / SR
        f0 = rng.uniform(80.0, 2000.0) * np.exp(t * rng.uniform(-0.3, 0.3))  # steady or gliding
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(np.sin(h * phase) * rng.uniform(0, 1) ** (h - 1) for h in range(1, 5))
    else:
        x = make_noise(kind, n, rng)
    x = np.asarray(x, dtype=np.float64)
    peak = np.max(np.abs(x))
    if kind != "silence" and peak > 0:
        x = x / peak * 10 ** (rng.uniform(-50.0, 0.0) / 20.0)
    x = np.clip(x, -1.0, 1.0).astype(np.float32)
    codec = CODECS[int(rng.integers(len(CODECS)))]
    try:
        x = codec_roundtrip(x, codec)
    except Exception:  # noqa: BLE001 - a codec missing from libsndfile is not fatal
        codec = "none"
    return x, {"non_speech": kind, "codec": codec}
