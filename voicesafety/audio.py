"""Audio input preparation: decoding, channel mixing, resampling to the model rate, windowing.

The defaults reproduce Roblox's reference ``inference.py`` exactly: librosa-style load (mono
by channel mean, float32, soxr "HQ" resampling to 16 kHz, length fixed to
``ceil(n * ratio)``), no normalisation, and for clips longer than the window, windows of
``window`` seconds every ``hop`` seconds, the last one zero-padded, stopping after the first
window that runs past the end. Clips no longer than the window are scored whole.

Files are read in blocks and resampled with soxr's streaming resampler, so memory stays flat
in the length of the file. Running a model on the windows is :mod:`voicesafety.pipeline`'s job.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Union, cast

import numpy as np
import soundfile as sf
import soxr

from .arrays import is_tensor, to_numpy
from .errors import AudioDecodeError, InputTypeError, InvalidInputError

if TYPE_CHECKING:
    import torch

AudioInput = Union[  # noqa: UP007 - a runtime alias, py3.10
    str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, np.ndarray, "torch.Tensor"
]
"""A path, raw file bytes, a binary file object, a numpy array or a torch tensor."""
FileInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]  # noqa: UP007

#: Frames read from a file per block (about 4 s at 48 kHz): bounds memory for long files.
BLOCK_FRAMES = 1 << 18
#: soxr quality used by librosa >= 0.10 by default (``res_type="soxr_hq"``).
RESAMPLE_QUALITY = "HQ"


@dataclass(frozen=True)
class Window:
    """One analysis window: samples at the model rate, and where it lies in the clip."""

    samples: np.ndarray
    start: float
    end: float


def describe(item: object) -> str:
    """A short human-readable name for an input, used in results and error messages."""
    if isinstance(item, (str, os.PathLike)):
        return str(item)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return f"<{len(item)} bytes>"
    shape = getattr(item, "shape", None)
    if shape is not None:
        return f"<{type(item).__module__.split('.')[0]}.{type(item).__name__} {tuple(shape)}>"
    name = getattr(item, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(item).__name__}>"


# --------------------------------------------------------------------------- arrays


def _to_float32(array: np.ndarray) -> np.ndarray:
    """Scale PCM integers to [-1, 1] and cast floats to float32."""
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float32, copy=False)
    if kind == "i":
        scale = float(2 ** (8 * array.dtype.itemsize - 1))
        return (array.astype(np.float64) / scale).astype(np.float32)
    if kind == "u":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        return ((array.astype(np.float64) - half) / half).astype(np.float32)
    raise InputTypeError(
        f"audio samples of dtype {array.dtype} are not supported; pass float32/float64 "
        "samples in [-1, 1] or int16/int32/uint8 PCM"
    )


def _as_numpy(item: object) -> np.ndarray | None:
    """numpy view of a numpy array or torch tensor (any device), else None."""
    if isinstance(item, (np.ndarray, np.generic)):
        return np.asarray(item)
    if is_tensor(item):
        if item.is_complex():
            raise InputTypeError("complex tensors are not audio; pass real samples")
        return to_numpy(item)
    return None


def mono_float32(array: np.ndarray) -> np.ndarray:
    """Validate a 1-D (mono) or 2-D (frames × channels) array and mix it to float32 mono."""
    if array.dtype == np.bool_ or array.dtype.kind in "cOUSV":
        raise InputTypeError(
            f"audio arrays must hold real numbers, got dtype {array.dtype}; "
            "pass float32 samples in [-1, 1] or integer PCM"
        )
    if array.ndim == 0:
        raise InvalidInputError("audio must be 1-D (mono) or 2-D (frames × channels), got a scalar")
    if array.ndim > 2:
        raise InvalidInputError(
            f"audio must be 1-D (mono) or 2-D (frames × channels), got shape {array.shape}. "
            "For a batch, pass a list of clips: clf.score(list(batch))"
        )
    if array.ndim == 2 and array.shape[1] > array.shape[0]:
        raise InvalidInputError(
            f"2-D audio must be frames × channels (soundfile's layout); shape {array.shape} "
            "has more channels than frames, which looks like channels × frames (torchaudio's "
            "layout). Pass the transpose (x.T) or one channel (x[0])."
        )
    samples = _to_float32(array)
    if samples.ndim == 2:
        samples = samples.mean(axis=1, dtype=np.float32)
    if samples.size == 0:
        raise InvalidInputError("audio is empty (0 samples); pass at least a few milliseconds")
    finite = np.isfinite(samples)
    if not finite.all():
        bad = int(samples.size - finite.sum())
        raise InvalidInputError(
            f"audio has {bad} NaN or infinite sample(s); clean it first, "
            "e.g. np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)"
        )
    return np.ascontiguousarray(samples)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample mono float32 audio like ``librosa.resample(res_type="soxr_hq")``."""
    if rate == target:
        return samples
    out = soxr.resample(samples, rate, target, quality=RESAMPLE_QUALITY)
    return _fix_length(out, _resampled_length(len(samples), rate, target))


