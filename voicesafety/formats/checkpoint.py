"""Read a checkpoint folder into a :class:`~voicesafety.spec.ModelSpec` and a torch module.

Supported folders: Hugging Face audio classifiers (WavLM, wav2vec2, HuBERT and kin), Hugging
Face text sequence classifiers (BERT, RoBERTa, DistilBERT, DeBERTa and kin), and voicesafety's
own "mini" models. Every module returned here maps plain tensors to a logits tensor, which is
what every backend runs and exports. torch, transformers and the model code are imported when
a checkpoint is read, so that ``import voicesafety`` stays light.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelLoadError
from ..policy import ThresholdPolicy
from ..registry import Activation, Modality, RegistryEntry, is_negative, lookup
from ..spec import ModelSpec
from ..text import Tokenizer
from .tokenizer import load_tokenizer

if TYPE_CHECKING:
    from torch import nn

#: What a checkpoint folder loads as: a ``tensors -> logits`` module, its spec, its tokenizer.
Checkpoint = tuple["nn.Module", ModelSpec, "Tokenizer | None"]
#: A parsed ``config.json``: values of any JSON type, as the checkpoint's author wrote them.
JsonObject = dict[str, Any]

#: Hugging Face ``model_type`` values of speech encoders voicesafety runs as audio classifiers.
AUDIO_MODEL_TYPES = frozenset(
    {"wavlm", "wav2vec2", "wav2vec2-conformer", "wav2vec2-bert", "hubert", "data2vec-audio",
     "unispeech", "unispeech-sat", "sew", "sew-d"}
)
MINI_TYPES: dict[str, Modality] = {"voicesafety-mini-audio": "audio",
                                   "voicesafety-mini-text": "text"}
#: ``architectures`` suffixes that classify (what voicesafety runs) ...
CLASSIFIER_SUFFIXES = ("ForSequenceClassification", "ForAudioClassification")
#: ... and suffixes of models that generate or fill in text instead (no classification head)
GENERATIVE_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration", "ForMaskedLM",
                       "ForSeq2SeqLM", "ForCTC", "ForPreTraining")


def _read_json(path: Path) -> JsonObject:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc


def is_checkpoint_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a single checkpoint (rather than a bundle of them)."""
    return (folder / "config.json").is_file()


def load_folder(folder: Path, name: str) -> Checkpoint:
    """Load a checkpoint folder: ``(torch module, spec, tokenizer or None)``."""
    with _quiet_transformers():
        return _load_folder(folder, name)


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' per-load progress bars; restore the user's setting after."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_folder(folder: Path, name: str) -> Checkpoint:
    config = _read_json(folder / "config.json")
    model_type = str(config.get("model_type", ""))
    if model_type in MINI_TYPES:
        return _load_mini(folder, name, config)
    entry = lookup(name) or lookup(str(folder))
    _refuse_generative(folder, config)
    if model_type in AUDIO_MODEL_TYPES or (entry is not None and entry.modality == "audio"):
        return _load_hf_audio(folder, name, config, entry)
    if "architectures" in config or "id2label" in config:
        return _load_hf_text(folder, name, config, entry)
    raise ModelLoadError(
        f"{folder / 'config.json'} describes neither an audio nor a text classifier "
        f"(model_type={model_type!r}); voicesafety loads Hugging Face audio/sequence "
        "classification checkpoints and its own mini models"
    )


def _refuse_generative(folder: Path, config: JsonObject) -> None:
    """Refuse a checkpoint whose architectures are all generative (a causal LM such as Phi-3):
    loaded as a classifier its head would be random."""
    archs = [str(a) for a in config.get("architectures") or []]
    if not archs or any(a.endswith(CLASSIFIER_SUFFIXES) for a in archs):
        return
    generative = [a for a in archs if a.endswith(GENERATIVE_SUFFIXES)]
    if generative:
        raise ModelLoadError(
            f"{folder} holds a {generative[0]} (model_type={config.get('model_type')!r}): a "
            "model that generates, fills in or transcribes text, not a sequence classifier. "
            "It has no trained "
            "classification head, so any scores would come from random weights. voicesafety "
            "loads audio/sequence classification checkpoints (e.g. "
            "'s-nlp/roberta_toxicity_classifier'). A causal LM loads as an LLM judge with "
            "Classifier.from_pretrained (torch only; docs/judge.md), never as a classifier "
            "head and never exported."
        )


