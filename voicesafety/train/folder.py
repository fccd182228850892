"""Writing a trained student as a model folder that ``Classifier.from_pretrained`` loads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models.arch import AUDIO_MODEL_TYPE, TEXT_MODEL_TYPE, save_mini

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from torch import nn


def model_config(
    kind: str, arch: Mapping[str, Any], labels: Sequence[str], *, version: str,
    trained: bool = True, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``config.json`` of a mini model folder (``kind`` is ``"audio"`` or ``"text"``)."""
    cfg: dict[str, Any] = {
        "voicesafety_format": 1,
        "model_type": AUDIO_MODEL_TYPE if kind == "audio" else TEXT_MODEL_TYPE,
        "labels": list(labels),
        "problem_type": "multi_label_classification",
        "trained": trained,
        "arch": {"num_labels": len(labels), **arch},
        "version": version,
    }
    cfg.update(extra or {})
    return cfg


def policy_dict(thresholds: Mapping[str, float], default: float = 0.5) -> dict[str, Any]:
    """A ``policy.json``: these thresholds, flag when any label reaches its own."""
    return {"thresholds": dict(thresholds), "default": default, "rule": "any"}


def save_text_model(
    folder: Path, model: nn.Module, tokenizer: Tokenizer, labels: Sequence[str],
    arch: Mapping[str, Any], thresholds: Mapping[str, float], *, version: str,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write a text student: config, weights, tokenizer and policy."""
    save_mini(
        model,
        model_config(
            "text", {"vocab_size": tokenizer.get_vocab_size(), **arch}, labels,
            version=version, extra={"max_length": int(arch["max_length"]), "pad_id": 0,
                                    **(extra or {})},
        ),
        Path(folder),
        policy=policy_dict(thresholds),
        tokenizer=tokenizer,
    )  # fmt: skip


def save_audio_model(
    folder: Path, model: nn.Module, labels: Sequence[str], arch: Mapping[str, Any],
    thresholds: Mapping[str, float], *, version: str, extra: Mapping[str, Any] | None = None,
) -> None:
    """Write an audio student: config, weights and policy."""
    save_mini(
        model,
        model_config("audio", arch, labels, version=version,
                     extra={"sample_rate": 16000, **(extra or {})}),
        Path(folder),
        policy=policy_dict(thresholds),
    )  # fmt: skip
