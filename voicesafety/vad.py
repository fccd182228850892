"""Voice activity detection: Silero VAD (MIT) through ONNX Runtime, and speech windows.

The ``silero-vad`` package (the ``vad`` extra) is installed for its ONNX weights only: its own
loader imports torch and torchaudio, so voicesafety runs the ONNX file itself and owns the
LSTM state (one per clip or stream). When the package ships Silero's "sequence" export
(``silero_vad_16k_sequence.onnx``, 6.2 and later), one ONNX call covers a whole block of 32 ms
frames with the state carried inside the graph, giving bit-identical probabilities to the
frame-by-frame model at a fraction of the per-call overhead (measured in
benchmarks/bench_stream.py); with older packages the stock ``silero_vad.onnx`` runs frame by
frame.

:class:`SpeechWindower` turns 16 kHz samples, block by block, into speech regions (Silero's
``get_speech_timestamps`` rules, run incrementally) and analysis windows. The same object
serves ``score(..., vad=True)`` (fed a file's blocks) and live streams (fed each push), so a
stream yields exactly the windows the batch call does, with memory bounded by the window
length whatever the stream's length.
"""

from __future__ import annotations

import importlib.resources
import math
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .audio import Window
from .errors import InvalidInputError, MissingDependencyError
from .results import SpeechRegion

if TYPE_CHECKING:
    import onnxruntime as ort

#: The rate Silero VAD runs at (and voicesafety's audio models' rate).
VAD_RATE = 16_000
#: Samples per VAD frame at 16 kHz (32 ms), and the context the model sees before each frame.
FRAME = 512
CONTEXT = 64
#: Frames per ONNX call in batch scoring (about 16 s of audio, as Silero's sequence front end).
BLOCK_FRAMES = 512


@dataclass(frozen=True)
class VadOptions:
    """Silero VAD settings (the defaults are Silero's ``get_speech_timestamps`` defaults).

    Attributes:
        threshold: a 32 ms frame is speech when its probability is at least this (0.5).
        neg_threshold: speech ends when the probability falls below this; None for Silero's
            ``max(threshold - 0.15, 0.01)``.
        min_speech: speech regions of at most this many seconds are dropped (0.25 s).
        min_silence: silence must last this long (seconds) to end a region (0.1 s); at least
            twice ``speech_pad``.
        speech_pad: seconds added on each side of a region (0.03 s).

    Raises:
        InvalidInputError: a value out of range.
    """

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_speech: float = 0.25
    min_silence: float = 0.1
    speech_pad: float = 0.03

    def __post_init__(self) -> None:
        def number(name: str, lo: float, hi: float, value: object) -> None:
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value) and lo <= value <= hi)
            if not ok:
                raise InvalidInputError(
                    f"VadOptions.{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")

        number("threshold", 0.01, 0.99, self.threshold)
        if self.neg_threshold is not None:
            number("neg_threshold", 0.01, self.threshold, self.neg_threshold)
        number("min_speech", 0.0, 60.0, self.min_speech)
        number("min_silence", 0.0, 60.0, self.min_silence)
        number("speech_pad", 0.0, 10.0, self.speech_pad)
        if self.min_silence < 2 * self.speech_pad:
            raise InvalidInputError(
                f"VadOptions.min_silence ({self.min_silence:g} s) must be at least twice "
                f"speech_pad ({self.speech_pad:g} s): regions are then always further apart "
                "than their padding, so a stream can close one without waiting. Raise "
                "min_silence or lower speech_pad")

    @property
    def negative(self) -> float:
        """The probability below which speech ends."""
        if self.neg_threshold is not None:
            return self.neg_threshold
        return max(self.threshold - 0.15, 0.01)

    @classmethod
    def coerce(cls, value: object) -> VadOptions | None:
        """``False``/None → None, ``True`` → defaults, a dict → validated options.

        Raises:
            InvalidInputError: anything else, or options out of range.
        """
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, VadOptions):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {f.name for f in fields(cls)}
            if unknown:
                raise InvalidInputError(
                    f"unknown VAD option(s) {sorted(unknown)}; the options are "
                    f"{[f.name for f in fields(cls)]}")
            return cls(**value)
        raise InvalidInputError(
            f"vad must be True, False, a VadOptions or a dict of its fields, got {value!r}; "
            "e.g. vad=True or vad=VadOptions(threshold=0.6)"
        )


