"""Read exported models: a folder written by ``voicesafety export`` (or the export cache), or
a lone ``.onnx`` / TorchScript ``.pt`` file that carries its manifest inside.

An exported folder holds ``voicesafety.json`` (the manifest, see :mod:`voicesafety.spec`), the
model file (:data:`MODEL_FILES`), ``policy.json`` and, for text models, the tokenizer files.
Writing them is :mod:`voicesafety.export`'s job; this module only reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelLoadError
from ..policy import ThresholdPolicy
from ..spec import MANIFEST, ModelSpec
from ..text import Tokenizer
from .tokenizer import load_tokenizer

#: The backends a model can be exported to, and the model file each one runs.
EXPORT_BACKENDS = ("torchscript", "onnx", "onnx-int8")
MODEL_FILES = {"torchscript": "model.pt", "onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
#: Suffixes of a lone exported model file.
MODEL_SUFFIXES = (".onnx", ".pt", ".ts")


@dataclass
class ExportedModel:
    """A converted model file ready for a backend, with the manifest it was read from."""

    path: Path
    backend: str
    input_names: tuple[str, ...]
    manifest: dict[str, object] = field(default_factory=dict)


def is_exported(path: Path) -> bool:
    """Whether ``path`` is an exported folder (has a voicesafety manifest)."""
    return path.is_dir() and (path / MANIFEST).is_file()


def is_model_file(path: Path) -> bool:
    """Whether ``path`` is a lone exported model file (by its suffix)."""
    return path.is_file() and path.suffix.lower() in MODEL_SUFFIXES


def _parse(text: str, where: Path) -> dict[str, object]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"cannot read {where}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{where}: not a voicesafety export manifest")
    return data


def _manifest_of_file(path: Path) -> dict[str, object]:
    """The manifest of a lone model file: the one beside it, else the copy embedded in it."""
    beside = path.parent / MANIFEST
    if beside.is_file():
        data = _parse(beside.read_text(encoding="utf-8"), beside)
        if data.get("file") == path.name:
            return data
    if path.suffix == ".onnx":
        try:
            import onnx

            model = onnx.load(str(path), load_external_data=False)
            for prop in model.metadata_props:
                if prop.key == MANIFEST:
                    return _parse(prop.value, path)
        except ImportError:  # onnx is an extra; onnxruntime (a core dependency) reads it too
            import onnxruntime as ort

            meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            raw = meta.get_modelmeta().custom_metadata_map.get(MANIFEST)
            if raw:
                return _parse(raw, path)
    else:
        import torch

        extra = {MANIFEST: ""}
        try:
            torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except (RuntimeError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{path} is not a TorchScript file: {exc}") from exc
        if extra[MANIFEST]:
            return _parse(extra[MANIFEST], path)
    raise ModelLoadError(
        f"{path} carries no voicesafety manifest (labels, activation, sample rate): put the "
        f"{MANIFEST} written by `voicesafety export` beside it, or export the model with "
        "`voicesafety export MODEL --to onnx|torchscript --out DIR`"
    )


def load_exported(
    path: Path, name: str | None = None
) -> tuple[ExportedModel, ModelSpec, Tokenizer | None]:
    """Read an exported folder, or a ``.onnx``/``.pt`` file: ``(model, spec, tokenizer)``."""
    path = Path(path)
    if path.is_dir():
        try:
            text = (path / MANIFEST).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelLoadError(f"cannot read {path / MANIFEST}: {exc}") from exc
        manifest = _parse(text, path / MANIFEST)
        folder = path
        file = path / str(manifest.get("file", ""))
    else:
        manifest = _manifest_of_file(path)
        folder, file = path.parent, path
    policy_file = folder / "policy.json"
    policy = ThresholdPolicy.from_json(policy_file) if policy_file.is_file() else None
    spec = ModelSpec.from_manifest(manifest, path=folder, name=name, policy=policy)
    if not file.is_file():
        raise ModelLoadError(f"{path}: model file {file.name} is missing")
    backend = str(manifest.get("backend"))
    if backend not in EXPORT_BACKENDS:
        raise ModelLoadError(f"{path}: unknown backend {backend!r} in the manifest")
    names = manifest.get("input_names")
    inputs = tuple(str(n) for n in names) if isinstance(names, list) else spec.input_names
    tokenizer = load_tokenizer(folder) if spec.modality == "text" else None
    return ExportedModel(file, backend, inputs, manifest), spec, tokenizer
