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
import stat
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
#: Sample rates accepted (Hz), for arrays and files alike: from 1 kHz (below anything used for
#: speech) to 768 kHz (the highest common converter rate). Checked before any resampling, so an
#: absurd rate cannot ask soxr for gigabytes.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1_000, 768_000
#: Largest accepted sample magnitude. Float audio is expected in [-1, 1]; integer PCM stored as
#: floats reaches 32768 (int16), so ±65536 leaves room. Beyond it the samples are not audio at
#: any common scale, and around 1e19 the models' squared energies overflow float32 (NaN scores).
MAX_AMPLITUDE = 65_536.0
#: Longest analysis window (seconds). The models were trained on windows of at most 15 s; a
#: window is run in one forward pass, whose memory grows with its length (quadratically in
#: attention), so longer windows are refused rather than risked.
MAX_WINDOW = 60.0
#: Shortest hop (seconds): shorter hops only repeat work on near-identical windows.
MIN_HOP = 0.01


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


def pcm_float32(array: np.ndarray) -> np.ndarray:
    """Samples as float32: integer PCM scaled to [-1, 1] (as libsndfile does), floats cast."""
    return _to_float32(array)


def is_array(item: object) -> bool:
    """Whether an input is samples (a numpy array or a torch tensor), not a file."""
    return isinstance(item, (np.ndarray, np.generic)) or is_tensor(item)


def _as_numpy(item: object) -> np.ndarray | None:
    """numpy view of a numpy array or torch tensor (any device), else None."""
    if isinstance(item, (np.ndarray, np.generic)):
        return np.asarray(item)
    if is_tensor(item):
        if item.is_complex():
            raise InputTypeError("complex tensors are not audio; pass real samples")
        if item.is_meta:
            raise InvalidInputError(
                "a tensor on the 'meta' device holds no samples (only a shape); pass a tensor "
                "with data, e.g. one created on 'cpu' or 'cuda'"
            )
        try:
            return to_numpy(item)
        except (RuntimeError, TypeError, NotImplementedError) as exc:
            raise InvalidInputError(
                f"cannot read the samples of this tensor ({exc}); pass a plain CPU or CUDA "
                "tensor, e.g. x.detach().cpu()"
            ) from exc
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
    if samples.size == 0:
        raise InvalidInputError("audio is empty (0 samples); pass at least a few milliseconds")
    finite = np.isfinite(samples)
    if not finite.all():
        bad = int(samples.size - finite.sum())
        raise InvalidInputError(
            f"audio has {bad} NaN or infinite sample(s); clean it first, "
            "e.g. np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)"
        )
    check_amplitude(samples, "audio")
    if samples.ndim == 2:
        samples = samples.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(samples)


def check_amplitude(samples: np.ndarray, name: str) -> None:
    """Raise :class:`InvalidInputError` when a (finite) sample exceeds :data:`MAX_AMPLITUDE`."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > MAX_AMPLITUDE:
        raise InvalidInputError(
            f"{name} has samples of magnitude up to {peak:.3g}: float audio must lie in "
            f"[-1, 1] (at most ±{MAX_AMPLITUDE:g} is accepted). Scale it first, e.g. "
            "x / np.abs(x).max(), or pass integer PCM as an integer array"
        )


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


def check_rate(sample_rate: object, what: str = "sample_rate") -> None:
    """Raise :class:`InvalidInputError` unless ``sample_rate`` is None or an int in
    [:data:`MIN_SAMPLE_RATE`, :data:`MAX_SAMPLE_RATE`] Hz."""
    if sample_rate is None:
        return
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise InvalidInputError(
            f"{what} must be an integer number of Hz (e.g. 16000, 44100, 48000), got "
            f"{sample_rate!r}"
        )
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise InvalidInputError(
            f"{what} must lie in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz, got {sample_rate}. "
            "It is the rate of the samples given, in Hz: e.g. 16000, 44100 or 48000"
        )


def check_regular_file(path: Path) -> None:
    """Refuse a FIFO, socket or device path before anything opens it (reading one can block
    forever or never end)."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
        raise AudioDecodeError(
            f"{path} is {kind}, not a regular file: voicesafety reads audio files only. Read "
            "the stream yourself and pass the samples (an array with sample_rate=) or bytes"
        )