# --------------------------------------------------------------------------- the model


def _model_files() -> tuple[Path | None, Path]:
    """(sequence export or None, stock export) shipped by the silero-vad package."""
    try:
        data = importlib.resources.files("silero_vad") / "data"
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(
            "voice activity detection (vad=True, clf.stream) needs the optional dependency "
            "'silero-vad' for its ONNX weights, which is not installed: "
            'pip install "voicesafety[vad]" (or pip install --no-deps silero-vad: only its '
            "ONNX file is used)"
        ) from exc
    sequence = Path(str(data / "silero_vad_16k_sequence.onnx"))
    stock = Path(str(data / "silero_vad.onnx"))
    if not stock.is_file() and not sequence.is_file():
        raise MissingDependencyError(
            f"the silero-vad package at {data} ships no silero_vad.onnx; reinstall it: "
            'pip install --force-reinstall --no-deps "silero-vad>=5"'
        )
    return (sequence if sequence.is_file() else None), stock


class VadModel:
    """Silero VAD on ONNX Runtime (one CPU thread). Safe to share between threads: the
    session is, and the LSTM state is the caller's (:meth:`initial_state`)."""

    def __init__(self) -> None:
        import onnxruntime as ort

        sequence, stock = _model_files()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.sequence = sequence is not None
        path = sequence if sequence is not None else stock
        self.path = path
        self.session: ort.InferenceSession = ort.InferenceSession(
            str(path), opts, providers=["CPUExecutionProvider"])
        self._rate = np.array(VAD_RATE, dtype=np.int64)

    def initial_state(self) -> Any:
        """A fresh LSTM state for one clip or stream."""
        if self.sequence:
            zero = np.zeros((1, 1, 128), np.float32)
            return (zero, zero)
        return np.zeros((2, 1, 128), np.float32)

    def probabilities(self, frames: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """Speech probability of each row of ``frames`` ``[n, 64 + 512]`` (context + frame),
        in order, and the state after the last one."""
        if len(frames) == 0:
            return np.zeros(0, np.float32), state
        if self.sequence:
            h, c = state
            probs, h, c = self.session.run(["speech_probs", "hn", "cn"],
                                           {"input": frames, "h": h, "c": c})
            return np.asarray(probs, np.float32).reshape(-1), (h, c)
        out = np.empty(len(frames), np.float32)
        for i in range(len(frames)):
            prob, state = self.session.run(None, {"input": frames[i:i + 1], "state": state,
                                                  "sr": self._rate})
            out[i] = prob[0, 0]
        return out, state


_model: dict[str, VadModel] = {}
_model_lock = threading.Lock()


def load_vad() -> VadModel:
    """The process's shared :class:`VadModel` (loaded once)."""
    with _model_lock:
        if "vad" not in _model:
            _model["vad"] = VadModel()
        return _model["vad"]


# --------------------------------------------------------------------------- regions → windows


@dataclass
class _Region:
    """A speech region being spoken, in samples: Silero's raw start and the padded one."""

    raw_start: int
    start: int
    next_k: int = 0  # next rolling window index
    emitted_to: int = -1  # end of the last window emitted
    windows: int = 0


@dataclass
class SpeechWindower:
    """Speech regions and analysis windows from 16 kHz samples fed block by block.

    Regions follow Silero's ``get_speech_timestamps`` (without its maximum speech duration:
    windows cut long speech instead), run incrementally: a region closes after
    ``min_silence`` of silence and is padded by ``speech_pad`` on each side. With
    ``min_silence >= 2 * speech_pad`` (required; Silero's defaults are 100 and 30 ms) two
    regions are always more than two pads apart, so Silero's gap splitting never applies and
    a region is final the moment it closes.

    Each region gives windows of at most ``window`` seconds, only ever of speech: a region
    no longer than the window is one window; a longer one gives windows of ``window`` seconds
    every ``hop`` seconds, the last one ending at the region's end (so no window is padded
    and none reaches into silence). Windows of a long region are emitted as soon as the
    speech they hold has been seen (the rolling windows of a live stream).

    ``frames_per_call``: VAD frames run per ONNX call once that many are waiting (1 reacts
    fastest; more costs less per frame). Results do not depend on it.
    """

    options: VadOptions
    window: float
    hop: float
    model: VadModel = field(default_factory=lambda: load_vad())
    frames_per_call: int = BLOCK_FRAMES
    regions: list[SpeechRegion] = field(default_factory=list)

    #: The sample rate fed to :meth:`feed` (Silero's).
    model_rate = VAD_RATE

    def __post_init__(self) -> None:
        o = self.options
        if not 1 <= self.frames_per_call <= BLOCK_FRAMES:
            raise InvalidInputError(
                f"frames_per_call must lie in [1, {BLOCK_FRAMES}], got {self.frames_per_call!r}")
        self._W = int(self.window * VAD_RATE)
        self._H = max(1, int(self.hop * VAD_RATE))
        self._pad = VAD_RATE * o.speech_pad
        self._min_speech = VAD_RATE * o.min_speech
        self._min_silence = VAD_RATE * o.min_silence
        self._state = self.model.initial_state()
        self._context = np.zeros(CONTEXT, np.float32)
        self._store = np.zeros(0, np.float32)  # capacity; the first len(_buffer) are used
        self._buffer = self._store[:0]  # samples from absolute index _offset
        self._offset = 0
        self._received = 0
        self._frames = 0  # frames run through the VAD
        self._triggered = False
        self._temp_end = 0
        self._active: _Region | None = None
        self.speech_samples = 0

    # ---------------------------------------------------------------- feeding

    @property
    def received(self) -> int:
        """Samples fed so far (16 kHz)."""
        return self._received

    def feed(self, samples: np.ndarray) -> list[Window]:
        """Add samples (mono float32, 16 kHz); return the windows completed by them."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        if len(samples):
            self._append(samples)
        out: list[Window] = []
        ready = self._received // FRAME - self._frames
        while ready >= self.frames_per_call:
            n = min(ready, BLOCK_FRAMES)
            self._run_frames(n, out)
            ready -= n
        self._trim()
        return out

    def finish(self) -> list[Window]:
        """End of input: run the last (zero-padded) frame and close the open region."""
        out: list[Window] = []
        total = self._received
        while (whole := total // FRAME - self._frames) > 0:
            self._run_frames(min(whole, BLOCK_FRAMES), out)
        if total % FRAME:
            self._run_frames(1, out, padded=True)
        region = self._active
        if self._triggered and region is not None and total - region.raw_start > self._min_speech:
            self._finalise(region, total, out)
        self._active = None
        self._triggered = False
        return out

    # ---------------------------------------------------------------- VAD

    def _frame_block(self, n: int, padded: bool) -> np.ndarray:
        first = self._frames * FRAME - self._offset
        if padded:
            samples = np.zeros(n * FRAME, np.float32)
            tail = self._buffer[first:first + n * FRAME]
            samples[:len(tail)] = tail
        else:
            samples = self._buffer[first:first + n * FRAME]
        frames = samples.reshape(n, FRAME)
        contexts = np.empty((n, CONTEXT), np.float32)
        contexts[0] = self._context
        if n > 1:
            contexts[1:] = frames[:-1, -CONTEXT:]
        self._context = frames[-1, -CONTEXT:].copy()
        return np.ascontiguousarray(np.concatenate([contexts, frames], axis=1))

    def _run_frames(self, n: int, out: list[Window], padded: bool = False) -> None:
        probs, self._state = self.model.probabilities(self._frame_block(n, padded), self._state)
        for prob in probs.tolist():
            cur = self._frames * FRAME
            self._frames += 1
            self._step(prob, cur, out)

    def _step(self, prob: float, cur: int, out: list[Window]) -> None:
        """One frame of Silero's state machine (``get_speech_timestamps_from_probs``)."""
        threshold = self.options.threshold
        if prob >= threshold and self._temp_end:
            self._temp_end = 0
        if prob >= threshold and not self._triggered:
            self._triggered = True
            self._active = _Region(raw_start=cur, start=int(max(0, cur - self._pad)))
            return
        region = self._active
        if not self._triggered or region is None:
            return
        if prob < self.options.negative:
            if not self._temp_end:
                self._temp_end = cur
            if cur - self._temp_end >= self._min_silence:
                if self._temp_end - region.raw_start > self._min_speech:
                    self._finalise(region, int(self._temp_end + self._pad), out)
                self._active = None
                self._triggered = False
                self._temp_end = 0
                return
        # Rolling windows of long speech: the region ends no earlier than this bound.
        bound = min(self._temp_end if self._temp_end else self._frames * FRAME, self._received)
        if bound - region.raw_start > self._min_speech:  # only regions that will be kept
            self._emit_rolling(region, bound, out)

    # ---------------------------------------------------------------- windows

    def _emit_rolling(self, region: _Region, limit: int, out: list[Window]) -> None:
        while region.start + region.next_k * self._H + self._W <= limit:
            lo = region.start + region.next_k * self._H
            self._emit(region, lo, lo + self._W, out)
            region.next_k += 1

    def _emit(self, region: _Region, lo: int, hi: int, out: list[Window]) -> None:
        a = lo - self._offset
        if a < 0:  # pragma: no cover - _trim keeps every sample a window can need
            raise AssertionError("speech window reaches before the retained buffer")
        out.append(Window(self._buffer[a:a + (hi - lo)].copy(), lo / VAD_RATE, hi / VAD_RATE))
        region.emitted_to = hi
        region.windows += 1

    def _finalise(self, region: _Region, end: int, out: list[Window]) -> None:
        end = min(end, self._received)
        if end - region.start <= self._W:
            if region.windows == 0:
                self._emit(region, region.start, end, out)
        else:
            self._emit_rolling(region, end, out)
            if region.emitted_to != end:
                self._emit(region, end - self._W, end, out)
        self.regions.append(SpeechRegion(start=region.start / VAD_RATE, end=end / VAD_RATE))
        self.speech_samples += end - region.start

    def _append(self, samples: np.ndarray) -> None:
        """Append to the buffer, growing its capacity geometrically (amortised O(n): small
        pushes never copy the whole buffer)."""
        used = self._received - self._offset
        need = used + len(samples)
        if need > len(self._store):
            grown = np.empty(max(need, len(self._store) * 3 // 2, 4 * FRAME), np.float32)
            grown[:used] = self._store[:used]
            self._store = grown
        self._store[used:need] = samples
        self._received += len(samples)
        self._buffer = self._store[:need]

    def _trim(self) -> None:
        """Drop samples no future window can need: memory per stream stays bounded."""
        keep = self._frames * FRAME - int(self._pad) - FRAME  # a new region's padded start
        region = self._active
        if region is not None:
            bound = self._temp_end if self._temp_end else self._frames * FRAME
            keep = min(keep, max(region.start, min(region.start + region.next_k * self._H,
                                                   bound - self._W - FRAME)))
        drop = keep - self._offset
        if drop > VAD_RATE:  # move at most about once per second of audio
            used = self._received - self._offset
            self._store[:used - drop] = self._store[drop:used]
            self._offset += drop
            self._buffer = self._store[:used - drop]

    def retained(self) -> int:
        """Samples held in memory now (the buffer's capacity)."""
        return len(self._store)
