"""Probe sets: the inputs on which every conversion is compared with the torch reference."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..audio import AudioSource
from ..errors import BackendError
from ..spec import ModelSpec
from ..text import TextEncoder, pad_batch

#: One batch of model inputs by name (``input_values``; ``input_ids`` and ``attention_mask``).
Batch = dict[str, np.ndarray]

#: Probe items per modality. At least 100, so that the 99 % flag-agreement bound of int8 means
#: what it says: with 24 items a single flip (a score within 1e-3 of its threshold) failed it.
PROBE_ITEMS = 100


def probe_audio(spec: ModelSpec, n_per_length: int = PROBE_ITEMS // 4,
                seed: int = 0) -> list[Batch]:
    """Deterministic probe batches of speech-like signals (tones, chirps, noise bursts).

    Four lengths (0.5 s to 3.5 s), ``n_per_length`` items each (in batches of at most 8),
    various loudness levels. Only ``spec.sample_rate`` and ``spec.min_samples`` are used.
    """
    rng = np.random.default_rng(seed)
    rate = int(spec.sample_rate)
    batches = []
    for seconds in (0.5, 1.0, 2.0, 3.5):
        n = max(int(seconds * rate), int(spec.min_samples))
        t = np.arange(n, dtype=np.float64) / rate
        items = []
        for i in range(n_per_length):
            f0 = rng.uniform(90, 300)
            vibrato = 1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 6) * t)
            phase = 2 * np.pi * np.cumsum(f0 * vibrato) / rate
            voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
            envelope = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6)))
            noise = rng.standard_normal(n)
            mix = [voiced * envelope, noise, voiced * envelope + 0.3 * noise][i % 3]
            level = [0.02, 0.1, 0.3, 0.6][i % 4]
            x = mix / (np.abs(mix).max() + 1e-9) * level
            items.append(x.astype(np.float32))
        batches += [{"input_values": np.stack(items[i:i + 8])} for i in range(0, len(items), 8)]
    return batches


PROBE_TEXTS = [
    "you are trash", "good game everyone", "nice shot", "i will kill the final boss",
    "shut up noob", "that was sick", "hello there friend", "go away loser", "gg wp",
    "you are an idiot", "thanks for the help", "lets play again tomorrow",
    "nobody wants you here just leave the server", "can you send me your address",
    "that build is honestly amazing", "stop talking you sound stupid",
    "wanna be my girlfriend", "buy cheap robux at my site", "i hate people like you",
    "lol that was so bad", "report him for cheating", "my mic is broken sorry",
    "you are the worst player i have ever seen in my whole life", "ok", "lmao",
    "what the hell was that", "please be nice to new players", "go kill yourself",
    "see you tomorrow at the usual place", "this game is dumb and so are you",
    "great teamwork guys", "why are you following me",
]


def probe_text(encoder: TextEncoder, texts: Sequence[str] | None = None,
               batch_size: int = 8) -> list[Batch]:
    """Probe batches of tokenised texts (padded, with attention masks).

    The default set is :data:`PROBE_TEXTS`, then pairs of them joined, up to
    :data:`PROBE_ITEMS` texts of 1 to 30 words.
    """
    if not texts:
        base = PROBE_TEXTS
        pairs = [f"{a}, {b}" for a in base for b in reversed(base) if a != b]
        texts = (base + pairs[::7])[:PROBE_ITEMS]
    # Blank texts never reach a model (score_text gives them a fixed result); a tokenizer
    # without special tokens would turn one into an all-padding row, whose NaN attention
    # poisons the dynamic int8 range of every other row in its batch.
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise BackendError("no usable probe text (every line is blank)")
    encoded = encoder.encode(list(texts))
    batches = []
    for i in range(0, len(encoded), batch_size):
        ids, mask = pad_batch(encoded[i:i + batch_size], encoder.pad_id)
        batches.append({"input_ids": ids, "attention_mask": mask})
    return batches


def probe_from(paths: Sequence[str | Path], spec: ModelSpec, encoder: TextEncoder | None = None,
               batch_size: int = 8) -> list[Batch]:
    """Probe batches from user data: audio files (first window of each) or text files
    (one text per line)."""
    if spec.modality == "text":
        if encoder is None:
            raise BackendError(f"{spec.name}: text probes need the model's tokenizer")
        texts: list[str] = []
        for p in paths:
            texts += [ln for ln in Path(p).read_text(encoding="utf-8").splitlines() if ln.strip()]
        return probe_text(encoder, texts, batch_size)
    out = []
    limit = int(spec.window * spec.sample_rate)
    for p in paths:
        blocks = list(AudioSource(str(p), int(spec.sample_rate)).blocks())
        samples = np.concatenate(blocks)[:limit] if blocks else np.zeros(0, np.float32)
        if samples.size >= spec.min_samples:
            out.append({"input_values": samples[None, :].astype(np.float32)})
    if not out:
        raise BackendError("no usable probe audio (every file is shorter than the model needs)")
    return out


def default_probes(spec: ModelSpec, encoder: TextEncoder | None = None) -> list[Batch]:
    """The built-in probe set of a modality."""
    if spec.modality == "audio":
        return probe_audio(spec)
    if encoder is None:
        raise BackendError(f"{spec.name}: text probes need the model's tokenizer")
    return probe_text(encoder)
