"""Real measured room impulse responses (RIRs) for reverberation augmentation.

The RIRs live in ``training/data/rir/rirs.npz`` (16 kHz mono float16, each trimmed to at most
1 s and starting :data:`PRE_SAMPLES` before its direct-path peak; sources, licences and
processing in ``training/data/rir/README.md``). They are split by *room*: the ``"train"`` rooms
are used for training, the ``"heldout"`` rooms only for evaluation, so no room is heard in both.

All randomness comes from a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

SR = 16000
RIR_PATH = Path(__file__).resolve().parent / "data" / "rir" / "rirs.npz"
SPLITS = ("train", "heldout")
#: Samples before the direct-path peak in every stored RIR.
PRE_SAMPLES = 16


def rirs_available() -> bool:
    """Whether the RIR file is present."""
    return RIR_PATH.is_file()


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    """(room -> RIRs as float32, room -> split), read once per process."""
    with np.load(RIR_PATH) as z:
        data = z["data"].astype(np.float32)
        offsets = z["offsets"]
        rooms = [str(r) for r in z["room"]]
        splits = [str(s) for s in z["split"]]
    by_room: dict[str, list[np.ndarray]] = {}
    split_of: dict[str, str] = {}
    for i, (room, split) in enumerate(zip(rooms, splits)):
        by_room.setdefault(room, []).append(data[offsets[i] : offsets[i + 1]])
        split_of[room] = split
    return by_room, split_of


def _check(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")


def rir_rooms(split: str) -> dict[str, list[np.ndarray]]:
    """RIRs of the ``"train"`` or ``"heldout"`` rooms, grouped by room (copies)."""
    _check(split)
    by_room, split_of = _load()
    return {r: [h.copy() for h in hs] for r, hs in by_room.items() if split_of[r] == split}


def load_rirs(split: str) -> list[np.ndarray]:
    """All RIRs (float32, 16 kHz, at most 1 s) of the ``"train"`` or ``"heldout"`` rooms."""
    return [h for hs in rir_rooms(split).values() for h in hs]


def sample_rir(rng: np.random.Generator, split: str) -> np.ndarray:
    """One RIR, drawn room-first (every room equally likely, whatever its number of RIRs)."""
    rooms = rir_rooms(split)
    names = sorted(rooms)
    hs = rooms[names[int(rng.integers(len(names)))]]
    return hs[int(rng.integers(len(hs)))]


def _convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    try:
        from scipy.signal import fftconvolve
    except ImportError:  # numpy-only fallback
        n = x.size + h.size - 1
        nfft = 1 << (n - 1).bit_length()
        return np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)[:n]
    return fftconvolve(x, h)


def apply_rir(
    x: np.ndarray,
    rir: np.ndarray,
    rng: np.random.Generator,
    wet_range: tuple[float, float] = (0.5, 1.0),
) -> np.ndarray:
    """Reverberate ``x`` with ``rir``, keeping its length, timing and RMS level.

    The convolution is shifted by the RIR's direct-path delay (its largest sample) so the
    speech does not move in time, and cut to ``len(x)``. A random wet/dry mix
    ``w * reverberant + (1 - w) * x`` with ``w`` uniform in ``wet_range`` varies the
    direct-to-reverberant ratio (``w = 1``: the measured room as is; lower: a closer mic). The
    result is scaled to the RMS of ``x`` (and down if it would clip).

    Args:
        x: float mono audio at 16 kHz.
        rir: impulse response at 16 kHz (e.g. from :func:`load_rirs`).
        rng: seeded generator for the wet/dry mix.
        wet_range: range of the wet fraction ``w``.

    Returns:
        float32 audio of the same length as ``x``.
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    h = np.asarray(rir, dtype=np.float64).reshape(-1)
    wet = float(rng.uniform(*wet_range))
    if x.size == 0 or h.size == 0 or not np.any(h):
        return x.copy()
    h = h / np.sqrt(np.sum(h**2))
    delay = int(np.argmax(np.abs(h)))
    y = _convolve(x.astype(np.float64), h)[delay : delay + x.size]
    y_rms = np.sqrt(np.mean(y**2))
    x_rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    if y_rms > 0:
        y = y * (x_rms / y_rms)  # reverberant part at the dry level before mixing
    out = wet * y + (1.0 - wet) * x
    out_rms = np.sqrt(np.mean(out**2))
    if out_rms > 0:
        out = out * (x_rms / out_rms)
    peak = float(np.max(np.abs(out)))
    if peak > 0.99:
        out = out * (0.99 / peak)
    return np.nan_to_num(out).astype(np.float32)
