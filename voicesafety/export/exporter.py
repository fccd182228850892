"""The exporter: convert one model to a backend's file, check it against the torch reference
on a probe set, and write the folder only if it meets the bounds.

Parity is checked by running the written file on a plain runtime (:mod:`voicesafety.backends`),
as a user would; nothing here knows who asked for the export (the ``voicesafety export``
command, or the on-demand cache in :mod:`.cache`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..backends import open_file
from ..errors import BackendError, ModelLoadError
from ..formats import find_parts
from ..formats.checkpoint import load_folder
from ..formats.exported import EXPORT_BACKENDS, MODEL_FILES
from ..formats.hub import resolve
from ..registry import DEFAULT_MODEL
from ..spec import ModelSpec
from ..text import TextEncoder, Tokenizer
from .int8 import INT8_SCHEMES, int8_scheme, quantize_int8
from .parity import ExportParityError, ParityReport, parity, scores_on
from .probes import Batch, default_probes, probe_from
from .writers import (
    Manifest,
    manifest_for,
    to_onnx,
    to_torchscript,
    weights_hash,
    write_folder_files,
)

if TYPE_CHECKING:
    from torch import nn


def convert(module: nn.Module, spec: ModelSpec, backend: str, folder: Path, manifest: Manifest,
            batches: Sequence[Batch] = ()) -> Path:
    """Write the ``backend`` model file for ``module`` into ``folder``; returns its path."""
    if backend not in EXPORT_BACKENDS:
        raise BackendError(f"cannot export to {backend!r}; choose one of {EXPORT_BACKENDS}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MODEL_FILES[backend]
    if backend == "torchscript":
        return to_torchscript(module, spec, target, manifest, batches)
    if backend == "onnx":
        return to_onnx(module, spec, target, manifest, batches)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = to_onnx(module, spec, Path(tmp) / "model.onnx", manifest, batches)
        return quantize_int8(fp32, target, spec, manifest)


def _encoder(spec: ModelSpec, tokenizer: Tokenizer | None) -> TextEncoder | None:
    if spec.modality != "text" or tokenizer is None:
        return None
    return TextEncoder(tokenizer, spec.max_length)


def export_part(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None, backend: str,
                out: Path, *, probes: Sequence[Batch] | None = None,
                source_hash: str | None = None) -> ParityReport:
    """Convert one model, check parity, and (only if it passes) write it to ``out``.

    Raises:
        ExportParityError: the conversion misses the parity bounds; nothing is written.
    """
    # The reference is the torch backend itself: the module as users run it on torch.
    from ..backends.torch import TorchBackend

    batches = list(probes) if probes is not None else default_probes(
        spec, _encoder(spec, tokenizer))
    manifest = manifest_for(spec, backend, source_hash or weights_hash(module, spec))
    out = Path(out)
    # int8: the scheme that pays on this CPU first; if it misses the bounds, the other one (a
    # small model can sit on the edge of the flag bound with one and not the other).
    schemes: list[str | None] = [None]
    if backend == "onnx-int8":
        schemes = [int8_scheme(), *(k for k in INT8_SCHEMES if k != int8_scheme())]
    # once, whatever the tries
    ref = scores_on(TorchBackend(module, "cpu"), batches, spec.activation)
    with tempfile.TemporaryDirectory(dir=_tmp_parent(out)) as tmp:
        for scheme in schemes:
            if scheme is not None:
                manifest["int8_scheme"] = scheme
            stage = Path(tmp) / f"stage-{scheme or backend}"
            path = convert(module, spec, backend, stage, manifest, batches)
            candidate = open_file(path, backend, "cpu", spec.input_names, trust_code=True)
            report = parity(ref, candidate, spec, batches, backend)
            if report.passed:
                break
        if not report.passed:
            tried = (f" (int8 schemes tried: {', '.join(s for s in schemes if s)})"
                     if schemes[0] else "")
            raise ExportParityError(
                f"refusing to write {backend} export of {spec.name}: it misses the parity "
                f"bounds against the torch reference{tried}.\n{report}", report)
        manifest["parity"] = report.to_dict()
        write_folder_files(stage, manifest, spec, tokenizer)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stage), str(out))
    return report


def _tmp_parent(out: Path) -> str | None:
    parent = Path(out).resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return str(parent)


def export(name_or_path: str | Path | None, backend: str, out: str | Path, *,
           probe: Sequence[str | Path] | None = None, revision: str | None = None,
           log: Callable[[str], None] | None = print) -> list[ParityReport]:
    """Export a model (or both parts of a bundle) to ``out`` and return the parity reports.

    A bundle (audio/ and text/) becomes ``out/audio`` and ``out/text``. Nothing is written
    for a part that misses the parity bounds (:class:`ExportParityError`).
    """
    if backend not in EXPORT_BACKENDS:
        raise BackendError(f"--to must be one of {', '.join(EXPORT_BACKENDS)}, got {backend!r}")
    name = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    folder = resolve(name_or_path, revision)
    out = Path(out)
    refs = find_parts(folder)
    exported = [r.path for r in refs if r.kind != "checkpoint"]
    if exported:
        raise ModelLoadError(
            f"{exported[0]} is already an exported model, not a torch checkpoint folder or "
            "bundle to export: export the original checkpoint"
        )
    reports = []
    for ref in refs:
        dst = out / ref.subfolder if ref.subfolder is not None else out
        module, spec, tok = load_folder(ref.path, name)
        batches = probe_from(probe, spec, _encoder(spec, tok)) if probe else None
        started = time.perf_counter()
        report = export_part(module, spec, tok, backend, dst, probes=batches)
        if log:
            log(f"{report}  [{time.perf_counter() - started:.1f} s] -> {dst}")
        reports.append(report)
    return reports