def _pretrained(auto_class: Any, folder: Path, what: str, **kwargs: Any) -> Any:
    """``auto_class.from_pretrained(folder)``, refusing what would not score truthfully: a
    checkpoint missing weights (they would be randomly initialised) and pickled weights that
    ``torch.load(weights_only=True)`` refuses."""
    try:
        model, info = auto_class.from_pretrained(str(folder), output_loading_info=True,
                                                 **kwargs)
    except pickle.UnpicklingError as exc:
        raise ModelLoadError(
            f"{folder}: its weights are a pickled pytorch_model.bin holding more than plain "
            "tensors, and voicesafety refuses to unpickle it: unpickling runs code stored in "
            "the file. Use a model.safetensors instead: ask the publisher for one, convert it "
            "with Hugging Face's sandboxed converter (https://huggingface.co/spaces/"
            "safetensors/convert), or, for your own model, re-save it with "
            "model.save_pretrained(folder) (transformers writes safetensors)."
        ) from exc
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot load {what} checkpoint {folder}: {exc}") from exc
    missing = sorted(str(k) for k in (info.get("missing_keys") or ()))
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6
                                          else "")
        raise ModelLoadError(
            f"{folder} lacks weights the {type(model).__name__} needs ({shown}): they would be "
            "randomly initialised and its scores meaningless, so it is not loaded. This is not "
            f"a trained {what} classifier (a base or pre-trained model without its "
            "classification head, or a different architecture); load a fine-tuned "
            "classification checkpoint, or fine-tune this one first."
        )
    return model


# --------------------------------------------------------------------------- labels


def _labels_and_activation(
    config: JsonObject, entry: RegistryEntry | None
) -> tuple[tuple[str, ...], Activation, tuple[str, ...]]:
    id2label = config.get("id2label") or {}
    labels = tuple(str(id2label[k]) for k in sorted(id2label, key=lambda k: int(k)))
    if entry is not None:
        if labels and len(labels) != len(entry.labels):
            raise ModelLoadError(
                f"checkpoint has {len(labels)} outputs but {entry.repo_id} should have "
                f"{len(entry.labels)} ({', '.join(entry.labels)}); is this the right model?"
            )
        return entry.labels, entry.activation, entry.negative_labels
    if not labels:
        n = int(config.get("num_labels", 2))
        labels = tuple(f"LABEL_{i}" for i in range(n))
    problem = config.get("problem_type")
    # Hugging Face's convention: no problem_type with several labels means single-label.
    activation: Activation = "sigmoid" if problem == "multi_label_classification" else "softmax"
    if len(labels) == 1:
        activation = "sigmoid"
    negatives = tuple(label for label in labels if is_negative(label))
    return labels, activation, negatives


def _policy_for(
    entry: RegistryEntry | None, folder: Path, labels: tuple[str, ...]
) -> ThresholdPolicy:
    file = folder / "policy.json"
    if file.is_file():
        return ThresholdPolicy.from_json(file).check_labels(labels)
    if entry is not None and entry.thresholds:
        return ThresholdPolicy(thresholds=entry.thresholds, default=entry.default_threshold)
    return ThresholdPolicy()


# --------------------------------------------------------------------------- audio


def receptive_field(kernels: list[int], strides: list[int]) -> int:
    """Samples a strided conv stack needs to produce one output frame."""
    field_ = 1
    for kernel, stride in zip(reversed(kernels), reversed(strides)):
        field_ = (field_ - 1) * stride + kernel
    return field_


