"""Writers: a ``tensors -> logits`` torch module to a TorchScript or ONNX file carrying its
manifest, the manifest itself, and the rest of an exported folder (policy, tokenizer)."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..arrays import to_numpy
from ..errors import require
from ..formats.exported import HASHES, MODEL_FILES, sha256_file
from ..spec import MANIFEST, ModelSpec
from ..text import Tokenizer
from .probes import Batch

if TYPE_CHECKING:
    import torch
    from torch import nn

ONNX_OPSET = 17
#: What an exported model's manifest is (see :meth:`ModelSpec.to_manifest`): JSON-compatible.
Manifest = dict[str, object]


def manifest_for(spec: ModelSpec, backend: str, source_hash: str | None = None) -> Manifest:
    """The manifest of an exported model (without the parity report)."""
    import torch

    data = spec.to_manifest(backend, MODEL_FILES[backend])
    data["source_hash"] = source_hash
    data["versions"] = {"voicesafety": __version__, "torch": torch.__version__}
    return data


def weights_hash(module: nn.Module, spec: ModelSpec) -> str:
    """Content hash of a module's weights and structure (not of file names or dates)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{type(module).__module__}.{type(module).__qualname__}".encode())
    h.update(f"{spec.modality}|{spec.do_normalize}|{len(spec.labels)}".encode())
    if spec.int8_fp32:  # changes what int8 export writes
        h.update(repr(tuple(spec.int8_fp32)).encode())
    config = getattr(getattr(module, "model", None), "config", None) or getattr(
        module, "config", None)
    if config is not None:
        if hasattr(config, "to_dict"):
            data = {k: v for k, v in config.to_dict().items() if k != "_name_or_path"}
        else:
            data = dict(config) if isinstance(config, dict) else {}
        h.update(json.dumps(data, sort_keys=True, default=str).encode())
    for key, tensor in module.state_dict().items():
        h.update(key.encode())
        h.update(str(tuple(tensor.shape)).encode() + str(tensor.dtype).encode())
        h.update(to_numpy(tensor).tobytes())
    return h.hexdigest()


def _example(spec: ModelSpec, batches: Sequence[Batch]) -> tuple[torch.Tensor, ...]:
    import torch

    if spec.modality == "audio":
        g = torch.Generator().manual_seed(0)
        n = max(int(spec.sample_rate), int(spec.min_samples) * 2)
        return (torch.randn(2, n, generator=g) * 0.1,)
    # A text batch of two with padding, so masks are traced as data, not constants.
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [5, 6, 7, 0, 0, 0]], dtype=torch.int64)
    for b in batches:
        if b["input_ids"].shape[0] >= 2 and b["input_ids"].shape[1] >= 3:
            ids = torch.from_numpy(b["input_ids"][:2].copy())
            return ids, torch.from_numpy(b["attention_mask"][:2].copy())
    mask = (ids != 0).to(torch.int64)
    return ids, mask


def to_torchscript(module: nn.Module, spec: ModelSpec, path: Path, manifest: Manifest,
                   batches: Sequence[Batch] = ()) -> Path:
    """Trace ``module`` to TorchScript and save it (manifest embedded as an extra file)."""
    import torch

    module = module.cpu().eval()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, _example(spec, batches), check_trace=False)
        traced = torch.jit.freeze(traced) if hasattr(torch.jit, "freeze") else traced
    torch.jit.save(traced, str(path), _extra_files={MANIFEST: json.dumps(manifest)})
    return path


def to_onnx(module: nn.Module, spec: ModelSpec, path: Path, manifest: Manifest,
            batches: Sequence[Batch] = ()) -> Path:
    """Export ``module`` to ONNX (opset 17, dynamic batch and length axes, fp32)."""
    import torch

    module = module.cpu().eval()
    names = list(spec.input_names)
    axis = "time" if spec.modality == "audio" else "sequence"
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: axis} for n in names}
    axes["logits"] = {0: "batch"}
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, _example(spec, batches), str(path), input_names=names,
            output_names=["logits"], dynamic_axes=axes, opset_version=ONNX_OPSET, dynamo=False,
        )
    set_onnx_metadata(path, manifest)
    return path


def set_onnx_metadata(path: Path, manifest: Manifest) -> None:
    """Embed ``manifest`` in an ONNX file (its ``metadata_props``), so a lone file loads."""
    require("onnx", "export", "exporting to ONNX")
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = MANIFEST, json.dumps(manifest)
    onnx.save(model, str(path))


def write_folder_files(folder: Path, manifest: Manifest, spec: ModelSpec,
                       tokenizer: Tokenizer | None) -> None:
    """Write what an exported folder holds beside its model file: ``policy.json``, for text
    models the tokenizer files, and last the manifest, which records the sha256 of every
    other file in the folder (``manifest["sha256"]``, checked on load)."""
    (folder / "policy.json").write_text(spec.policy.to_json(), encoding="utf-8")
    if tokenizer is not None:
        save_pretrained = getattr(tokenizer, "save_pretrained", None)
        if save_pretrained is not None:  # a Hugging Face tokenizer: its config and vocab too
            save_pretrained(str(folder))
        else:  # a bare tokenizers.Tokenizer
            tokenizer.save(str(folder / "tokenizer.json"))
    manifest[HASHES] = {p.name: sha256_file(p) for p in sorted(folder.iterdir())
                        if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