def _resampled_length(n: int, rate: int, target: int) -> int:
    # librosa: n_samples = int(np.ceil(y.shape[-1] * ratio)), then util.fix_length.
    return int(math.ceil(n * (float(target) / rate)))


def _fix_length(samples: np.ndarray, size: int) -> np.ndarray:
    if len(samples) >= size:
        return samples[:size]
    return np.pad(samples, (0, size - len(samples)))


# --------------------------------------------------------------------------- sources


def _check_rate(sample_rate: int | None) -> None:
    if sample_rate is not None and (
        isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer))
        or sample_rate <= 0
    ):
        raise InvalidInputError(
            f"sample_rate must be a positive integer (Hz), got {sample_rate!r}"
        )


def _open_soundfile(item: FileInput) -> sf.SoundFile:
    """Open a path, bytes or binary file object with libsndfile, with helpful errors."""
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if not path.exists():
            hint = ""
            if isinstance(item, str) and (" " in item or not path.suffix):
                hint = " If this is text to score, use clf.score_text(...)."
            raise AudioDecodeError(f"no such audio file: {str(item)!r}.{hint}")
        if path.is_dir():
            raise AudioDecodeError(f"{path} is a folder; pass an audio file inside it")
        if path.stat().st_size == 0:
            raise AudioDecodeError(f"{path} is an empty file (0 bytes)")
        target: str | BinaryIO = str(path)
        name = str(path)
    elif isinstance(item, (bytes, bytearray, memoryview)):
        if len(item) == 0:
            raise AudioDecodeError("audio bytes are empty (0 bytes)")
        target = io.BytesIO(bytes(item))
        name = describe(item)
    else:
        target = item
        name = describe(item)
    try:
        return sf.SoundFile(target)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioDecodeError(
            f"could not decode {name}: {exc}. Supported formats are those of libsndfile "
            f"{sf.__libsndfile_version__} (wav, flac, ogg/vorbis/opus, mp3 and more); convert "
            "other formats first, e.g. `ffmpeg -i input.m4a output.wav`"
        ) from exc


