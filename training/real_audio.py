"""Real and realistic speech for the mini audio model: Piper neural voices reading real and
generated texts, recorded human speech (``training.real_speech``) and measured rooms.

Every job here is a plain function of a tuple so that ``multiprocessing`` pools can run it,
and returns ``(int16 clip, info)`` like the espeak-ng jobs in ``training.train_mini``.
``info["phones"]`` is the CTC target (espeak-ng phonemes of what is said, space separated),
``""`` for a clip whose tail was cut, and ``None`` when the words are unknown (a recording
without a transcript): those clips are left out of the CTC loss.

Held-out conditions: the only Piper voice a registry package ships today (``en_US-joe-medium``)
is a training voice, so the held-out spoken-real-text set (:func:`heldout_real_spoken`) is read
by espeak-ng's held-out English accents and variants in the held-out rooms of the RIR split:
voices and rooms that no training clip has.
"""

from __future__ import annotations

import re

import numpy as np

from training import audio_data as AD

SR = AD.SR
HELDOUT_SPOKEN_SEED = 4321  # the one held-out spoken-real-text set (training and eval_real)
MAX_S = 14  # longest synthesised utterance kept (s); the model's window is 15 s

_URL = re.compile(r"https?://\S+|www\.\S+|\burl\b", re.I)
_USER = re.compile(r"@\w+")
_KEEP = re.compile(r"[^A-Za-z0-9' ,.!?-]+")


def speakable(text: str, max_words: int = 40) -> str | None:
    """A version of a real text that a voice can read: no URLs, @user handles, hashtags
    marks, emoji or markup; None when fewer than two words are left or more than
    ``max_words`` remain (too long for one window)."""
    t = _USER.sub(" ", _URL.sub(" ", text)).replace("#", " ").replace("&amp;", " and ")
    t = re.sub(r"\s+", " ", _KEEP.sub(" ", t)).strip(" ,.-")
    words = t.split()
    if len(words) < 2 or len(words) > max_words:
        return None
    return t


def _room(x: np.ndarray, rng: np.random.Generator, split: str, prob: float) -> tuple:
    if prob <= 0 or rng.random() >= prob:
        return x, None
    from training.rooms import apply_rir, sample_rir

    return apply_rir(x, sample_rir(rng, split), rng), split


def _finish(
    wav: np.ndarray, rng: np.random.Generator, heldout: bool, room_prob: float
) -> tuple[np.ndarray, dict]:
    wav, room = _room(wav, rng, "heldout" if heldout else "train", room_prob)
    if heldout:  # evaluation: training noise types, the held-out part is voice and room
        y, info = AD.augment(wav, rng, AD.TRAIN_NOISES, None)
    else:
        y, info = AD.augment_train(wav, rng)
    info["room"] = room
    return AD.to_int16(y[: 15 * SR]), info


def piper_job(job: tuple) -> tuple[np.ndarray, dict]:
    """``(text, seed, heldout, room_prob)`` → one Piper utterance, roomed and augmented."""
    from training import piper_voices as PV

    text, seed, heldout, room_prob = job
    rng = np.random.default_rng(seed)
    voices = PV.heldout_voices() if heldout else PV.train_voices()
    v = voices[int(rng.integers(len(voices)))]
    wav = PV.synthesize_piper(text, v, rng)
    truncated = wav.size > MAX_S * SR
    wav = wav[: MAX_S * SR]
    phones = "" if truncated else " ".join(AD.phonemize(text, "en-us"))
    y, info = _finish(wav, rng, heldout, room_prob)
    info.update(voice=f"piper:{v}", phones=phones)
    return y, info


def recording_job(job: tuple) -> tuple[np.ndarray, dict]:
    """``(audio, transcript, seed, room_prob)`` → a real recording, augmented (training)."""
    audio, transcript, seed, room_prob = job
    rng = np.random.default_rng(seed)
    wav = np.asarray(audio, np.float32)[: MAX_S * SR]
    phones = " ".join(AD.phonemize(transcript, "en-us")) if transcript else None
    y, info = _finish(wav, rng, False, room_prob)
    info.update(voice="recorded", phones=phones)
    return y, info


def espeak_job(job: tuple) -> tuple[np.ndarray, dict]:
    """``(text, seed, heldout, room_prob)`` → one espeak-ng utterance in a training voice (or,
    with ``heldout``, a held-out accent and variant), roomed and augmented."""
    text, seed, heldout, room_prob = job
    rng = np.random.default_rng(seed)
    v = AD.sample_voice(rng, True) if heldout else AD.sample_train_voice(rng)
    wav = AD.synthesize(text, v.voice, v.speed, v.pitch)
    truncated = wav.size > MAX_S * SR
    wav = wav[: MAX_S * SR]
    phones = "" if truncated else " ".join(AD.phonemize(text, v.voice.split("+")[0]))
    y, info = _finish(wav, rng, heldout, room_prob)
    info.update(voice=v.voice, speed=v.speed, pitch=v.pitch, phones=phones)
    return y, info


def heldout_real_spoken(
    n: int = 400, seed: int = HELDOUT_SPOKEN_SEED, workers: int = 2
) -> tuple[list[np.ndarray], np.ndarray]:
    """Held-out real texts (the real sources' *test* split, half toxic, half benign) read by
    espeak-ng's held-out accents and variants in held-out rooms (always roomed), with training
    noise types: no voice, room or text of it is in training.

    Returns ``(float32 16 kHz clips, toxic flags)``; deterministic for a given ``seed``.
    """
    from training.real_text import load_real_text

    rows = [r for r in load_real_text(splits={"test"}) if speakable(r.text)]
    rng = np.random.default_rng(seed)
    tox = [r for r in rows if r.toxic]
    ben = [r for r in rows if not r.toxic]
    pick = [tox[i] for i in rng.permutation(len(tox))[: n // 2]]
    pick += [ben[i] for i in rng.permutation(len(ben))[: n - len(pick)]]
    jobs = [(speakable(r.text), [seed, i], True, 1.0) for i, r in enumerate(pick)]
    outs = run_jobs(espeak_job, jobs, workers, "synth held-out real texts")
    clips = [c.astype(np.float32) / 32767.0 for c, _ in outs]
    return clips, np.array([r.toxic for r in pick])


def run_jobs(fn, jobs: list[tuple], workers: int, desc: str, chunksize: int = 4) -> list:  # noqa: ANN001
    """Run ``fn`` over ``jobs`` (results in job order) in a fork pool of ``workers``
    processes, or in this process for ``workers <= 1``, with a progress bar."""
    import multiprocessing as mp

    from tqdm import tqdm

    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            it = pool.imap(fn, jobs, chunksize=chunksize)
            return list(tqdm(it, total=len(jobs), desc=desc))
    return [fn(j) for j in tqdm(jobs, desc=desc)]
