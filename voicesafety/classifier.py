"""The :class:`Classifier`: load a model, score audio and text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .audio import AudioInput, score_audio
from .errors import ModalityError, ModelLoadError
from .policy import ThresholdPolicy
from .results import AudioResult, ErrorResult, ModelInfo, ResultList, TextResult

if TYPE_CHECKING:
    import torch


@dataclass
class _Head:
    """One loaded model of a classifier (audio or text) on its backend."""

    spec: Any
    backend: Any
    tokenizer: Any = None
    encoder: Any = None
    differentiable: Any = None

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.spec.name, backend=self.backend.name, device=self.backend.device,
            trained=self.spec.trained,
        )


class Classifier:
    """A voice and/or text toxicity classifier.

    Build one with :meth:`from_pretrained`. A classifier holds an audio model, a text model,
    or both (the embedded default ``voicesafety/mini`` holds both).
    """

    def __init__(self, audio: _Head | None, text: _Head | None, name: str) -> None:
        if audio is None and text is None:
            raise ModelLoadError(f"{name} holds neither an audio nor a text model")
        self._audio = audio
        self._text = text
        self.name = name

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path | None = None,
        *,
        backend: str = "auto",
        device: str = "auto",
        policy: ThresholdPolicy | str | Path | dict | None = None,
        revision: str | None = None,
    ) -> Classifier:
        """Load a classifier.

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

        Raises:
            ModelLoadError: the model cannot be found, downloaded or read; the message says
                how to fix it.
        """
        from . import backends, hub
        from .checkpoint import is_checkpoint_folder, load_folder
        from .export import is_exported, load_exported
        from .registry import DEFAULT_MODEL

        name = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
        folder = hub.resolve(name_or_path, revision)
        device = backends.resolve_device(device)
        parts: dict[str, tuple[Any, Any, Any]] = {}
        if folder.is_file() and folder.suffix.lower() in (".onnx", ".pt", ".ts"):
            module, spec, tok = load_exported(folder, name)  # a file the user pointed at
            parts[spec.modality] = (module, spec, tok)
        elif is_exported(folder) or (folder.is_dir() and is_checkpoint_folder(folder)):
            module, spec, tok = (load_exported if is_exported(folder) else load_folder)(
                folder, name)
            parts[spec.modality] = (module, spec, tok)
        elif folder.is_dir() and ((folder / "audio").is_dir() or (folder / "text").is_dir()):
            for sub in ("audio", "text"):
                if (folder / sub).is_dir():
                    loader = load_exported if is_exported(folder / sub) else load_folder
                    module, spec, tok = loader(folder / sub, name)
                    if spec.modality != sub:
                        raise ModelLoadError(f"{folder / sub} holds a {spec.modality} model")
                    parts[sub] = (module, spec, tok)
        else:
            raise ModelLoadError(
                f"{folder} is not a model: expected a folder with config.json (a Hugging Face "
                "or voicesafety checkpoint), an exported folder (voicesafety.json), a .onnx or "
                "TorchScript .pt file, or a bundle folder with audio/ and text/ subfolders"
            )
        user_policy = ThresholdPolicy.coerce(policy)
        heads: dict[str, _Head] = {}
        for modality, (module, spec, tok) in parts.items():
            if user_policy is not None:
                spec = spec.with_policy(user_policy)
            head = _Head(spec, backends.create(module, spec, backend, device, tok), tok)
            if modality == "text":
                from .text import TextEncoder

                head.encoder = TextEncoder(tok, spec.max_length)
            heads[modality] = head
        return cls(heads.get("audio"), heads.get("text"), name)

    # ------------------------------------------------------------------ properties

    @property
    def modalities(self) -> tuple[str, ...]:
        """``("audio",)``, ``("text",)`` or ``("audio", "text")``."""
        return tuple(m for m, h in (("audio", self._audio), ("text", self._text)) if h)

    def _head(self, modality: str) -> _Head:
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
        return list((self._audio or self._text).spec.labels)  # type: ignore[union-attr]

    @property
    def text_labels(self) -> list[str]:
        """Label names of the text model."""
        return list(self._head("text").spec.labels)

    @property
    def toxic_labels(self) -> list[str]:
        """The labels that count as toxicity (all but negative ones such as NoViolation)."""
        return list((self._audio or self._text).spec.toxic_labels)  # type: ignore[union-attr]

    @property
    def policy(self) -> ThresholdPolicy:
        """The threshold policy in force (of the audio model, else of the text model)."""
        return (self._audio or self._text).spec.policy  # type: ignore[union-attr]

    @property
    def device(self) -> str:
        """The device the models run on."""
        return (self._audio or self._text).backend.device  # type: ignore[union-attr]

    @property
    def backend(self) -> str:
        """The backend the models run on."""
        return (self._audio or self._text).backend.name  # type: ignore[union-attr]

    def with_policy(self, policy: ThresholdPolicy | str | Path | dict) -> Classifier:
        """A classifier sharing these models, with another threshold policy."""
        new_policy = ThresholdPolicy.coerce(policy)
        assert new_policy is not None
        heads = []
        for head in (self._audio, self._text):
            if head is None:
                heads.append(None)
                continue
            spec = head.spec.with_policy(new_policy)
            heads.append(_Head(spec, head.backend, head.tokenizer, head.encoder))
        return Classifier(heads[0], heads[1], self.name)

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

    def score(
        self,
        audio: AudioInput | list[AudioInput],
        *,
        sample_rate: int | None = None,
        window: float | None = None,
        hop: float | None = None,
        batch_size: int | None = None,
        errors: str = "raise",
        progress: bool | None = None,
    ) -> AudioResult | ErrorResult | list[AudioResult | ErrorResult]:
        """Score speech.

        Args:
            audio: a path, raw file bytes, a binary file object, a numpy array or a torch
                tensor (1-D mono or 2-D frames × channels), or a list of them.
            sample_rate: rate of arrays and tensors in Hz (default 16000). Files carry their
                own rate. Everything is resampled to the model's rate (16 kHz).
            window, hop: analysis window and hop in seconds (default 15 and 15, as the
                models were trained). Clips no longer than ``window`` are scored whole.
            batch_size: windows per forward pass (only windows of equal length share one).
                Default: 1 on CPU (larger batches were slower per audio-second there on every
                backend, see docs/backends.md), 8 on CUDA.
            errors: ``"raise"`` (default) raises on the first bad input, naming its index;
                ``"return"`` puts an :class:`ErrorResult` in its place.
            progress: show a progress bar (default: only for long work, on a terminal).

        Returns:
            An :class:`AudioResult` for one input, a list (in input order) for a list.
        """
        head = self._head("audio")
        single = not isinstance(audio, (list, tuple))
        items = [audio] if single else list(audio)
        if not items:
            return ResultList()
        results = score_audio(
            items, head.spec, head.backend, head.info(), sample_rate=sample_rate, window=window,
            hop=hop, batch_size=self._batch_size(batch_size, cpu=1, cuda=8), errors=errors,
            progress=progress,
        )
        return results[0] if single else ResultList(results)

    def score_text(
        self,
        text: str | list[str],
        *,
        batch_size: int | None = None,
        max_length: int | None = None,
        as_tensor: bool = False,
        progress: bool | None = None,
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

        Returns:
            A :class:`TextResult` for one str, a list of them in input order for a list, or
            a tensor with ``as_tensor=True``. Empty and whitespace-only texts are not run
            through the model: toxicity 0, not flagged, ``num_tokens`` 0.

        Raises:
            InputTypeError: ``text`` is not a str or a list of str (the message names the
                index of a bad item, e.g. None).
            InvalidInputError: bad ``batch_size`` or ``max_length``.
        """
        from .text import check_texts, score_texts

        head = self._head("text")
        texts, single = check_texts(text)
        if not texts and not as_tensor:
            return ResultList()
        results = score_texts(
            texts, head.spec, head.backend, head.encoder, head.info(),
            batch_size=self._batch_size(batch_size, cpu=8, cuda=64),
            max_length=max_length, progress=progress, as_tensor=as_tensor,
        )
        if as_tensor:
            return results
        return results[0] if single else ResultList(results)

    def text_module(self) -> Any:
        """The text model as a differentiable, frozen ``torch.nn.Module`` (cached).

        Returns a :class:`~voicesafety.differentiable.DifferentiableToxicity` on this
        classifier's device: ``module(token_probs [B, S, V], attention_mask)`` or
        ``module(inputs_embeds=...)`` gives toxicity ``[B]`` with gradients flowing to the
        inputs (STA as a loss: ``1 - toxicity``). Works whatever the backend: with a
        non-torch backend the PyTorch weights are loaded again from the checkpoint.
        """
        head = self._head("text")
        if head.differentiable is None:
            from . import differentiable

            module = getattr(head.backend, "module", None)
            if head.backend.name != "torch" or module is None:
                from .checkpoint import load_folder

                if head.spec.path is None or not (head.spec.path / "config.json").is_file():
                    raise ModelLoadError(
                        f"{self.name}: the differentiable path needs the PyTorch checkpoint "
                        "(a folder with config.json); load the original model, not an export"
                    )
                module = load_folder(head.spec.path, head.spec.name)[0]
            head.differentiable = differentiable.build(
                module, head.spec, head.encoder, head.backend.device
            )
        return head.differentiable

    def score_text_differentiable(
        self,
        token_probs: Any = None,
        attention_mask: Any = None,
        *,
        inputs_embeds: Any = None,
    ) -> Any:
        """Toxicity ``[B]`` of token distributions ``[B, S, V]`` (or ``inputs_embeds``),
        differentiable with respect to them; see :meth:`text_module`."""
        return self.text_module()(token_probs, attention_mask, inputs_embeds=inputs_embeds)