def _load_hf_audio(
    folder: Path, name: str, config: JsonObject, entry: RegistryEntry | None
) -> Checkpoint:
    import torch
    from transformers import AutoModelForAudioClassification

    from .._wrappers import HFAudioLogits

    labels, activation, negatives = _labels_and_activation(config, entry)
    pre = folder / "preprocessor_config.json"
    pre_cfg = _read_json(pre) if pre.is_file() else {}
    # Roblox's reference applies no normalisation; other checkpoints say so in their
    # preprocessor config (as the Hugging Face feature extractor would).
    do_normalize = bool(pre_cfg.get("do_normalize", False)) and entry is None
    model = _pretrained(AutoModelForAudioClassification, folder, "audio",
                        num_labels=len(labels))
    model.eval()
    kernels = list(config.get("conv_kernel", [10, 3, 3, 3, 3, 2, 2]))
    strides = list(config.get("conv_stride", [5, 2, 2, 2, 2, 2, 2]))
    spec = ModelSpec(
        name=entry.repo_id if entry else name,
        modality="audio",
        labels=labels,
        activation=activation,
        negative_labels=negatives,
        policy=_policy_for(entry, folder, labels),
        sample_rate=int(pre_cfg.get("sampling_rate", 16_000)),
        min_samples=receptive_field(kernels, strides),
        do_normalize=do_normalize,
        path=folder,
        format="hf",
    )
    return HFAudioLogits(model, do_normalize).to(torch.float32), spec, None


# --------------------------------------------------------------------------- text


def _text_max_length(config: JsonObject, tokenizer: Tokenizer) -> int:
    limit = int(getattr(tokenizer, "model_max_length", 0) or 0)
    positions = int(config.get("max_position_embeddings", 512))
    if config.get("model_type") in {"roberta", "xlm-roberta", "camembert", "longformer"}:
        positions -= int(config.get("pad_token_id", 1)) + 1  # positions start after padding_idx
    if 0 < limit < 1_000_000:
        return min(limit, positions)
    return positions


def _load_hf_text(
    folder: Path, name: str, config: JsonObject, entry: RegistryEntry | None
) -> Checkpoint:
    from transformers import AutoModelForSequenceClassification

    from .._wrappers import HFTextLogits

    labels, activation, negatives = _labels_and_activation(config, entry)
    tokenizer = load_tokenizer(folder, transformers=True)
    model = _pretrained(AutoModelForSequenceClassification, folder, "text")
    model.eval()
    spec = ModelSpec(
        name=entry.repo_id if entry else name,
        modality="text",
        labels=labels,
        activation=activation,
        negative_labels=negatives,
        policy=_policy_for(entry, folder, labels),
        max_length=_text_max_length(config, tokenizer),
        path=folder,
        format="hf",
    )
    return HFTextLogits(model), spec, tokenizer


# --------------------------------------------------------------------------- mini


def _load_mini(folder: Path, name: str, config: JsonObject) -> Checkpoint:
    from ..models.arch import load_mini

    try:
        model, config = load_mini(folder)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot load voicesafety model {folder}: {exc}") from exc
    modality = MINI_TYPES[config["model_type"]]
    labels = tuple(config["labels"])
    tokenizer = load_tokenizer(folder, transformers=False) if modality == "text" else None
    spec = ModelSpec(
        name=name,
        modality=modality,
        labels=labels,
        activation="sigmoid" if config.get("problem_type") != "single_label_classification"
        else "softmax",
        negative_labels=tuple(label for label in labels if is_negative(label)),
        policy=_policy_for(None, folder, labels),
        sample_rate=int(config.get("sample_rate", 16_000)),
        window=float(config.get("window", 15.0)),
        hop=float(config["hop"] if "hop" in config else config.get("window", 15.0)),
        min_samples=int(config.get("min_samples", 400)),
        max_length=int(config["max_length"]) if "max_length" in config else None,
        trained=bool(config.get("trained", True)),
        path=folder,
        format="mini",
        int8_fp32=tuple(str(k) for k in config.get("int8_fp32", ())),
    )
    return model, spec, tokenizer
