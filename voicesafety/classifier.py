"""The :class:`Classifier`: the facade that loads a model and scores audio and text.

Loading is :mod:`voicesafety.loading`'s job and scoring :mod:`voicesafety.pipeline`'s; this
module holds what users call, with their defaults and documentation.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from .audio import AudioInput, is_array
from .errors import (
    InvalidInputError,
    ModalityError,
    ModelLoadError,
    PolicyError,
    SampleRateWarning,
)
from .formats.checkpoint import load_folder
from .loading import load
from .pipeline import ModelPart, score_audio, score_texts, text_probabilities
from .policy import ThresholdPolicy
from .prompts import JudgePrompt
from .registry import Modality
from .results import AudioResult, ErrorResult, ResultList, TextResult
from .streaming import StreamSession
from .text import check_texts
from .vad import VadOptions

if TYPE_CHECKING:
    import torch

    from .differentiable import DifferentiableToxicity


class Classifier:
    """A voice and/or text toxicity classifier.

    Build one with :meth:`from_pretrained`. A classifier holds an audio model, a text model,
    or both (the embedded default ``voicesafety/mini`` holds both): :attr:`audio` and
    :attr:`text` give each one's spec, backend and info.
    """

    def __init__(self, audio: ModelPart | None, text: ModelPart | None, name: str) -> None:
        if audio is None and text is None:
            raise ModelLoadError(f"{name} holds neither an audio nor a text model")
        self._audio = audio
        self._text = text
        self._differentiable: DifferentiableToxicity | None = None
        self.name = name

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path | None = None,
        *,
        backend: str = "auto",
        device: str = "auto",
        policy: ThresholdPolicy | str | Path | dict[str, object] | None = None,
        revision: str | None = None,
        trust_code: bool | None = None,
        threads: int | None = None,
        prompt: JudgePrompt | str | None = None,
        precision: str = "float32",
    ) -> Classifier:
        """Load a classifier, or an LLM judge (a causal LM scored as a text model).

        Args:
            name_or_path: ``"voicesafety/mini"`` or None (the embedded default, offline), a
                Hugging Face hub id (``"Roblox/voice-safety-classifier-v2"``,
                ``"s-nlp/roberta_toxicity_classifier"``), a local checkpoint folder, or a
                bundle folder with ``audio/`` and ``text/`` subfolders.
            backend: ``"torch"`` (the reference), ``"torchscript"``, ``"onnx"``,
                ``"onnx-int8"`` or ``"auto"``.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available).
            policy: a :class:`ThresholdPolicy`, a path to its JSON, or None for the model's
                own policy.
            revision: hub revision (branch, tag or commit) for hub ids.
            trust_code: allow a TorchScript ``.pt`` from this path or hub id to run (loading
                one runs the program stored in it). None: only if ``$VOICESAFETY_TRUST_CODE``
                is ``1``. Not needed for checkpoints, ONNX files, or the conversions
                voicesafety caches itself (their hashes are checked).
            threads: CPU threads for torch, TorchScript and ONNX Runtime. None:
                ``$VOICESAFETY_THREADS``, else the CPUs not already busy (docs/backends.md).
            prompt: for an LLM judge (``"grounded-ai/phi3-toxicity-judge"``, a folder with a
                causal LM, or a PEFT adapter folder): a
                :class:`~voicesafety.prompts.JudgePrompt` or a template string with one
                ``{text}``, replacing the judge's own prompt (docs/judge.md). Judges run on
                ``backend="torch"``/``"auto"`` only.
            precision: ``"float32"`` (default), or on CUDA with ``backend="torch"``/``"auto"``
                ``"float16"`` or ``"bfloat16"``: the weights and inputs in that dtype, for the
                GPU's tensor cores (scores move by up to ~1e-3, docs/backends.md). Results
                report it in ``ModelInfo.precision``.

        Raises:
            ModelLoadError: the model cannot be found, downloaded or read; the message says
                how to fix it. Its subclasses :class:`~voicesafety.errors.IntegrityError` (a
                file differs from the hash recorded when it was written) and
                :class:`~voicesafety.errors.UntrustedCodeError` (TorchScript without
                ``trust_code``).
        """
        name, parts = load(name_or_path, backend=backend, device=device,
                           policy=policy, revision=revision, trust_code=trust_code,
                           threads=threads, prompt=prompt, precision=precision)
        return cls(parts.get("audio"), parts.get("text"), name)

    # ------------------------------------------------------------------ properties

    @property
    def modalities(self) -> tuple[str, ...]:
        """``("audio",)``, ``("text",)`` or ``("audio", "text")``."""
        return tuple(m for m, h in (("audio", self._audio), ("text", self._text)) if h)

    @property
    def audio(self) -> ModelPart:
        """The audio model: its ``spec``, ``backend`` and ``info()``.

        Raises:
            ModalityError: this classifier has no audio model.
        """
        return self._part("audio")

    @property
    def text(self) -> ModelPart:
        """The text model: its ``spec``, ``backend``, ``tokenizer`` and ``info()``.

        Raises:
            ModalityError: this classifier has no text model.
        """
        return self._part("text")

    def _first(self) -> ModelPart:
        part = self._audio or self._text
        assert part is not None  # __init__ refuses a classifier with neither
        return part

    def _part(self, modality: Modality) -> ModelPart:
        head = self._audio if modality == "audio" else self._text
        if head is None:
            other = "text" if modality == "audio" else "audio"
            call = "score_text(text)" if other == "text" else "score(audio)"
            example = (
                "'Roblox/voice-safety-classifier-v2'" if modality == "audio"
                else "'s-nlp/roberta_toxicity_classifier'"
            )
            raise ModalityError(
                f"{self.name} is a {other}-only classifier: use clf.{call}, or load a "
                f"{modality} model, e.g. Classifier.from_pretrained({example}) or the "
                "embedded default Classifier.from_pretrained() which does both"
            )
        return head

    @property
    def labels(self) -> list[str]:
        """Label names of the audio model (or of the text model for a text-only classifier)."""
        return list(self._first().spec.labels)

    @property
    def text_labels(self) -> list[str]:
        """Label names of the text model."""
        return list(self.text.spec.labels)

    @property
    def toxic_labels(self) -> list[str]:
        """The labels that count as toxicity (all but negative ones such as NoViolation)."""
        return list(self._first().spec.toxic_labels)

    @property
    def policy(self) -> ThresholdPolicy:
        """The audio model's threshold policy (the text model's for a text-only classifier).

        The audio and text models each keep their own policy (the embedded default ships
        different calibrated thresholds for each): see :attr:`policies`, or
        ``clf.audio.policy`` / ``clf.text.policy``.
        """
        return self._first().spec.policy

    @property
    def policies(self) -> dict[str, ThresholdPolicy]:
        """The threshold policy of each model, by modality: ``{"audio": ..., "text": ...}``."""
        parts = (("audio", self._audio), ("text", self._text))
        return {m: part.spec.policy for m, part in parts if part is not None}

    @property
    def device(self) -> str:
        """The device the models run on."""
        return self._first().backend.device

    @property
    def backend(self) -> str:
        """The backend the models run on."""
        return self._first().backend.name

    def with_policy(
        self,
        policy: ThresholdPolicy | str | Path | Mapping[str, object] | None = None,
        *,
        audio: ThresholdPolicy | str | Path | Mapping[str, object] | None = None,
        text: ThresholdPolicy | str | Path | Mapping[str, object] | None = None,
        replace: bool = False,
    ) -> Classifier:
        """A classifier sharing these models, with other thresholds.

        By default the given thresholds are laid over each model's current ones: labels not
        named keep theirs (the shipped, calibrated thresholds), and ``default`` changes only
        when set explicitly. ``replace=True`` uses the given policy as it is instead.

        Args:
            policy: for both models: a :class:`ThresholdPolicy`, a plain dict of thresholds
                (``{"Profanity": 0.9}``), a dict of the policy's fields, or a path to its
                JSON. Each model takes the labels it has; a label that no model has is an
                error.
            audio: for the audio model only (applied after ``policy``).
            text: for the text model only (applied after ``policy``).
            replace: replace each model's policy instead of updating it.

        Raises:
            PolicyError: a threshold outside [0, 1], a label no model has, or nothing given.

        Example:
            >>> clf = Classifier.from_pretrained()                      # doctest: +SKIP
            >>> strict = clf.with_policy({"Harassment": 0.5})           # doctest: +SKIP
            >>> strict.policies["text"].threshold("Profanity")          # doctest: +SKIP
            0.9863
        """
        given = {
            "policy": ThresholdPolicy.coerce(policy),
            "audio": ThresholdPolicy.coerce(audio),
            "text": ThresholdPolicy.coerce(text),
        }
        if all(p is None for p in given.values()):
            raise PolicyError(
                "with_policy needs thresholds: e.g. clf.with_policy({'Profanity': 0.9}), "
                "or audio=/text= for one model"
            )
        for key in ("audio", "text"):
            if given[key] is not None:
                self._part(key)  # ModalityError if absent
        shared = given["policy"]
        if shared is not None:
            known = {label for part in (self._audio, self._text) if part is not None
                     for label in part.spec.labels}
            shared.check_labels(known)  # a label that no model has is a typo

        def apply(part: ModelPart | None, own: ThresholdPolicy | None) -> ModelPart | None:
            if part is None:
                return None
            current = part.spec.policy
            for update in (shared, own):
                if update is None:
                    continue
                if update is shared:  # each model takes the labels it has
                    labels = set(part.spec.labels)
                    update = update.model_copy(update={"thresholds": {
                        k: v for k, v in update.thresholds.items() if k in labels}})
                current = update if replace else current.updated(update)
            return part.with_policy(current)

        return Classifier(apply(self._audio, given["audio"]), apply(self._text, given["text"]),
                          self.name)

    def __repr__(self) -> str:
        return (
            f"Classifier({self.name!r}, modalities={self.modalities}, backend={self.backend!r}, "
            f"device={self.device!r})"
        )

    # ------------------------------------------------------------------ scoring

    def _batch_size(self, batch_size: int | None, *, cpu: int, cuda: int) -> int:
        """The user's batch size, or the default that was fastest on this device kind."""
        if batch_size is not None:
            return batch_size
        return cuda if self.device.startswith("cuda") else cpu

    @overload
    def score(
        self, audio: AudioInput, *, sample_rate: int | None = ..., window: float | None = ...,
        hop: float | None = ..., batch_size: int | None = ..., errors: str = ...,
        progress: bool | None = ..., vad: bool | VadOptions | dict[str, float] = ...,
    ) -> AudioResult | ErrorResult: ...

    @overload
    def score(
        self, audio: list[AudioInput] | tuple[AudioInput, ...], *, sample_rate: int | None = ...,
        window: float | None = ..., hop: float | None = ..., batch_size: int | None = ...,
        errors: str = ..., progress: bool | None = ...,
        vad: bool | VadOptions | dict[str, float] = ...,
    ) -> list[AudioResult | ErrorResult]: ...

    def score(
        self,
        audio: AudioInput | list[AudioInput] | tuple[AudioInput, ...],
        *,
        sample_rate: int | None = None,
        window: float | None = None,
        hop: float | None = None,
        batch_size: int | None = None,
        errors: str = "raise",
        progress: bool | None = None,
        vad: bool | VadOptions | dict[str, float] = False,
    ) -> AudioResult | ErrorResult | list[AudioResult | ErrorResult]:
        """Score speech.

        Args:
            audio: a path, raw file bytes, a binary file object, a numpy array or a torch
                tensor (1-D mono or 2-D frames × channels), or a list of them.
            sample_rate: rate of arrays and tensors in Hz, in [1000, 768000]. Without it they
                are taken to be at the model's rate (16 kHz) and a
                :class:`~voicesafety.errors.SampleRateWarning` says so. Files carry their own
                rate. Everything is resampled to the model's rate (16 kHz).
            window, hop: analysis window and hop in seconds (default 15 and 15, as the
                models were trained). Clips no longer than ``window`` are scored whole.
                ``window`` must hold at least the model's shortest input (0.25 s for the
                embedded model) and at most 60 s; ``hop`` lies in [0.01, window]. The
                embedded model is reliable with windows of 4 s or more (docs/audio.md).
            batch_size: windows per forward pass (only windows of equal length share one).
                Default: 1 on CPU (larger batches were slower per audio-second there on every
                backend, see docs/backends.md), 8 on CUDA.
            errors: ``"raise"`` (default) raises on the first bad input, naming its index;
                ``"return"`` puts an :class:`ErrorResult` in its place.
            progress: show a progress bar (default: only for long work, on a terminal).
            vad: score speech only (Silero VAD; ``pip install "voicesafety[vad]"``): True for
                Silero's defaults, or a :class:`~voicesafety.vad.VadOptions` (or a dict of
                its fields: ``threshold`` 0.5, ``min_speech`` 0.25 s, ``min_silence`` 0.1 s,
                ``speech_pad`` 0.03 s). Each speech region is cut into windows of at most
                ``window`` seconds (every ``hop`` seconds, the last ending with the speech);
                window times are in the original clip, and the result reports ``speech``
                (the regions) and ``speech_seconds``. False (default) scores every sample,
                as Roblox's reference does. See docs/streaming.md.

        Returns:
            An :class:`AudioResult` for one input, a list (in input order) for a list. A
            clip shorter than the model's shortest input is not run through the model: its
            result has ``too_short=True``, no windows, toxicity 0 and no flags. With ``vad``,
            a clip without speech gets ``speech=[]``, no windows, toxicity 0 and no flags.

        Raises:
            InvalidInputError: bad ``sample_rate``, ``window``, ``hop``, ``batch_size`` or
                ``errors`` (always raised), or a bad input (with ``errors="raise"``).
        """
        part = self.audio
        items: list[object] = list(audio) if isinstance(audio, (list, tuple)) else [audio]
        single = not isinstance(audio, (list, tuple))
        if not items:
            return ResultList()
        if sample_rate is None and any(is_array(x) for x in items):
            # Files carry their rate; samples do not. A 48 kHz array read as 16 kHz loses every
            # flag, so the assumption is said aloud (once per call site: the default filter).
            warnings.warn(
                f"audio samples were given without sample_rate: assuming "
                f"{part.spec.sample_rate} Hz. Pass sample_rate= (e.g. sample_rate=48000) with "
                "arrays and tensors; a wrong rate gives wrong scores",
                SampleRateWarning, stacklevel=2,
            )
        results = score_audio(
            items, part, sample_rate=sample_rate, window=window, hop=hop,
            batch_size=self._batch_size(batch_size, cpu=1, cuda=8), errors=errors,
            progress=progress, vad=VadOptions.coerce(vad),
        )
        return results[0] if single else ResultList(results)

    def stream(
        self,
        *,
        sample_rate: int,
        channels: int = 1,
        window: float | None = None,
        hop: float | None = None,
        vad: bool | VadOptions | dict[str, float] = True,
        dtype: str = "int16",
        name: str | None = None,
        vad_frames: int = 1,
    ) -> StreamSession:
        """Open a live stream: push PCM as it arrives, get an event per scored window.

        Windows are VAD-gated utterances of at most ``window`` seconds; longer speech gives
        rolling windows every ``hop`` seconds (the last one ending with the speech), exactly
        as ``score(..., vad=True)`` cuts a file. Each session holds its own state (VAD, a
        resampler, at most about one window of audio); the model is shared, so one classifier
        serves many concurrent streams, from any threads. See docs/streaming.md.

        Args:
            sample_rate: the rate of the PCM pushed, in Hz (e.g. 48000).
            channels: interleaved channels (mixed to mono by their mean).
            window, hop: seconds (default: the model's, 15 and 15).
            vad: True (Silero's defaults) or :class:`~voicesafety.vad.VadOptions` / a dict.
            dtype: sample type of raw bytes pushed: ``"int16"``, ``"int32"`` or ``"float32"``.
            name: a name carried by every event (e.g. a player id).
            vad_frames: 32 ms VAD frames run per ONNX call (1 reacts fastest; 4-8 cost less
                per frame with many streams). Results do not depend on it.

        Returns:
            A :class:`~voicesafety.streaming.StreamSession`: ``push(frames)``, ``flush()``,
            ``await apush(frames)``, ``await aflush()``.
        """
        options = VadOptions.coerce(vad)
        if options is None:
            raise InvalidInputError(
                "a stream is always VAD-gated (its windows are utterances): pass vad=True or "
                "VadOptions(...); to score every sample, collect the audio and use score()")
        return StreamSession(self.audio, sample_rate=sample_rate, channels=channels,
                             window=window, hop=hop, vad=options, dtype=dtype, name=name,
                             vad_frames=vad_frames)

    @overload
    def score_text(
        self, text: str, *, batch_size: int | None = ..., max_length: int | None = ...,
        as_tensor: Literal[False] = ..., progress: bool | None = ..., explain: bool = ...,
    ) -> TextResult: ...

    @overload
    def score_text(
        self, text: list[str], *, batch_size: int | None = ..., max_length: int | None = ...,
        as_tensor: Literal[False] = ..., progress: bool | None = ..., explain: bool = ...,
    ) -> list[TextResult]: ...

    @overload
    def score_text(
        self, text: str | list[str], *, batch_size: int | None = ...,
        max_length: int | None = ..., as_tensor: Literal[True], progress: bool | None = ...,
        explain: bool = ...,
    ) -> torch.Tensor: ...

    def score_text(
        self,
        text: str | list[str],
        *,
        batch_size: int | None = None,
        max_length: int | None = None,
        as_tensor: bool = False,
        progress: bool | None = None,
        explain: bool = False,
    ) -> TextResult | list[TextResult] | torch.Tensor:
        """Score one text or many.

        Args:
            text: a str, or a list of str (results in input order).
            batch_size: texts per forward pass; texts are sorted by length into batches.
                Default: 8 on CPU (the fastest measured, docs/text.md), 64 on CUDA.
            max_length: truncate at this many tokens (special tokens included) instead of the
                model's maximum; values above the model's maximum are capped to it. Truncation
                is reported on each result (``truncated``, ``num_tokens``).
            as_tensor: return a ``torch.Tensor [n, labels]`` of probabilities on the
                classifier's device instead of results (no numpy round trip on the torch
                backend; computed under ``torch.no_grad()``; always 2-D, also for one str).
                For gradients use :meth:`text_module`.
            progress: show a progress bar (default: only for long work, on a terminal).
            explain: LLM judges only: also generate the judge's answer (its verdict and
                reason, greedy, at most ``prompt.max_new_tokens`` tokens) into
                ``result.explanation``. The score never comes from that text.

        Returns:
            A :class:`TextResult` for one str, a list of them in input order for a list, or
            a tensor with ``as_tensor=True``. Empty and whitespace-only texts are not run
            through the model: toxicity 0, not flagged, ``num_tokens`` 0.

        Raises:
            InputTypeError: ``text`` is not a str or a list of str (the message names the
                index of a bad item, e.g. None).
            InvalidInputError: bad ``batch_size`` or ``max_length``.
        """
        part = self.text
        texts, single = check_texts(text)
        size = self._batch_size(batch_size, cpu=8, cuda=64)
        if as_tensor:
            if explain:
                raise InvalidInputError("explain=True gives text: it cannot be a tensor")
            return text_probabilities(texts, part, batch_size=size, max_length=max_length,
                                      progress=progress)
        if not texts:
            return ResultList()
        results = score_texts(texts, part, batch_size=size, max_length=max_length,
                              progress=progress, explain=explain)
        return results[0] if single else ResultList(results)

    def text_module(self) -> DifferentiableToxicity:
        """The text model as a differentiable, frozen ``torch.nn.Module`` (cached).

        Returns a :class:`~voicesafety.differentiable.DifferentiableToxicity` on this
        classifier's device: ``module(token_probs [B, S, V], attention_mask)`` or
        ``module(inputs_embeds=...)`` gives toxicity ``[B]`` with gradients flowing to the
        inputs (STA as a loss: ``1 - toxicity``). Works whatever the backend: with a
        non-torch backend the PyTorch weights are loaded again from the checkpoint.
        """
        part = self.text
        if part.judge is not None:
            raise ModelLoadError(
                f"{self.name} is an LLM judge: it has no differentiable toxicity head; use a "
                "text classifier (e.g. the embedded model or s-nlp/roberta_toxicity_classifier)")
        if self._differentiable is None:
            # these import torch: only for users of the differentiable path
            from .backends.torch import TorchBackend
            from .differentiable import build

            backend = part.backend
            if isinstance(backend, TorchBackend) and backend.precision == "float32":
                module = backend.module  # (gradients in float16 would underflow)
            else:
                if part.spec.path is None or not (part.spec.path / "config.json").is_file():
                    raise ModelLoadError(
                        f"{self.name}: the differentiable path needs the PyTorch checkpoint "
                        "(a folder with config.json); load the original model, not an export"
                    )
                module = load_folder(part.spec.path, part.spec.name)[0]
            self._differentiable = build(module, part.spec, part.encoder, backend.device)
        return self._differentiable

    def score_text_differentiable(
        self,
        token_probs: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Toxicity ``[B]`` of token distributions ``[B, S, V]`` (or ``inputs_embeds``),
        differentiable with respect to them; see :meth:`text_module`."""
        return self.text_module()(token_probs, attention_mask, inputs_embeds=inputs_embeds)
