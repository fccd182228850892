"""Live-stream scoring: PCM pushed in chunks of any size → VAD-gated windows → events.

A :class:`StreamSession` (what ``Classifier.stream`` returns) holds one stream's state: the
channel and byte remainders, a streaming soxr resampler to 16 kHz (the same resampler and
quality file decoding uses) and a :class:`~voicesafety.vad.SpeechWindower` (VAD state and a
buffer of at most about one window of audio). The model is shared: any number of sessions can
push from any number of threads, one push at a time per session.

Because the windower is the one ``score(..., vad=True)`` uses, a file pushed through a stream
yields the same windows and scores as scoring it with ``vad=True`` (tests/test_streaming.py).

This module sits at the pipeline layer (it needs a :class:`~voicesafety.pipeline.ModelPart`
and is used by the classifier), not on top as DESIGN.md's layout lists it; see
docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np
import soxr

from .audio import (
    MAX_AMPLITUDE,
    RESAMPLE_QUALITY,
    check_amplitude,
    check_rate,
    check_window,
    pcm_float32,
)
from .errors import InputTypeError, InvalidInputError
from .pipeline import ModelPart, window_probabilities
from .policy import ThresholdPolicy
from .results import SpeechRegion, StreamEvent
from .scoring import aggregate
from .vad import VAD_RATE, SpeechWindower, VadOptions

#: Most interleaved channels a stream accepts.
MAX_CHANNELS = 64
_BYTE_DTYPES = {"int16": np.int16, "float32": np.float32, "int32": np.int32}


class StreamSession:
    """One live audio stream scored as it arrives (see ``Classifier.stream``).

    ``push(frames)`` takes PCM of any chunk size and returns the events completed so far;
    ``flush()`` ends the stream and returns the rest. ``apush``/``aflush`` are the same for
    asyncio code (run in a worker thread, so the event loop is never blocked).
    """

    def __init__(
        self,
        part: ModelPart,
        *,
        sample_rate: int,
        channels: int = 1,
        window: float | None = None,
        hop: float | None = None,
        vad: VadOptions | None = None,
        policy: ThresholdPolicy | None = None,
        dtype: str = "int16",
        name: str | None = None,
        vad_frames: int = 1,
    ) -> None:
        spec = part.spec
        check_rate(sample_rate)
        if sample_rate is None:
            raise InvalidInputError("sample_rate is required for a stream, e.g. 48000")
        if isinstance(channels, bool) or not isinstance(channels, int) or not (
                1 <= channels <= MAX_CHANNELS):
            raise InvalidInputError(
                f"channels must be an integer in [1, {MAX_CHANNELS}], got {channels!r}")
        if dtype not in _BYTE_DTYPES:
            raise InvalidInputError(
                f"dtype (of raw bytes pushed) must be one of {sorted(_BYTE_DTYPES)}, got "
                f"{dtype!r}")
        if spec.sample_rate != VAD_RATE:
            raise InvalidInputError(
                f"streams need a model at {VAD_RATE} Hz (Silero VAD's rate); {spec.name} "
                f"takes {spec.sample_rate} Hz")
        if window is None:
            window = spec.window
            hop = spec.hop if hop is None else hop
        else:
            hop = window if hop is None else hop
        check_window(window, hop, spec.sample_rate, spec.min_samples)
        self.part = part
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.window = float(window)
        self.hop = float(hop)
        self.policy = policy or spec.policy
        self.name = name
        self._dtype = np.dtype(_BYTE_DTYPES[dtype])
        self._windower = SpeechWindower(vad or VadOptions(), self.window, self.hop,
                                        frames_per_call=vad_frames)
        self._resampler = (
            soxr.ResampleStream(self.sample_rate, VAD_RATE, 1, dtype="float32",
                                quality=RESAMPLE_QUALITY)
            if self.sample_rate != VAD_RATE else None)
        self._bytes = b""  # an incomplete sample of raw bytes
        self._partial = np.zeros(0, np.float32)  # an incomplete interleaved frame
        self._frames_in = 0
        self._out = 0
        self._lock = threading.Lock()
        self._closed = False
        self._labels = list(spec.labels)

    def __repr__(self) -> str:
        return (f"StreamSession(name={self.name!r}, sample_rate={self.sample_rate}, "
                f"channels={self.channels}, window={self.window:g}, hop={self.hop:g}, "
                f"seconds={self.seconds:.2f}, closed={self._closed})")

    # ---------------------------------------------------------------- properties

    @property
    def seconds(self) -> float:
        """Seconds of audio pushed so far."""
        return self._frames_in / self.sample_rate

    @property
    def speech(self) -> list[SpeechRegion]:
        """The speech regions found so far (stream seconds)."""
        return list(self._windower.regions)

    @property
    def retained_samples(self) -> int:
        """Samples (16 kHz) this stream holds in memory now: bounded by about one window."""
        return self._windower.retained() + len(self._partial)

    # ---------------------------------------------------------------- pushing

    def push(self, frames: np.ndarray | bytes | bytearray | memoryview) -> list[StreamEvent]:
        """Add PCM and return the events it completed (often none).

        ``frames``: a numpy array of float (in [-1, 1]) or integer PCM, 1-D (mono, or
        interleaved channels) or 2-D (frames × channels); or raw bytes of ``dtype`` samples,
        interleaved. Any chunk size, also splitting a frame or a sample.

        Raises:
            InvalidInputError: after :meth:`flush`, or samples that are not finite or not
                audio-scaled (float magnitudes above 65536).
            InputTypeError: anything but an array or bytes.
        """
        started = time.perf_counter()
        with self._lock:
            if self._closed:
                raise InvalidInputError("this stream was flushed; open a new one with "
                                        "clf.stream(...)")
            mono = self._mono(frames)
            if self._resampler is not None:
                mono = self._resampler.resample_chunk(mono, last=False)
            self._out += len(mono)
            return self._events(self._windower.feed(mono), started)

    def flush(self) -> list[StreamEvent]:
        """End the stream: close the open utterance and return the last events."""
        started = time.perf_counter()
        with self._lock:
            if self._closed:
                return []
            self._closed = True
            self._bytes = b""
            self._partial = np.zeros(0, np.float32)
            wins = []
            if self._resampler is not None and self._frames_in:
                tail = self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)
                # As file decoding: librosa's length, ceil(n * ratio).
                want = -(-self._frames_in * VAD_RATE // self.sample_rate)
                tail = tail[:max(0, want - self._out)]
                if self._out + len(tail) < want:
                    tail = np.pad(tail, (0, want - self._out - len(tail)))
                wins += self._windower.feed(tail)
            wins += self._windower.finish()
            return self._events(wins, started)

    async def apush(self, frames: np.ndarray | bytes | bytearray | memoryview,
                    ) -> list[StreamEvent]:
        """:meth:`push` for asyncio code, run in a worker thread."""
        return await asyncio.to_thread(self.push, frames)

    async def aflush(self) -> list[StreamEvent]:
        """:meth:`flush` for asyncio code, run in a worker thread."""
        return await asyncio.to_thread(self.flush)

    def __enter__(self) -> StreamSession:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closed = True

    # ---------------------------------------------------------------- internals

    def _mono(self, frames: object) -> np.ndarray:
        if isinstance(frames, (bytes, bytearray, memoryview)):
            raw = self._bytes + bytes(frames)
            size = self._dtype.itemsize
            whole = len(raw) - len(raw) % size
            self._bytes = raw[whole:]
            array = np.frombuffer(raw[:whole], dtype=self._dtype)
        elif isinstance(frames, np.ndarray):
            array = frames
        else:
            raise InputTypeError(
                f"push takes a numpy array or raw PCM bytes, got {type(frames).__name__}")
        if array.dtype == np.bool_ or array.dtype.kind not in "fiu":
            raise InputTypeError(
                f"PCM must be float or integer samples, got dtype {array.dtype}")
        if array.ndim == 2:
            if array.shape[1] != self.channels:
                raise InvalidInputError(
                    f"a 2-D chunk must be frames × channels with {self.channels} channel(s) "
                    f"(as the stream was opened), got shape {array.shape}")
            array = array.reshape(-1)
        elif array.ndim != 1:
            raise InvalidInputError(
                f"push takes 1-D (mono or interleaved) or 2-D (frames × channels) PCM, got "
                f"shape {array.shape}")
        samples = pcm_float32(array)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0  # one pass: NaN spreads
        if not np.isfinite(peak):
            raise InvalidInputError("the chunk has NaN or infinite samples; clean it first")
        if peak > MAX_AMPLITUDE:
            check_amplitude(samples, "the chunk")  # raises, saying how to scale
        if self.channels == 1:
            self._frames_in += len(samples)
            return np.ascontiguousarray(samples, dtype=np.float32)
        if len(self._partial):
            samples = np.concatenate([self._partial, samples])
        whole = len(samples) - len(samples) % self.channels
        self._partial = samples[whole:].copy()
        block = samples[:whole].reshape(-1, self.channels)
        self._frames_in += len(block)
        return np.ascontiguousarray(block.mean(axis=1, dtype=np.float32))

    def _events(self, wins: Sequence, started: float) -> list[StreamEvent]:
        spec = self.part.spec
        wins = [w for w in wins if len(w.samples) >= spec.min_samples]
        if not wins:
            return []
        rows = window_probabilities(self.part, [w.samples for w in wins])
        latency = time.perf_counter() - started
        events = []
        for win, row in zip(wins, rows):
            scores, flags, toxicity = aggregate(row, self._labels, spec.toxic_labels,
                                                self.policy)
            events.append(StreamEvent(
                start=win.start, end=win.end, scores=scores, flags=flags, flagged=bool(flags),
                toxicity=toxicity, latency=latency, stream=self.name))
        return events