class AudioSource:
    """One audio input, yielding mono float32 blocks at the target rate.

    Construction validates the input (type, shape, rate, readability) and raises a
    :class:`~voicesafety.errors.VoiceSafetyError` on a user mistake.
    """

    def __init__(self, item: object, target_rate: int, sample_rate: int | None = None) -> None:
        _check_rate(sample_rate)
        self.name = describe(item)
        self.target_rate = target_rate
        self._array: np.ndarray | None = None
        self._file: sf.SoundFile | None = None
        array = _as_numpy(item)
        if array is not None:
            rate = int(sample_rate) if sample_rate is not None else target_rate
            self.input_rate = rate
            self._array = resample(mono_float32(array), rate, target_rate)
        elif isinstance(item, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(
            item, "read"
        ):
            # anything with read() is handed to libsndfile as a binary file object
            self._file = _open_soundfile(cast(FileInput, item))
            self.input_rate = self._file.samplerate
            if self._file.frames == 0:
                self._file.close()
                raise InvalidInputError(f"{self.name} holds no audio (0 frames)")
        else:
            raise InputTypeError(
                f"cannot score {type(item).__name__} as audio; pass a path, file bytes, a "
                "binary file object, a numpy array or a torch tensor (or a list of them). "
                "For text, use clf.score_text(...)."
            )

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield mono float32 samples at the target rate, block by block."""
        if self._array is not None:
            yield self._array
            return
        assert self._file is not None
        with self._file as handle:
            rate = handle.samplerate
            stream = (
                soxr.ResampleStream(rate, self.target_rate, 1, dtype="float32",
                                    quality=RESAMPLE_QUALITY)
                if rate != self.target_rate else None
            )
            n_in = n_out = 0
            try:
                for block in handle.blocks(BLOCK_FRAMES, dtype="float32", always_2d=True):
                    mono = (block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1
                            else block[:, 0])
                    if not np.isfinite(mono).all():
                        raise InvalidInputError(f"{self.name} has NaN or infinite samples")
                    n_in += len(mono)
                    out = stream.resample_chunk(mono, last=False) if stream else mono
                    n_out += len(out)
                    if len(out):
                        yield np.ascontiguousarray(out)
            except sf.LibsndfileError as exc:
                raise AudioDecodeError(f"could not decode {self.name}: {exc}") from exc
            if n_in == 0:
                raise InvalidInputError(f"{self.name} holds no audio (0 frames)")
            if stream is not None:
                # soxr yields round(n * ratio) samples; librosa pads to ceil(n * ratio).
                tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
                want = _resampled_length(n_in, rate, self.target_rate)
                tail = _fix_length(tail, max(0, want - n_out))
                if len(tail):
                    yield np.ascontiguousarray(tail)


def windows(
    blocks: Iterator[np.ndarray],
    rate: int,
    window: float,
    hop: float,
    min_samples: int = 0,
) -> Iterator[Window]:
    """Cut a stream of blocks into analysis windows, exactly as Roblox's ``inference.py``.

    A clip of at most ``window`` seconds is one window, unpadded (but zero-padded up to
    ``min_samples``, the shortest input the model accepts). A longer clip gives windows of
    ``int(window * rate)`` samples starting every ``int(hop * rate)`` samples; the first
    window that runs past the end is zero-padded and is the last.
    """
    length = int(window * rate)
    stride = int(hop * rate)
    buffer = np.zeros(0, np.float32)
    offset = 0  # absolute index of buffer[0]
    start = 0  # absolute index of the next window's start
    long_clip = False
    for block in blocks:
        buffer = np.concatenate([buffer, block]) if len(buffer) else block
        # Only once we hold more than one window's worth do we know the clip is "long". The
        # test is the reference's own (duration in seconds > window), not a sample count: the
        # two differ when ``window * rate`` is not an exact integer (2.51 s * 100 Hz = 250.99…).
        if not long_clip and (len(buffer) + offset) / rate > window:
            long_clip = True
        while long_clip and start + length <= offset + len(buffer):
            # This window lies fully inside the audio: the reference emits it unpadded.
            lo = start - offset
            yield Window(buffer[lo : lo + length].copy(), start / rate, (start + length) / rate)
            start += stride
            drop = min(start - offset, len(buffer))
            if drop > 0:
                buffer = buffer[drop:]
                offset += drop
    total = offset + len(buffer)
    if total == 0:
        raise InvalidInputError("audio is empty (0 samples)")
    if not long_clip:
        samples = buffer
        if len(samples) < min_samples:
            samples = np.pad(samples, (0, min_samples - len(samples)))
        yield Window(np.ascontiguousarray(samples), 0.0, total / rate)
        return
    while start < total:
        lo = start - offset
        chunk = buffer[lo : lo + length]
        overruns = start + length > total
        if overruns:
            chunk = np.pad(chunk, (0, length - len(chunk)))
        yield Window(chunk.copy(), start / rate, min(start + length, total) / rate)
        if overruns:
            break
        start += stride


def estimate_seconds(item: object, sample_rate: int | None) -> float:
    """Duration of an input without decoding it (0 when unknown); for progress bars."""
    try:
        if isinstance(item, (str, os.PathLike)):
            info = sf.info(str(item))
            return float(info.frames / info.samplerate)
        shape = getattr(item, "shape", None)
        if shape:
            return float(shape[0]) / float(sample_rate or 16_000)
    except Exception:  # noqa: BLE001 - only an estimate; real errors surface when scoring
        return 0.0
    return 0.0