def check_window(window: float, hop: float, rate: int, min_samples: int) -> None:
    """Raise :class:`InvalidInputError` unless ``window`` and ``hop`` (seconds) are usable.

    ``window`` must hold at least ``min_samples`` (the shortest input the model can score)
    and at most :data:`MAX_WINDOW` seconds; ``hop`` must lie in [:data:`MIN_HOP`, ``window``].
    """
    shortest = min_samples / rate
    for name, value in (("window", window), ("hop", hop)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidInputError(f"{name} must be a number of seconds, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise InvalidInputError(
                f"{name} must be a positive, finite number of seconds, got {value!r} "
                "(the default window and hop are 15 s, as the models were trained)"
            )
    if not shortest <= window <= MAX_WINDOW:
        raise InvalidInputError(
            f"window must lie in [{shortest:g}, {MAX_WINDOW:g}] seconds for this model, got "
            f"{window!r}: shorter windows hold less than the model can score "
            f"({min_samples} samples at {rate} Hz), longer ones exceed what one forward pass "
            "should hold. Below about 3 s the embedded model is unreliable (docs/audio.md)"
        )
    if not MIN_HOP <= hop <= window:
        raise InvalidInputError(
            f"hop must lie in [{MIN_HOP:g}, window={window:g}] seconds, got {hop!r}"
            + (": audio between windows would be skipped" if hop > window else "")
            + "; e.g. hop = window / 2"
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
        check_regular_file(path)
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
        # soundfile names an in-memory file by its repr (an address that changes per run);
        # the message names the input instead, so the same bad input gives the same message
        reason = str(exc).replace(repr(target), "the data") if not isinstance(
            target, str) else str(exc)
        raise AudioDecodeError(
            f"could not decode {name}: {reason}. Supported formats are those of libsndfile "
            f"{sf.__libsndfile_version__} (wav, flac, ogg/vorbis/opus, mp3 and more); convert "
            "other formats first, e.g. `ffmpeg -i input.m4a output.wav`"
        ) from exc


class AudioSource:
    """One audio input, yielding mono float32 blocks at the target rate.

    Construction validates the input (type, shape, rate, readability) and raises a
    :class:`~voicesafety.errors.VoiceSafetyError` on a user mistake.
    """

    def __init__(self, item: object, target_rate: int, sample_rate: int | None = None) -> None:
        check_rate(sample_rate)
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
            try:
                check_rate(self.input_rate, f"the sample rate of {self.name}")
            except InvalidInputError:
                self._file.close()
                raise
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
                    check_amplitude(mono, self.name)
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
) -> Iterator[Window]:
    """Cut a stream of blocks into analysis windows, exactly as Roblox's ``inference.py``.

    A clip of at most ``window`` seconds is one window, unpadded (the pipeline does not run a
    model on a clip shorter than the model's ``min_samples``). A longer clip gives windows of
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
        yield Window(np.ascontiguousarray(buffer), 0.0, total / rate)
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


def estimate_samples(item: object, sample_rate: int | None, target_rate: int) -> int:
    """Length of an input at ``target_rate`` without decoding it (0 when unknown); for
    progress bars. Never opens anything but a regular file."""
    try:
        if isinstance(item, (str, os.PathLike)):
            if not stat.S_ISREG(os.stat(item).st_mode):
                return 0  # a FIFO or device: never opened here (scoring refuses it)
            info = sf.info(str(item))
            return _resampled_length(int(info.frames), int(info.samplerate), target_rate)
        shape = getattr(item, "shape", None)
        if shape:
            return _resampled_length(int(shape[0]), int(sample_rate or target_rate), target_rate)
    except Exception:  # noqa: BLE001 - only an estimate; real errors surface when scoring
        return 0
    return 0
