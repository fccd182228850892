"""An independent re-implementation of Roblox's reference inference (``inference.py``).

Written from the published script: librosa load at 16 kHz mono, 15 s windows with 15 s stride
only when longer than 15 s, last window zero-padded, no normalisation, sigmoid per window.
"""

from __future__ import annotations

import numpy as np
import torch


def load_like_librosa(path: str, sr: int = 16_000) -> np.ndarray:
    """``librosa.core.load(path, sr=sr)`` (uses librosa itself when installed)."""
    try:
        import librosa
    except ImportError:  # same steps by hand: float32 read, channel mean, soxr HQ, ceil length
        import math

        import soundfile as sf
        import soxr

        y, rate = sf.read(path, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        if rate != sr:
            n = int(math.ceil(len(y) * float(sr) / rate))
            y = soxr.resample(y, rate, sr, quality="HQ")
            y = np.pad(y, (0, max(0, n - len(y))))[:n]
        return y.astype(np.float32)
    y, _ = librosa.load(path, sr=sr)
    return y


def feature_extract_simple(signal: np.ndarray, sr: int = 16_000, win_len: float = 15.0,
                           win_stride: float = 15.0) -> np.ndarray:
    """Windows exactly as the reference script cuts them ([N, T])."""
    batched = []
    stride = int(win_stride * sr)
    length = int(win_len * sr)
    if len(signal) / sr > win_len:
        for i in range(0, len(signal), stride):
            if i + length > len(signal):
                chunk = np.pad(signal[i:], (0, length - len(signal[i:])))
            else:
                chunk = signal[i : i + length]
            batched.append(chunk)
            if i + length > len(signal):
                break
    else:
        batched.append(signal)
    return np.stack(batched)


def reference_scores(model_dir: str, audio_path: str, **window: float) -> np.ndarray:
    """Per-window sigmoid scores [N, labels] of the reference pipeline."""
    from transformers import WavLMForSequenceClassification

    model = WavLMForSequenceClassification.from_pretrained(model_dir).eval()
    inputs = torch.tensor(feature_extract_simple(load_like_librosa(audio_path), **window))
    with torch.no_grad():
        return torch.sigmoid(model(inputs).logits).numpy()
