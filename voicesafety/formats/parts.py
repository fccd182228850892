"""From a path to the model parts it holds: the one place that tells a checkpoint folder, an
exported folder or file, and a bundle (``audio/`` and ``text/`` subfolders) apart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

from ..errors import ModelLoadError
from ..prompts import JudgePrompt
from ..registry import Modality
from ..spec import ModelSpec
from ..text import Tokenizer
from .checkpoint import is_checkpoint_folder, load_folder
from .exported import ExportedModel, is_exported, is_model_file, load_exported
from .judge import is_adapter_folder, is_judge_folder, load_judge

if TYPE_CHECKING:
    from torch import nn

#: What a part's weights are: a loaded ``tensors -> logits`` torch module, or a converted file.
Source = Union["nn.Module", ExportedModel]  # noqa: UP007 - a runtime alias, py3.10

BUNDLE_PARTS: tuple[Modality, ...] = ("audio", "text")


@dataclass(frozen=True)
class PartRef:
    """Where one model part lies, and how to read it."""

    path: Path
    kind: Literal["checkpoint", "exported"]
    #: the bundle subfolder it lies in (its modality must match), None outside bundles
    subfolder: Modality | None = None


@dataclass
class LoadedPart:
    """One model read from disk: its weights (a module or an exported file), spec, tokenizer;
    for an LLM judge (a causal LM) also its ``prompt``."""

    source: Source
    spec: ModelSpec
    tokenizer: Tokenizer | None = None
    prompt: JudgePrompt | None = None


def find_parts(path: Path) -> list[PartRef]:
    """The model parts at ``path``: one for a checkpoint or exported folder or file, one per
    existing ``audio/``/``text/`` subfolder for a bundle.

    Raises:
        ModelLoadError: ``path`` is none of these.
    """
    if is_model_file(path) or is_exported(path):
        return [PartRef(path, "exported")]
    if path.is_dir() and (is_checkpoint_folder(path) or is_adapter_folder(path)):
        return [PartRef(path, "checkpoint")]
    subs = [s for s in BUNDLE_PARTS if (path / s).is_dir()] if path.is_dir() else []
    if not subs:
        raise ModelLoadError(
            f"{path} is not a model: expected a folder with config.json (a Hugging Face "
            "or voicesafety checkpoint), an exported folder (voicesafety.json), a .onnx or "
            "TorchScript .pt file, or a bundle folder with audio/ and text/ subfolders"
        )
    return [PartRef(path / s, "exported" if is_exported(path / s) else "checkpoint", s)
            for s in subs]


def load_part(ref: PartRef, name: str) -> LoadedPart:
    """Read one part (a checkpoint: torch module; an export: its file, not yet opened)."""
    if ref.kind == "exported":
        exported, spec, tokenizer = load_exported(ref.path, name)
        part = LoadedPart(exported, spec, tokenizer)
    elif is_judge_folder(ref.path):
        judge = load_judge(ref.path, name)
        spec = judge.spec
        part = LoadedPart(judge.module, spec, judge.tokenizer, judge.prompt)
    else:
        module, spec, tokenizer = load_folder(ref.path, name)
        part = LoadedPart(module, spec, tokenizer)
    if ref.subfolder is not None and spec.modality != ref.subfolder:
        raise ModelLoadError(f"{ref.path} holds a {spec.modality} model")
    return part


def load_parts(path: Path, name: str) -> dict[Modality, LoadedPart]:
    """Every part at ``path`` by modality (see :func:`find_parts`)."""
    parts: dict[Modality, LoadedPart] = {}
    for ref in find_parts(path):
        part = load_part(ref, name)
        parts[part.spec.modality] = part
    return parts
